/**
 * A child process whose exporter gets no option at all, configured only by
 * OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_* variables (endpoint, headers, timeout, protocol, CA,
 * client certificate and key), pushes to real Prometheus serving mutual TLS and basic auth.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runNode, type ChildRun } from './helpers/child.js';
import { makeCerts, mtlsPrometheus, type CertSet } from './helpers/certs.js';
import { receiverOrSkip, startPrometheus, type Receiver } from './helpers/receivers.js';

const { skip } = receiverOrSkip('prometheus');
const CHILD = fileURLToPath(new URL('./fixtures/env-child.ts', import.meta.url));
const BASIC = 'Basic ' + Buffer.from('carol:env-pass').toString('base64');

/** The child, with nothing of the test runner's own environment that could configure the exporter. */
function runChild(env: Record<string, string>): Promise<ChildRun> {
  return runNode(['--import', 'tsx', CHILD], { env, drop: /^OTEL_|_proxy$/i });
}

describe('configured only by environment variables', { skip }, () => {
  let dir: string;
  let certs: CertSet;
  let prometheus: Receiver;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rw-env-e2e-'));
    certs = makeCerts(dir);
    prometheus = await startPrometheus(mtlsPrometheus(certs, 'carol', 'env-pass'));
  });
  after(async () => {
    await prometheus?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a child with only OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_* set delivers over mTLS; PromQL reads it', async () => {
    const run = await runChild({
      OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_ENDPOINT: prometheus.writeUrl,
      OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_HEADERS: `Authorization=${encodeURIComponent(BASIC)},X-Team=a%2Cb`,
      OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_TIMEOUT: '5000',
      OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_PROTOCOL: 'v1',
      OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_CERTIFICATE: certs.caCert,
      OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_CLIENT_CERTIFICATE: certs.clientCert,
      OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_CLIENT_KEY: certs.clientKey,
    });
    assert.equal(run.code, 0, run.stderr);
    // The gauge and target_info.
    assert.deepEqual(JSON.parse(run.stdout.trim()), { sent: 2, failed: 0 });
    const rows = await prometheus.queryUntil('env_configured', (r) => r.length === 1);
    assert.equal(rows[0]!.metric['via'], 'environment');
    assert.equal(rows[0]!.metric['job'], 'env-child');
    assert.equal(rows[0]!.value[1], '7');
  });

  it('the same child without the client certificate variables is refused by the receiver', async () => {
    const run = await runChild({
      OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_ENDPOINT: prometheus.writeUrl,
      OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_HEADERS: `Authorization=${encodeURIComponent(BASIC)}`,
      OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_CERTIFICATE: certs.caCert,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout.trim()), { sent: 0, failed: 2 });
  });

  it('a bad variable stops the child at construction with the variable named', async () => {
    const run = await runChild({
      OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_ENDPOINT: prometheus.writeUrl,
      OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_TIMEOUT: 'soon',
    });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /environment variable OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_TIMEOUT must be/);
  });
});
