/**
 * Proxies through a real proxy (tinyproxy on loopback): HTTP is forwarded and HTTPS tunnelled with
 * CONNECT to real Prometheus, as the proxy's log shows; HTTPS_PROXY/HTTP_PROXY are honoured by
 * default, NO_PROXY bypasses them, `proxy: false` turns them off; the proxy's credentials never
 * appear in an error; a dead proxy gets an error that says it is the proxy.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import { PrometheusRemoteWriteExporter, type PrometheusRemoteWriteExporterOptions } from '../src/index.js';
import { makeCerts, type CertSet } from './helpers/certs.js';
import { exportOnce, gauge, point, resourceMetrics } from './helpers/otel.js';
import { freePort, receiverOrSkip, startPrometheus, type Receiver } from './helpers/receivers.js';
import { startTinyproxy, tinyproxyOrSkip, type Tinyproxy } from './helpers/tinyproxy.js';

const skip = receiverOrSkip('prometheus').skip ?? tinyproxyOrSkip().skip;
const PROXY_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY'].flatMap((v) => [
  v,
  v.toLowerCase(),
]);
const PROXY_USER = 'bob';
const PROXY_PASSWORD = 'pr0xy-s3cret';

describe('through a real proxy (tinyproxy)', { skip }, () => {
  let dir: string;
  let certs: CertSet;
  let plain: Receiver;
  let secure: Receiver;
  let proxy: Tinyproxy;
  let authProxy: Tinyproxy;
  const savedEnv = new Map(PROXY_VARS.map((v) => [v, process.env[v]]));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rw-proxy-'));
    certs = makeCerts(dir);
    [plain, secure] = await Promise.all([
      startPrometheus(),
      startPrometheus({
        webConfig: `tls_server_config:\n  cert_file: ${certs.serverCert}\n  key_file: ${certs.serverKey}\n`,
        client: { ca: certs.read(certs.caCert) },
      }),
    ]);
    const securePort = Number(new URL(secure.writeUrl).port);
    [proxy, authProxy] = await Promise.all([
      startTinyproxy({ connectPorts: [securePort] }),
      startTinyproxy({
        connectPorts: [securePort],
        basicAuth: { user: PROXY_USER, password: PROXY_PASSWORD },
      }),
    ]);
  });
  after(async () => {
    await Promise.all([plain?.stop(), secure?.stop(), proxy?.stop(), authProxy?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    for (const [name, value] of savedEnv) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  const clearProxyEnv = (): void => {
    for (const name of PROXY_VARS) delete process.env[name];
  };

  async function push(options: PrometheusRemoteWriteExporterOptions, name: string, value = 1) {
    const exporter = new PrometheusRemoteWriteExporter({ withoutTargetInfo: true, ...options });
    try {
      const result = await exportOnce(
        exporter,
        resourceMetrics([gauge({ name }, [point(value, {}, Date.now())])]),
      );
      return { result, stats: exporter.stats() };
    } finally {
      await exporter.shutdown();
    }
  }

  /** The proxy's log lines for requests, as tinyproxy writes them. */
  const requests = (p: Tinyproxy): string[] =>
    p
      .log()
      .split('\n')
      .filter((l) => /Request \(file descriptor/.test(l));

  it('proxy option, http:// receiver: forwarded with the absolute URL, PromQL reads it back', async () => {
    clearProxyEnv();
    const before = requests(proxy).length;
    const { result } = await push({ url: plain.writeUrl, proxy: proxy.url }, 'via.proxy.http', 11);
    assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message);
    const seen = requests(proxy).slice(before);
    assert.ok(
      seen.some((l) => l.includes(`POST ${plain.writeUrl} HTTP/1.1`)),
      `proxy log: ${seen.join('\n')}`,
    );
    const rows = await plain.queryUntil('via_proxy_http', (r) => r.length === 1);
    assert.equal(rows[0]!.value[1], '11');
  });

  it('oauth2: the token endpoint is reached through the proxy too, and the token reaches the receiver', async () => {
    clearProxyEnv();
    const tokens = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ access_token: 'tok-1', token_type: 'Bearer', expires_in: 3600 }));
      });
    });
    await new Promise<void>((resolve) => tokens.listen(0, '127.0.0.1', resolve));
    const tokenUrl = `http://127.0.0.1:${(tokens.address() as AddressInfo).port}/oauth2/token`;
    try {
      const before = requests(proxy).length;
      const { result } = await push(
        {
          url: plain.writeUrl,
          proxy: proxy.url,
          oauth2: { tokenUrl, clientId: 'app', clientSecret: 'secret' },
        },
        'via.proxy.oauth2',
        13,
      );
      assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message);
      const seen = requests(proxy).slice(before);
      assert.ok(
        seen.some((l) => l.includes(`POST ${tokenUrl} HTTP/1.1`)),
        `token request in the proxy log: ${seen.join('\n')}`,
      );
      assert.ok(seen.some((l) => l.includes(`POST ${plain.writeUrl} HTTP/1.1`)));
      await plain.queryUntil('via_proxy_oauth2', (r) => r.length === 1);
    } finally {
      tokens.close();
    }
  });

  it('HTTPS_PROXY, https:// receiver: a CONNECT tunnel, TLS (tls.caFile) checked end to end', async () => {
    clearProxyEnv();
    process.env.HTTPS_PROXY = proxy.url;
    const before = requests(proxy).length;
    const { result } = await push(
      { url: secure.writeUrl, tls: { caFile: certs.caCert } },
      'via.proxy.https',
      12,
    );
    assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message);
    const host = new URL(secure.writeUrl).host;
    const seen = requests(proxy).slice(before);
    assert.ok(
      seen.some((l) => l.includes(`CONNECT ${host} HTTP/1.1`)),
      `proxy log: ${seen.join('\n')}`,
    );
    await secure.queryUntil('via_proxy_https', (r) => r.length === 1);
  });

  it('through the tunnel, a wrong CA still fails fast with its TLS message', async () => {
    clearProxyEnv();
    const { result, stats } = await push(
      { url: secure.writeUrl, proxy: proxy.url, tls: { caFile: certs.wrongCaCert } },
      'via.proxy.badca',
    );
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(result.error?.message ?? '', /not signed by a trusted CA.*tls\.caFile/);
    assert.equal(stats.requestsSent, 1);
  });

  it('lower-case http_proxy is honoured too; NO_PROXY bypasses it', async () => {
    clearProxyEnv();
    process.env.http_proxy = proxy.url;
    let before = requests(proxy).length;
    let { result } = await push({ url: plain.writeUrl }, 'via.proxy.lower');
    assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message);
    assert.equal(requests(proxy).length, before + 1, 'went through the proxy');

    process.env.NO_PROXY = '127.0.0.1';
    before = requests(proxy).length;
    ({ result } = await push({ url: plain.writeUrl }, 'no.proxy.bypass'));
    assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message);
    assert.equal(requests(proxy).length, before, 'NO_PROXY: not through the proxy');
    await plain.queryUntil('no_proxy_bypass', (r) => r.length === 1);
  });

  it('proxy: false ignores HTTP_PROXY', async () => {
    clearProxyEnv();
    process.env.HTTP_PROXY = `http://127.0.0.1:${await freePort()}`; // nothing listens there
    const before = requests(proxy).length;
    const { result } = await push({ url: plain.writeUrl, proxy: false }, 'proxy.off');
    assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message);
    assert.equal(requests(proxy).length, before);
  });

  it('proxy credentials in the URL are sent to the proxy and never shown', async () => {
    clearProxyEnv();
    const withAuth = `http://${PROXY_USER}:${PROXY_PASSWORD}@127.0.0.1:${authProxy.port}`;
    const ok = await push({ url: plain.writeUrl, proxy: withAuth }, 'via.auth.proxy');
    assert.equal(ok.result.code, ExportResultCode.SUCCESS, ok.result.error?.message);

    // Wrong password: the proxy refuses the tunnel (tinyproxy answers 401), which is the error, not
    // retried; the password is nowhere in it.
    const bad = `http://${PROXY_USER}:wrong-${PROXY_PASSWORD}@127.0.0.1:${authProxy.port}`;
    const exporter = new PrometheusRemoteWriteExporter({
      url: secure.writeUrl,
      proxy: bad,
      tls: { caFile: certs.caCert },
    });
    const result = await exportOnce(
      exporter,
      resourceMetrics([gauge({ name: 'x' }, [point(1, {}, Date.now())])]),
    );
    await exporter.shutdown();
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(
      result.error?.message ?? '',
      /the proxy http:\/\/127\.0\.0\.1:\d+ \(from proxy\) refused to open a tunnel \(CONNECT\).*HTTP 40[17].*user and password/,
    );
    assert.equal(exporter.stats().requestsSent, 1, 'not retried');
    assert.doesNotMatch(result.error?.message ?? '', new RegExp(PROXY_PASSWORD));
    const { inspect } = await import('node:util');
    assert.doesNotMatch(inspect(exporter, { depth: 6 }), new RegExp(PROXY_PASSWORD));
  });

  it('a dead proxy: the error says the proxy cannot be reached, and where it was set', async () => {
    clearProxyEnv();
    const dead = `http://user:${PROXY_PASSWORD}@127.0.0.1:${await freePort()}`;
    process.env.HTTPS_PROXY = dead;
    const { result } = await push(
      { url: secure.writeUrl, tls: { caFile: certs.caCert }, maxRetryElapsedMillis: 200 },
      'dead.proxy',
    );
    assert.equal(result.code, ExportResultCode.FAILED);
    const message = result.error?.message ?? '';
    assert.match(
      message,
      /cannot reach the proxy http:\/\/127\.0\.0\.1:\d+ \(from HTTPS_PROXY\).*ECONNREFUSED/,
    );
    assert.doesNotMatch(message, new RegExp(PROXY_PASSWORD));
  });

  it('a proxy URL that cannot be used is refused at construction, without repeating it', () => {
    clearProxyEnv();
    assert.throws(
      () =>
        new PrometheusRemoteWriteExporter({ url: plain.writeUrl, proxy: `socks5://u:${PROXY_PASSWORD}@h:1` }),
      (err: Error) =>
        err.name === 'InvalidOptionError' &&
        /"proxy" must be an http/.test(err.message) &&
        !err.message.includes(PROXY_PASSWORD),
    );
    process.env.HTTP_PROXY = `not a url ${PROXY_PASSWORD}`;
    assert.throws(
      () => new PrometheusRemoteWriteExporter({ url: plain.writeUrl }),
      (err: Error) =>
        /environment variable HTTP_PROXY/.test(err.message) && !err.message.includes(PROXY_PASSWORD),
    );
  });
});
