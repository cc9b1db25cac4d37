/**
 * The lifecycle around delivery (issue: collection never waits for the receiver, no exit loses
 * data): export() returns once queued, deadlines on forceFlush and shutdown, the crash-safe
 * spool, several producers on one exporter, and flushOnExit in child processes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { PrometheusRemoteWriteExporter, type PrometheusRemoteWriteExporterOptions } from '../src/index.js';
import { labelsOf, startMockReceiver, type MockReceiver } from './helpers/mock-receiver.js';
import { exportQueued, point, resourceMetrics, sum } from './helpers/otel.js';
import { freePort, receiverOrSkip, startVictoriaMetrics } from './helpers/receivers.js';

const NOW = Date.now();
function counters(n: number, ms: number, service = 'svc'): ResourceMetrics {
  const points = Array.from({ length: n }, (_, i) => point(1, { worker: `w${i}` }, ms, ms - 60_000));
  return resourceMetrics([sum({ name: 'jobs' }, points)], { 'service.name': service });
}

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'prw-lifecycle-'));
  dirs.push(d);
  return d;
}
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

let receiver: MockReceiver;
const exporters: PrometheusRemoteWriteExporter[] = [];
function exporter(
  options: Partial<PrometheusRemoteWriteExporterOptions> = {},
): PrometheusRemoteWriteExporter {
  const e = new PrometheusRemoteWriteExporter({ url: receiver.url, minBackoffMillis: 20, ...options });
  exporters.push(e);
  return e;
}
beforeEach(async () => {
  receiver = await startMockReceiver();
});
afterEach(async () => {
  await Promise.all(exporters.splice(0).map((e) => e.shutdown()));
  await receiver.close();
});

describe('export() never waits for the receiver', () => {
  it('calls back SUCCESS once queued while the receiver hangs, export after export', async () => {
    receiver.answers.push(...Array.from({ length: 5 }, () => ({ status: 204, hang: true })));
    const e = exporter({ timeoutMillis: 60_000, shutdownTimeoutMillis: 100 });
    for (let k = 0; k < 5; k++) {
      const t0 = Date.now();
      const result = await exportQueued(e, counters(10, NOW + k * 1000));
      assert.equal(result.code, ExportResultCode.SUCCESS);
      assert.ok(Date.now() - t0 < 500, `export ${k} took ${Date.now() - t0} ms`);
    }
    await sleep(100);
    assert.equal(receiver.requests.length, 1, 'one request in flight, the rest queued');
    assert.equal(e.stats().samplesPending, 5 * 10);
  });

  it('an export that cannot be queued (after shutdown) fails at once, saying why', async () => {
    const e = exporter();
    await e.shutdown();
    const result = await exportQueued(e, counters(1, NOW));
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(result.error?.message ?? '', /shut down/);
  });

  it('a healthy receiver and the default memory bound: nothing dropped at 100,000 series × 3 exports', async () => {
    // 1M series are in `npm run bench`; here 100k with a tenth of the default maxQueueBytes.
    const e = exporter({ maxQueueBytes: Math.floor((128 * 1024 * 1024) / 10), withoutTargetInfo: true });
    for (let k = 0; k < 3; k++) {
      assert.equal((await exportQueued(e, counters(100_000, NOW + k * 1000))).code, ExportResultCode.SUCCESS);
    }
    await e.forceFlush();
    const stats = e.stats();
    assert.deepEqual(
      Object.values(stats.samplesDropped).reduce((a, b) => a + b, 0),
      0,
    );
    assert.equal(stats.samplesSent, 300_000);
  });
});

describe('deadlines', () => {
  it('forceFlush() resolves after flushTimeoutMillis with the receiver hanging; the rest stays queued', async () => {
    receiver.answers.push({ status: 204, hang: true });
    const e = exporter({ flushTimeoutMillis: 300, timeoutMillis: 60_000, shutdownTimeoutMillis: 100 });
    await exportQueued(e, counters(3, NOW));
    const t0 = Date.now();
    await e.forceFlush();
    const took = Date.now() - t0;
    assert.ok(took >= 280 && took < 1300, `forceFlush took ${took} ms`);
    assert.equal(e.stats().samplesPending, 3);
  });

  it('a MeterProvider with a PeriodicExportingMetricReader shuts down within flushTimeoutMillis + shutdownTimeoutMillis + 1 s, receiver down', async () => {
    const port = await freePort(); // nothing listens: connection refused, retried
    const e = new PrometheusRemoteWriteExporter({
      url: `http://127.0.0.1:${port}/api/v1/write`,
      flushTimeoutMillis: 1000,
      shutdownTimeoutMillis: 1000,
    });
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'deadline' }),
      readers: [new PeriodicExportingMetricReader({ exporter: e, exportIntervalMillis: 100 })],
    });
    const c = provider.getMeter('m').createCounter('ticks');
    for (let i = 0; i < 10; i++) {
      c.add(1);
      await sleep(50);
    }
    const t0 = Date.now();
    await provider.shutdown();
    const took = Date.now() - t0;
    assert.ok(took < 3000, `provider.shutdown() took ${took} ms`);
    const stats = e.stats();
    assert.ok(stats.samplesDropped.shutdown > 0, JSON.stringify(stats));
    assert.equal(stats.samplesPending, 0);
  });

  it('slow receiver (answers after 1 s): collections stay on time and shutdown() ends within shutdownTimeoutMillis + 1 s', async () => {
    receiver.answers.push(...Array.from({ length: 50 }, () => ({ status: 204, delayMs: 1000 })));
    const e = exporter({ shutdownTimeoutMillis: 500 });
    const started: number[] = [];
    for (let k = 0; k < 6; k++) {
      const t0 = Date.now();
      await exportQueued(e, counters(50, NOW + k * 1000));
      started.push(Date.now() - t0);
      await sleep(200);
    }
    assert.ok(Math.max(...started) < 300, `exports took ${started.join(', ')} ms`);
    const t0 = Date.now();
    await e.shutdown();
    assert.ok(Date.now() - t0 < 1500, `shutdown took ${Date.now() - t0} ms`);
    assert.equal(e.stats().samplesPending, 0);
  });
});

describe('crash-safe spool', () => {
  it('a request whose first attempt failed is on disk before the retry, and deleted once delivered', async () => {
    const spoolDir = tempDir();
    receiver.answers.push({ status: 503 });
    const e = exporter({ spoolDir, minBackoffMillis: 600 });
    const pending = e.exportAndWait(counters(3, NOW));
    while (receiver.requests.length < 1) await sleep(10);
    await sleep(150); // within the backoff, before the retry
    const onDiskAtRetry = readdirSync(spoolDir).filter((n) => n.endsWith('.prw')).length;
    const result = await pending;
    assert.equal(receiver.requests.length, 2);
    assert.equal(result.code, ExportResultCode.SUCCESS);
    assert.equal(onDiskAtRetry, 1, 'spooled before the first retry');
    assert.deepEqual(
      readdirSync(spoolDir).filter((n) => n.endsWith('.prw')),
      [],
    );
    const stats = e.stats();
    assert.equal(stats.samplesSpooled, 3);
    assert.equal(stats.samplesInSpool, 0);
  });

  it('what waits behind a failing request goes to disk at once, and leaves memory', async () => {
    const spoolDir = tempDir();
    const port = await freePort();
    const e = new PrometheusRemoteWriteExporter({
      url: `http://127.0.0.1:${port}/api/v1/write`,
      spoolDir,
      minBackoffMillis: 1000,
      shutdownTimeoutMillis: 100,
    });
    exporters.push(e);
    await exportQueued(e, counters(5, NOW));
    await sleep(200); // the first attempt fails (refused)
    for (let k = 1; k <= 3; k++) await exportQueued(e, counters(5, NOW + k * 1000));
    assert.equal(readdirSync(spoolDir).filter((n) => n.endsWith('.prw')).length, 4);
    const stats = e.stats();
    assert.equal(stats.samplesInSpool, 20);
    // Only the request in flight keeps its body in memory.
    assert.ok(stats.bytesInMemory > 0 && stats.bytesInMemory < 400, `${stats.bytesInMemory} bytes`);
  });
});

describe('one exporter, many producers', () => {
  it('four resources exporting in turn never mark each other stale', async () => {
    const e = exporter();
    for (let k = 0; k < 3; k++) {
      for (const svc of ['a', 'b', 'c', 'd']) {
        assert.equal(
          (await e.exportAndWait(counters(5, NOW + k * 1000, svc))).code,
          ExportResultCode.SUCCESS,
        );
      }
    }
    const samples = receiver.requests.flatMap((r) => r.decoded.timeseries.flatMap((s) => s.samples));
    assert.equal(samples.filter((s) => Number.isNaN(s.value)).length, 0, 'no stale marker');
    const jobs = new Set(
      receiver.requests.flatMap((r) => r.decoded.timeseries.map((s) => labelsOf(s)['job'])),
    );
    assert.deepEqual([...jobs].sort(), ['a', 'b', 'c', 'd']);
    // A series that really ends is still marked stale, in its own producer only.
    await e.exportAndWait(counters(4, NOW + 5000, 'a'));
    const last = receiver.requests.at(-1)!.decoded.timeseries;
    const stale = last.filter((s) => s.samples.some((x) => Number.isNaN(x.value))).map((s) => labelsOf(s));
    assert.deepEqual(
      stale.map((l) => `${l['job']}/${l['worker']}`),
      ['a/w4'],
    );
  });
});

describe('flushOnExit, receiver down, with a spool (child processes)', () => {
  const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  function run(
    args: string[],
    url: string,
    spoolDir: string,
    signal?: NodeJS.Signals,
    env: Record<string, string> = {},
  ) {
    return new Promise<{
      code: number | null;
      signal: NodeJS.Signals | null;
      stderr: string;
      tookMs: number;
    }>((resolve, reject) => {
      const p = spawn(process.execPath, ['--import', 'tsx', ...args], {
        env: { ...process.env, PRW_URL: url, SPOOL_DIR: spoolDir, FLUSH_TIMEOUT_MS: '3000', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      let signalledAt = Date.now();
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.stdout.on('data', (d: Buffer) => {
        if (signal && d.toString().includes('ready')) {
          signalledAt = Date.now();
          p.kill(signal);
        }
      });
      const started = Date.now();
      const killer = setTimeout(() => p.kill('SIGKILL'), 30_000);
      p.on('error', reject);
      p.on('exit', (code, sig) => {
        clearTimeout(killer);
        resolve({ code, signal: sig, stderr, tookMs: Date.now() - (signal ? signalledAt : started) });
      });
    });
  }

  const cases = [
    ['MeterProvider', [fixture('outage-child.ts')]],
    ['RemoteWriteClient', [fixture('outage-client-child.ts'), 'single']],
    ['RemoteWriteClient in batch mode', [fixture('outage-client-child.ts'), 'batch']],
  ] as const;
  for (const [who, args] of cases)
    for (const [mode, signal] of [
      ['signal', 'SIGTERM'],
      ['natural', undefined],
    ] as const) {
      it(`${who}, ${signal ?? 'a plain end'}: exits within timeoutMillis + 1 s, everything in the spool, said on stderr; the next run delivers it`, async () => {
        const spoolDir = tempDir();
        const dead = `http://127.0.0.1:${await freePort()}/api/v1/write`;
        const r = await run([...args, mode], dead, spoolDir, signal);
        if (signal) assert.equal(r.signal, signal, r.stderr);
        // A client whose last sends were not delivered says so in its exit status.
        else assert.ok(r.code === 0 || (who !== 'MeterProvider' && r.code === 1), `${r.code}: ${r.stderr}`);
        const budget = signal ? 4000 : 1500 + 4000 + 1000;
        assert.ok(r.tookMs < budget, `took ${r.tookMs} ms`);
        assert.match(r.stderr, /samples are kept in .* and will be sent by the next process/, r.stderr);
        const files = readdirSync(spoolDir).filter((n) => n.endsWith('.prw'));
        assert.ok(files.length >= (who.includes('batch') ? 1 : 5), `${files.length} files`);
        // The next process (receiver up) sends the spool first; every tick value recorded arrives.
        const next = new PrometheusRemoteWriteExporter({ url: receiver.url, spoolDir });
        exporters.push(next);
        await next.forceFlush();
        assert.equal(readdirSync(spoolDir).filter((n) => n.endsWith('.prw')).length, 0);
        const values = receiver.requests
          .flatMap((q) => q.decoded.timeseries)
          .filter((s) => labelsOf(s)['__name__'] === 'outage_ticks_total')
          .flatMap((s) => s.samples.map((x) => x.value));
        assert.ok(values.length >= (who.includes('batch') ? 1 : 5), `${values.length} samples`);
        for (let i = 1; i < values.length; i++) assert.ok(values[i]! >= values[i - 1]!, 'in order');
        assert.ok(values.at(-1)! >= 20, `last value ${values.at(-1)}`);
        assert.ok(existsSync(spoolDir));
      });
    }

  it('MeterProvider, SIGTERM before its first collection of 60,000 series: the exit export, translated in slices, all in the spool; the next run delivers it', async () => {
    const spoolDir = tempDir();
    const dead = `http://127.0.0.1:${await freePort()}/api/v1/write`;
    const r = await run([fixture('outage-child.ts'), 'large'], dead, spoolDir, 'SIGTERM', {
      SERIES: '60000',
      FLUSH_TIMEOUT_MS: '8000',
    });
    assert.equal(r.signal, 'SIGTERM', r.stderr);
    assert.ok(r.tookMs < 9000, `took ${r.tookMs} ms`);
    assert.match(r.stderr, /samples are kept in .* and will be sent by the next process/, r.stderr);
    receiver.requests.length = 0;
    const next = new PrometheusRemoteWriteExporter({ url: receiver.url, spoolDir });
    exporters.push(next);
    await next.forceFlush();
    assert.equal(readdirSync(spoolDir).filter((n) => n.endsWith('.prw')).length, 0);
    const streams = new Map<string, number>();
    for (const q of receiver.requests)
      for (const s of q.decoded.timeseries) {
        const l = labelsOf(s);
        if (l['__name__'] === 'outage_streams_total') streams.set(l['stream']!, s.samples.at(-1)!.value);
      }
    assert.equal(streams.size, 60_000, `every series of the exit export; stderr: ${r.stderr}`);
    assert.equal(streams.get('s59999'), 60_000);
  });

  it('MeterProvider, SIGKILL during the outage: what was not in flight is in the spool; the next run delivers it to VictoriaMetrics', async (t) => {
    const { skip } = receiverOrSkip('victoriametrics');
    if (skip) return t.skip(skip);
    const spoolDir = tempDir();
    const dead = `http://127.0.0.1:${await freePort()}/api/v1/write`;
    const r = await run([fixture('outage-child.ts'), 'signal'], dead, spoolDir, 'SIGKILL');
    assert.equal(r.signal, 'SIGKILL');
    // Collections every 200 ms for 1.5 s: every export from the first failure on is on disk.
    const files = readdirSync(spoolDir).filter((n) => n.endsWith('.prw'));
    assert.ok(files.length >= 5, `${files.length} files`);
    const vm = await startVictoriaMetrics();
    try {
      const next = new PrometheusRemoteWriteExporter({
        url: vm.writeUrl,
        spoolDir,
        maxBackoffMillis: 500,
        flushTimeoutMillis: 30_000,
      });
      exporters.push(next);
      await next.forceFlush();
      const stats = next.stats();
      assert.ok(stats.samplesSent >= files.length, JSON.stringify(stats));
      assert.equal(stats.samplesInSpool, 0);
      assert.equal(readdirSync(spoolDir).filter((n) => n.endsWith('.prw')).length, 0);
      const stored = await vm.queryUntil(
        'count_over_time(outage_ticks_total[10m])',
        (q) => q.length === 1 && Number(q[0]!.value[1]) >= files.length,
      );
      assert.ok(Number(stored[0]!.value[1]) >= files.length);
      const last = await vm.query('last_over_time(outage_ticks_total[10m])');
      assert.ok(Number(last[0]!.value[1]) >= 20, `last value ${last[0]?.value[1]}`);
    } finally {
      await vm.stop();
    }
  });
});
