/**
 * TLS, mutual TLS and basic auth against real Prometheus started with --web.config.file, with
 * certificates made here by openssl: the right set delivers and reads back with PromQL; a wrong
 * CA, a wrong client certificate, a wrong host name and an expired certificate each fail at the
 * first attempt (not retried) with a message naming the cause and the option that fixes it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import { PrometheusRemoteWriteExporter, type PrometheusRemoteWriteExporterOptions } from '../src/index.js';
import { makeCerts, mtlsPrometheus, type CertSet } from './helpers/certs.js';
import { exportOnce, gauge, point, resourceMetrics } from './helpers/otel.js';
import { receiverOrSkip, startPrometheus, type Receiver } from './helpers/receivers.js';

const { skip } = receiverOrSkip('prometheus');
const USER = 'alice';
const PASSWORD = 'correct horse battery staple';

describe('TLS, mTLS and basic auth against Prometheus --web.config.file', { skip }, () => {
  let dir: string;
  let certs: CertSet;
  let mtls: Receiver;
  let expired: Receiver;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rw-tls-'));
    certs = makeCerts(dir);
    [mtls, expired] = await Promise.all([
      startPrometheus(mtlsPrometheus(certs, USER, PASSWORD)),
      startPrometheus({
        webConfig: [
          'tls_server_config:',
          `  cert_file: ${certs.expiredServerCert}`,
          `  key_file: ${certs.expiredServerKey}`,
          '',
        ].join('\n'),
        // The test's own readiness probe and queries do not check the date.
        client: { ca: certs.read(certs.caCert), insecure: true },
      }).catch(() => undefined as unknown as Receiver),
    ]);
  });
  after(async () => {
    await mtls?.stop();
    await expired?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const good = (): PrometheusRemoteWriteExporterOptions => ({
    url: mtls.writeUrl,
    tls: { caFile: certs.caCert, certFile: certs.clientCert, keyFile: certs.clientKey },
    basicAuth: { username: USER, password: PASSWORD },
    withoutTargetInfo: true,
    proxy: false,
  });

  async function pushOnce(options: PrometheusRemoteWriteExporterOptions, name: string) {
    const exporter = new PrometheusRemoteWriteExporter(options);
    try {
      const result = await exportOnce(
        exporter,
        resourceMetrics([gauge({ name }, [point(42, {}, Date.now())])]),
      );
      return { result, stats: exporter.stats() };
    } finally {
      await exporter.shutdown();
    }
  }

  it('the right CA, client certificate and password deliver, and PromQL reads the value back', async () => {
    const { result } = await pushOnce(good(), 'tls.ok');
    assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message);
    const rows = await mtls.queryUntil('tls_ok', (r) => r.length === 1);
    assert.equal(rows[0]!.value[1], '42');
  });

  it('PEM text instead of files delivers too', async () => {
    const options = good();
    options.tls = {
      ca: certs.read(certs.caCert),
      cert: Buffer.from(certs.read(certs.clientCert)),
      key: certs.read(certs.clientKey),
    };
    const { result } = await pushOnce(options, 'tls.pem.ok');
    assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message);
    await mtls.queryUntil('tls_pem_ok', (r) => r.length === 1);
  });

  /** Fails at the first attempt, is not retried, and says why and what to set. */
  async function assertFailsFast(options: PrometheusRemoteWriteExporterOptions, message: RegExp) {
    const { result, stats } = await pushOnce(options, 'tls.bad');
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(result.error?.message ?? '', message);
    assert.equal(stats.requestsSent, 1, 'one attempt, no retry');
    assert.equal(stats.samplesRetried, 0);
    assert.ok(stats.samplesDropped.rejected > 0, 'dropped as permanent');
    assert.doesNotMatch(result.error?.message ?? '', new RegExp(PASSWORD));
  }

  it('a CA that did not sign the server certificate: names tls.ca/tls.caFile', async () => {
    const options = good();
    options.tls = { caFile: certs.wrongCaCert, certFile: certs.clientCert, keyFile: certs.clientKey };
    await assertFailsFast(
      options,
      /^.*TLS: the receiver's certificate is not signed by a trusted CA.*tls\.caFile/,
    );
  });

  it("no CA at all (Node's built-in list): the same clear error", async () => {
    const options = good();
    options.tls = { certFile: certs.clientCert, keyFile: certs.clientKey };
    await assertFailsFast(options, /not signed by a trusted CA.*tls\.ca/);
  });

  it('a client certificate from another CA: names tls.cert/tls.key', async () => {
    const options = good();
    options.tls = { caFile: certs.caCert, certFile: certs.wrongClientCert, keyFile: certs.wrongClientKey };
    await assertFailsFast(options, /refused this client's certificate.*tls\.cert/);
  });

  it('no client certificate where one is required: names tls.cert/tls.key', async () => {
    const options = good();
    options.tls = { caFile: certs.caCert };
    await assertFailsFast(options, /TLS: .*tls\.cert/);
  });

  it('a host name the certificate is not for: names tls.servername', async () => {
    const options = good();
    options.tls = {
      caFile: certs.caCert,
      certFile: certs.clientCert,
      keyFile: certs.clientKey,
      servername: 'wrong.example',
    };
    await assertFailsFast(options, /not for this host name.*tls\.servername/);
  });

  it('tls.servername set to a name the certificate is for delivers', async () => {
    const options = good();
    options.tls = {
      caFile: certs.caCert,
      certFile: certs.clientCert,
      keyFile: certs.clientKey,
      servername: 'localhost',
    };
    const { result } = await pushOnce(options, 'tls.servername.ok');
    assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message);
  });

  it('an expired server certificate: says so, and names tls.insecureSkipVerify', async () => {
    assert.ok(expired, 'Prometheus with the expired certificate started');
    await assertFailsFast(
      { url: expired.writeUrl, tls: { caFile: certs.caCert }, withoutTargetInfo: true, proxy: false },
      /certificate has expired.*tls\.insecureSkipVerify/,
    );
  });

  it('tls.insecureSkipVerify accepts the expired certificate (tests only)', async () => {
    const { result } = await pushOnce(
      { url: expired.writeUrl, tls: { insecureSkipVerify: true }, withoutTargetInfo: true, proxy: false },
      'tls.insecure.ok',
    );
    assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message);
    await expired.queryUntil('tls_insecure_ok', (r) => r.length === 1);
  });

  it('https:// to a plain-HTTP port: says the port does not speak TLS', async () => {
    const plain = await startPrometheus();
    try {
      await assertFailsFast(
        { url: plain.writeUrl.replace('http:', 'https:'), withoutTargetInfo: true, proxy: false },
        /does not speak TLS on this port/,
      );
    } finally {
      await plain.stop();
    }
  });

  it('the right certificates but a wrong password: HTTP 401, not retried', async () => {
    const options = good();
    options.basicAuth = { username: USER, password: 'wrong' };
    const { result, stats } = await pushOnce(options, 'tls.badpass');
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(result.error?.message ?? '', /HTTP 401/);
    assert.equal(stats.requestsSent, 1);
  });
});
