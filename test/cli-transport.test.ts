/**
 * `prw push` transport flags as a user runs them (the built dist/prw.js in a child process):
 * --ca/--cert/--key against real Prometheus serving mutual TLS and basic auth, --insecure,
 * --proxy through a real tinyproxy, --tenant, the OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_*
 * variables, the retry line on stderr, -v and -q.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runNode, type ChildRun } from './helpers/child.js';
import { makeCerts, mtlsPrometheus, type CertSet } from './helpers/certs.js';
import { startMockReceiver, type MockReceiver } from './helpers/mock-receiver.js';
import { freePort, receiverOrSkip, startPrometheus, type Receiver } from './helpers/receivers.js';
import { startTinyproxy, tinyproxyOrSkip, type Tinyproxy } from './helpers/tinyproxy.js';

const PRW = fileURLToPath(new URL('../dist/prw.js', import.meta.url));
const skip = receiverOrSkip('prometheus').skip ?? tinyproxyOrSkip().skip;
const BASIC = 'dave:cli-pass';

type Run = ChildRun;

/** Runs prw with none of the runner's PRW_*, OTEL_* or proxy variables. */
function prw(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runNode([PRW, ...args], { env, drop: /^(PRW_|OTEL_)|_proxy$/i });
}

describe('prw push: TLS, proxy, tenant, environment, -v/-q', { skip }, () => {
  let dir: string;
  let certs: CertSet;
  let prometheus: Receiver;
  let proxy: Tinyproxy;
  let mock: MockReceiver;
  let tls: string[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rw-cli-tls-'));
    certs = makeCerts(dir);
    [prometheus, mock] = await Promise.all([
      startPrometheus(mtlsPrometheus(certs, 'dave', 'cli-pass')),
      startMockReceiver(),
    ]);
    proxy = await startTinyproxy({ connectPorts: [Number(new URL(prometheus.writeUrl).port)] });
    tls = ['--ca', certs.caCert, '--cert', certs.clientCert, '--key', certs.clientKey];
  });
  after(async () => {
    await Promise.all([prometheus?.stop(), proxy?.stop(), mock?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('--help lists the transport flags', async () => {
    const r = await prw(['push', '--help']);
    assert.equal(r.code, 0);
    for (const flag of [
      '--ca FILE',
      '--cert FILE',
      '--key FILE',
      '--insecure',
      '--proxy URL',
      '--tenant ID',
      '-v, --verbose',
      '-q, --quiet',
    ]) {
      assert.ok(r.stdout.includes(flag), flag);
    }
    assert.match(r.stdout, /OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_ENDPOINT/);
  });

  it('--ca --cert --key with basic auth deliver over mTLS; -v prints one summary line', async () => {
    const r = await prw(['push', '--url', prometheus.writeUrl, ...tls, '-v', 'gauge', 'cli_tls', '5'], {
      PRW_BASIC_AUTH: BASIC,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /^prw: sent gauge cli_tls: 1 sample in 1 request to https:\/\/127\.0\.0\.1:\d+\/api\/v1\/write in \d+ ms\n$/,
    );
    assert.equal(r.stdout, '');
    const rows = await prometheus.queryUntil('cli_tls', (x) => x.length === 1);
    assert.equal(rows[0]!.value[1], '5');
  });

  it('a wrong --ca: exit 1 at the first attempt, the cause and the flag named', async () => {
    const r = await prw(
      [
        'push',
        '--url',
        prometheus.writeUrl,
        '--ca',
        certs.wrongCaCert,
        '--cert',
        certs.clientCert,
        '--key',
        certs.clientKey,
        'gauge',
        'g',
        '1',
      ],
      { PRW_BASIC_AUTH: BASIC },
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not signed by a trusted CA/);
    assert.match(r.stderr, /--ca/);
    assert.doesNotMatch(r.stderr, /retrying/, 'not retried');
  });

  it('--insecure without --ca: delivers (the client certificate still required)', async () => {
    const r = await prw(
      [
        'push',
        '--url',
        prometheus.writeUrl,
        '--insecure',
        '--cert',
        certs.clientCert,
        '--key',
        certs.clientKey,
        'gauge',
        'cli_insecure',
        '1',
      ],
      { PRW_BASIC_AUTH: BASIC },
    );
    assert.equal(r.code, 0, r.stderr);
  });

  it('--cert without --key: usage error, exit 2', async () => {
    const r = await prw([
      'push',
      '--url',
      prometheus.writeUrl,
      '--cert',
      certs.clientCert,
      'gauge',
      'g',
      '1',
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /tls\.key or tls\.keyFile" is needed/);
  });

  it('--proxy: through tinyproxy (CONNECT), as its log shows; HTTPS_PROXY the same; --proxy none bypasses', async () => {
    const connects = () =>
      proxy
        .log()
        .split('\n')
        .filter((l) => /Request .*CONNECT/.test(l)).length;
    let before = connects();
    let r = await prw(
      ['push', '--url', prometheus.writeUrl, ...tls, '--proxy', proxy.url, 'gauge', 'cli_proxy', '1'],
      {
        PRW_BASIC_AUTH: BASIC,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(connects(), before + 1);

    before = connects();
    r = await prw(['push', '--url', prometheus.writeUrl, ...tls, 'gauge', 'cli_proxy', '2'], {
      PRW_BASIC_AUTH: BASIC,
      HTTPS_PROXY: proxy.url,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(connects(), before + 1);

    before = connects();
    r = await prw(
      ['push', '--url', prometheus.writeUrl, ...tls, '--proxy', 'none', 'gauge', 'cli_proxy', '3'],
      {
        PRW_BASIC_AUTH: BASIC,
        HTTPS_PROXY: proxy.url,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(connects(), before);
  });

  it('configured by OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_* alone (no --url, no flags)', async () => {
    const r = await prw(['push', 'gauge', 'cli_env', '9'], {
      OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_ENDPOINT: prometheus.writeUrl,
      OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_HEADERS: `Authorization=${encodeURIComponent('Basic ' + Buffer.from(BASIC).toString('base64'))}`,
      OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_CERTIFICATE: certs.caCert,
      OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_CLIENT_CERTIFICATE: certs.clientCert,
      OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_CLIENT_KEY: certs.clientKey,
    });
    assert.equal(r.code, 0, r.stderr);
    await prometheus.queryUntil('cli_env', (x) => x.length === 1);
  });

  it('--tenant sends X-Scope-OrgID', async () => {
    mock.requests.length = 0;
    const r = await prw(['push', '--url', mock.url, '--tenant', 'team-a', 'gauge', 'g', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(mock.requests[0]?.headers['x-scope-orgid'], 'team-a');
  });

  it('a failing receiver: one line says what failed and how long prw keeps trying; -q keeps quiet', async () => {
    const dead = `http://127.0.0.1:${await freePort()}/api/v1/write`;
    let r = await prw(['push', '--url', dead, '--retry-for', '400', 'gauge', 'g', '1']);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.match(
      lines[0]!,
      /^prw: remote write to .* failed: .*ECONNREFUSED.*; retrying for up to 0\.4 s \(--retry-for\)$/,
    );
    assert.equal(lines.filter((l) => /retrying/.test(l)).length, 1, 'said once');
    assert.match(lines.at(-1)!, /^prw: .*ECONNREFUSED/);

    r = await prw(['push', '--url', dead, '--retry-for', '400', '-q', 'gauge', 'g', '1']);
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.stderr, /retrying/);
    assert.match(r.stderr, /^prw: .*ECONNREFUSED/, 'the error itself is still printed');
  });

  it('-v and -q together: usage error', async () => {
    const r = await prw(['push', '--dry-run', '-v', '-q', 'gauge', 'g', '1']);
    assert.equal(r.code, 2);
  });
});
