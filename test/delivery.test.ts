/**
 * Delivery under injected faults, against a scripted loopback receiver: for each fault, how many
 * requests were made, the delays between them, and what arrived (or was counted as dropped).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { PrometheusRemoteWriteExporter, type PrometheusRemoteWriteExporterOptions } from '../src/index.js';
import {
  labelsOf,
  startMockReceiver,
  type Answer,
  type MockReceiver,
  type ReceivedRequest,
} from './helpers/mock-receiver.js';
import {
  exportOnce,
  exportQueued,
  histogram,
  histogramValue,
  hr,
  point,
  resourceMetrics,
  sum,
} from './helpers/otel.js';
import { SeriesFrame } from '../src/wire/series-frame.js';

/** `n` counter series, all stamped `ms`, value `value`. */
const STABLE_ATTRIBUTES = Array.from({ length: 1000 }, (_, i) => ({ worker: `w${i}` }));

/** 1,000 counters whose attributes are the same objects at every export, as an SDK hands them. */
function stableCounters(ms: number, value: number): ResourceMetrics {
  const end = hr(ms);
  const start = hr(ms - 60_000);
  const points = STABLE_ATTRIBUTES.map((attributes) => ({
    attributes,
    startTime: start,
    endTime: end,
    value,
  }));
  return resourceMetrics([sum({ name: 'jobs' }, points)], { 'service.name': 'svc' });
}

function counters(n: number, ms: number, value = 1, name = 'jobs'): ResourceMetrics {
  const points = Array.from({ length: n }, (_, i) => point(value, { worker: `w${i}` }, ms, ms - 60_000));
  return resourceMetrics([sum({ name }, points)], { 'service.name': 'svc' });
}

/** Samples of every series in these requests, as "labels@timestamp=value" strings. */
function samplesIn(requests: ReceivedRequest[]): string[] {
  return requests.flatMap((r) =>
    r.decoded.timeseries.flatMap((s) => {
      const l = labelsOf(s);
      return s.samples.map((x) => `${l['__name__']}/${l['worker'] ?? ''}@${x.timestamp}=${x.value}`);
    }),
  );
}

function gaps(requests: ReceivedRequest[]): number[] {
  return requests.slice(1).map((r, i) => r.at - requests[i]!.at);
}

const FAST = { minBackoffMillis: 20, maxBackoffMillis: 160, maxRetryElapsedMillis: 10_000 };
const NOW = Date.now();

let receiver: MockReceiver;
const exporters: PrometheusRemoteWriteExporter[] = [];
function exporter(
  options: Partial<PrometheusRemoteWriteExporterOptions> = {},
): PrometheusRemoteWriteExporter {
  const e = new PrometheusRemoteWriteExporter({ url: receiver.url, ...FAST, ...options });
  exporters.push(e);
  return e;
}

let logged: string[] = [];
const logger: DiagLogger = {
  error: (m) => void logged.push(`error: ${m}`),
  warn: (m) => void logged.push(`warn: ${m}`),
  info: (m) => void logged.push(`info: ${m}`),
  debug: () => {},
  verbose: () => {},
};

before(() => diag.setLogger(logger, { logLevel: DiagLogLevel.INFO, suppressOverrideMessage: true }));
after(() => diag.disable());
beforeEach(async () => {
  logged = [];
  receiver = await startMockReceiver();
});
afterEach(async () => {
  await Promise.all(exporters.splice(0).map((e) => e.shutdown()));
  await receiver.close();
});

describe('transient failures are retried until delivered, each sample once', () => {
  for (const status of [500, 502, 503, 504]) {
    it(`HTTP ${status} three times, then 204`, async () => {
      receiver.answers.push(...Array.from({ length: 3 }, (): Answer => ({ status, body: 'try later' })));
      const e = exporter();
      const result = await exportOnce(e, counters(10, NOW));
      assert.equal(result.code, ExportResultCode.SUCCESS);
      assert.equal(receiver.requests.length, 4);
      assert.deepEqual(
        receiver.requests.map((r) => r.headers['retry-attempt']),
        [undefined, '1', '2', '3'],
      );
      // What the receiver accepted (the 4th) holds every recorded sample exactly once.
      const accepted = samplesIn(receiver.requests.slice(3));
      assert.equal(accepted.length, 10);
      assert.equal(new Set(accepted).size, 10);
      // Backoff: at least the minimum less jitter, then growing.
      const g = gaps(receiver.requests);
      assert.ok(g[0]! >= 16, `first gap ${g[0]}`);
      for (let i = 1; i < g.length; i++) assert.ok(g[i]! >= 0.8 * g[i - 1]!, `gaps ${g.join(', ')}`);
      const stats = e.stats();
      assert.equal(stats.samplesSent, 10);
      assert.equal(stats.samplesFailed, 30);
      assert.equal(stats.samplesRetried, 30);
      assert.equal(stats.requestsSent, 4);
      assert.equal(stats.requestsFailed, 3);
      assert.equal(stats.samplesPending, 0);
    });
  }

  it('the delay doubles and then holds at maxBackoffMillis', async () => {
    receiver.answers.push(...Array.from({ length: 7 }, (): Answer => ({ status: 503 })));
    const e = exporter({ minBackoffMillis: 20, maxBackoffMillis: 80 });
    assert.equal((await exportOnce(e, counters(1, NOW))).code, ExportResultCode.SUCCESS);
    const g = gaps(receiver.requests);
    assert.equal(g.length, 7);
    // Delays 20, 40, 80, 80, 80…, each less up to 20%; timers only fire late, so allow slack above.
    const expected = [20, 40, 80, 80, 80, 80, 80];
    g.forEach((gap, i) => {
      assert.ok(gap >= expected[i]! * 0.8 - 2, `gap ${i} = ${gap} (${g.join(', ')})`);
      assert.ok(gap <= expected[i]! + 60, `gap ${i} = ${gap} over the cap (${g.join(', ')})`);
    });
  });

  it('429 with Retry-After in seconds waits that long, not the backoff', async () => {
    receiver.answers.push({ status: 429, headers: { 'Retry-After': '1' }, body: 'slow down' });
    const e = exporter({ maxBackoffMillis: 50 });
    assert.equal((await exportOnce(e, counters(3, NOW))).code, ExportResultCode.SUCCESS);
    assert.equal(receiver.requests.length, 2);
    const [gap] = gaps(receiver.requests);
    assert.ok(gap! >= 995 && gap! < 1500, `gap ${gap}`);
    assert.equal(samplesIn(receiver.requests.slice(1)).length, 3);
  });

  it('429 with Retry-After as an HTTP date waits until then', async () => {
    const at = new Date(Date.now() + 2000).toUTCString(); // second precision: 1–2 s from now
    receiver.answers.push({ status: 429, headers: { 'Retry-After': at } });
    const e = exporter({ maxBackoffMillis: 50 });
    assert.equal((await exportOnce(e, counters(3, NOW))).code, ExportResultCode.SUCCESS);
    const [gap] = gaps(receiver.requests);
    assert.ok(gap! >= 900 && gap! < 2300, `gap ${gap}`);
  });

  it('a connection closed mid-request is retried', async () => {
    receiver.answers.push({ status: 0, destroy: true });
    const e = exporter();
    assert.equal((await exportOnce(e, counters(5, NOW))).code, ExportResultCode.SUCCESS);
    assert.equal(receiver.requests.length, 2);
    assert.equal(samplesIn(receiver.requests.slice(1)).length, 5);
  });

  it('a request that never gets an answer times out and is retried', async () => {
    receiver.answers.push({ status: 204, hang: true });
    const e = exporter({ timeoutMillis: 200 });
    const t0 = performance.now();
    assert.equal((await exportOnce(e, counters(5, NOW))).code, ExportResultCode.SUCCESS);
    assert.equal(receiver.requests.length, 2);
    assert.ok(performance.now() - t0 >= 200);
    assert.equal(e.stats().requestsFailed, 1);
  });

  it('a slow answer within timeoutMillis is just waited for', async () => {
    receiver.answers.push({ status: 204, delayMs: 300 });
    const e = exporter({ timeoutMillis: 2000 });
    assert.equal((await exportOnce(e, counters(5, NOW))).code, ExportResultCode.SUCCESS);
    assert.equal(receiver.requests.length, 1);
    assert.equal(e.stats().requestsFailed, 0);
  });
});

describe('permanent failures drop that request only', () => {
  for (const status of [400, 401, 403, 404, 409, 413, 415]) {
    it(`HTTP ${status}: one request, logged verbatim, counted, and the next export goes on`, async () => {
      receiver.answers.push({ status, body: `reason for ${status} ${'z'.repeat(2000)}` });
      const e = exporter();
      const result = await exportOnce(e, counters(4, NOW));
      assert.equal(result.code, ExportResultCode.FAILED);
      assert.match(result.error?.message ?? '', new RegExp(`HTTP ${status} .*: reason for ${status} z+`));
      await sleep(100); // no retry comes later
      assert.equal(receiver.requests.length, 1);
      assert.equal(e.stats().samplesDropped.rejected, 4);
      assert.equal((await exportOnce(e, counters(4, NOW + 1000))).code, ExportResultCode.SUCCESS);
      assert.equal(receiver.requests.length, 2);
      // Said once, in the summary at the next export, with the receiver's answer verbatim.
      const lines = logged.filter((l) => l.startsWith('error:') && l.includes(`reason for ${status}`));
      assert.equal(lines.length, 1, logged.join('\n'));
      const log = lines[0]!;
      assert.match(log, /4 samples dropped \(rejected 4\)/);
      assert.ok(log.includes('z'.repeat(900)) && !log.includes('z'.repeat(1100)), 'at most 1 KB of body');
    });
  }

  it('in a split export, only the rejected request is lost', async () => {
    receiver.answers.push({ status: 204 }, { status: 400, body: 'bad sample' }, { status: 204 });
    const e = exporter({ maxSamplesPerSend: 4 });
    const result = await exportOnce(e, counters(10, NOW));
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(
      result.error?.message ?? '',
      /^1 of 3 requests not delivered; the first: .*HTTP 400 .*bad sample/,
    );
    assert.equal(receiver.requests.length, 3);
    assert.deepEqual(
      receiver.requests.map((r) => samplesIn([r]).length),
      [4, 4, 2],
    );
    const stats = e.stats();
    assert.equal(stats.samplesSent, 6);
    assert.equal(stats.samplesDropped.rejected, 4);
  });
});

describe('bounded in time', () => {
  it('retries stop after maxRetryElapsedMillis; the samples are counted as dropped', async () => {
    const down = await startMockReceiver({ fallback: () => ({ status: 503, body: 'down' }) });
    try {
      const e = new PrometheusRemoteWriteExporter({ url: down.url, ...FAST, maxRetryElapsedMillis: 300 });
      const t0 = performance.now();
      const result = await exportOnce(e, counters(6, NOW));
      const took = performance.now() - t0;
      assert.equal(result.code, ExportResultCode.FAILED);
      assert.match(
        result.error?.message ?? '',
        /6 samples dropped: still failing after maxRetryElapsedMillis \(300 ms\); last error: .*HTTP 503/,
      );
      assert.ok(took < 1000, `took ${took}`);
      assert.ok(down.requests.length >= 3 && down.requests.length <= 10, `${down.requests.length} requests`);
      assert.equal(e.stats().samplesDropped.retries_exhausted, 6);
      await e.shutdown();
    } finally {
      await down.close();
    }
  });

  it('a Retry-After beyond the retry budget ends the retries at once rather than retrying early', async () => {
    receiver.answers.push({ status: 429, headers: { 'Retry-After': '30' }, body: 'quota' });
    const e = exporter({ maxRetryElapsedMillis: 2000 });
    const t0 = performance.now();
    const result = await exportOnce(e, counters(2, NOW));
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.ok(performance.now() - t0 < 1000);
    await sleep(100);
    assert.equal(receiver.requests.length, 1);
    assert.equal(e.stats().samplesDropped.retries_exhausted, 2);
  });

  it('shutdown() ends within shutdownTimeoutMillis even when the receiver never answers', async () => {
    const hung = await startMockReceiver({ fallback: () => ({ status: 204, hang: true }) });
    try {
      const e = new PrometheusRemoteWriteExporter({
        url: hung.url,
        timeoutMillis: 60_000,
        shutdownTimeoutMillis: 200,
      });
      const pending = exportOnce(e, counters(7, NOW));
      await sleep(50);
      const t0 = performance.now();
      await e.shutdown();
      const took = performance.now() - t0;
      assert.ok(took >= 150 && took < 1000, `took ${took}`);
      const result = await pending;
      assert.equal(result.code, ExportResultCode.FAILED);
      assert.equal(e.stats().samplesDropped.shutdown, 7);
    } finally {
      await hung.close();
    }
  });
});

describe('ordering', () => {
  for (const framed of [false, true])
    it(`1,000 series exported 15 times, answers delayed at random, 4 in flight: per series, timestamps strictly increase${framed ? ' (one attributes object per stream, as an SDK: frames laid out by shard)' : ''}`, async (t) => {
      const patched = t.mock.method(SeriesFrame.prototype, 'stage');
      const accepted: ReceivedRequest[] = [];
      let seed = 42;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const flaky = await startMockReceiver({
        fallback: (req) => {
          if (random() < 0.1) return { status: 503, delayMs: Math.floor(random() * 20) };
          accepted.push(req);
          return { status: 204, delayMs: Math.floor(random() * 30) };
        },
      });
      try {
        const e = new PrometheusRemoteWriteExporter({
          url: flaky.url,
          ...FAST,
          maxConcurrentRequests: 4,
          maxSamplesPerSend: 300,
        });
        const results = [];
        for (let k = 0; k < 15; k++) {
          // Not awaited: exports pile up while earlier requests are still being answered or retried.
          results.push(
            exportOnce(e, framed ? stableCounters(NOW + k * 1000, k) : counters(1000, NOW + k * 1000, k)),
          );
          await sleep(5);
        }
        assert.ok((await Promise.all(results)).every((r) => r.code === ExportResultCode.SUCCESS));
        assert.ok(flaky.requests.length > accepted.length, 'some requests were retried');
        const last = new Map<string, number>();
        let count = 0;
        for (const req of accepted) {
          for (const s of req.decoded.timeseries) {
            const key = JSON.stringify(s.labels);
            for (const x of s.samples) {
              const before = last.get(key) ?? -Infinity;
              assert.ok(x.timestamp > before, `${key}: ${x.timestamp} after ${before}`);
              last.set(key, x.timestamp);
              count++;
            }
          }
        }
        // 1,000 counters, 15 times, each exactly once.
        assert.equal(count, 15 * 1000);
        assert.equal(last.size, 1000);
        if (framed)
          assert.ok(
            patched.mock.callCount() >= 10_000,
            `values written into frames: ${patched.mock.callCount()}`,
          );
        await e.shutdown();
      } finally {
        await flaky.close();
      }
    });
});

describe('batching', () => {
  it('an export is split at maxSamplesPerSend (default 2000), with the metadata of each request only', async () => {
    const e = exporter();
    const rm = resourceMetrics(
      [
        sum(
          { name: 'a' },
          Array.from({ length: 3000 }, (_, i) => point(i, { i: String(i) }, NOW)),
        ),
        sum(
          { name: 'b' },
          Array.from({ length: 1500 }, (_, i) => point(i, { i: String(i) }, NOW)),
        ),
      ],
      { 'service.name': 'svc' },
    );
    assert.equal((await exportOnce(e, rm)).code, ExportResultCode.SUCCESS);
    assert.deepEqual(
      receiver.requests.map((r) => r.decoded.timeseries.length),
      [2000, 2000, 500],
    );
    assert.deepEqual(
      receiver.requests.map((r) => r.decoded.metadata.map((m) => m.metricFamilyName).sort()),
      [['a_total'], ['a_total', 'b_total'], ['b_total']],
    );
  });

  it('never splits the buckets, sum and count of one histogram point; respects maxRequestBytes', async () => {
    const e = exporter({ maxSamplesPerSend: 40, maxRequestBytes: 4096 });
    const bounds = [0.1, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
    const points = Array.from({ length: 20 }, (_, i) =>
      point(histogramValue(bounds, bounds.map(() => 1).concat([1]), 10), { route: `/r${i}` }, NOW),
    );
    const rm = resourceMetrics([histogram({ name: 'latency', unit: 's' }, points)], {});
    assert.equal((await exportOnce(e, rm)).code, ExportResultCode.SUCCESS);
    assert.ok(receiver.requests.length >= 8);
    for (const r of receiver.requests) {
      assert.ok(r.raw.length <= 4096, `${r.raw.length} bytes`);
      const routes = new Map<string, number>();
      for (const s of r.decoded.timeseries) {
        const route = labelsOf(s)['route']!;
        routes.set(route, (routes.get(route) ?? 0) + 1);
      }
      // 12 bounds + +Inf + _sum + _count.
      for (const [route, n] of routes) assert.equal(n, 15, `${route} whole in one request`);
    }
  });
});

describe('oversized series', () => {
  it('a series larger than maxRequestBytes goes alone, with a warning naming it, and is not dropped', async () => {
    const e = exporter({ maxRequestBytes: 1024 });
    const rm = resourceMetrics(
      [
        sum({ name: 'small' }, [point(1, { a: '1' }, NOW), point(2, { a: '2' }, NOW)]),
        sum({ name: 'huge' }, [point(3, { blob: 'x'.repeat(5000) }, NOW)]),
      ],
      {},
    );
    assert.equal((await exportOnce(e, rm)).code, ExportResultCode.SUCCESS);
    const names = receiver.requests.map((r) => r.decoded.timeseries.map((s) => labelsOf(s)['__name__']));
    assert.deepEqual(names, [['small_total', 'small_total'], ['huge_total']]);
    assert.ok(
      logged.some(
        (l) => l.startsWith('warn:') && l.includes('huge_total{') && l.includes('request of its own'),
      ),
      logged.join('\n'),
    );
  });
});

describe('bounded memory', () => {
  it('receiver down, 100,000 series exported 6 times: memory holds at most queueCapacity, the rest is counted as dropped', async () => {
    const hung = await startMockReceiver({ fallback: () => ({ status: 204, hang: true }) });
    try {
      const capacity = 50_000;
      const e = new PrometheusRemoteWriteExporter({
        url: hung.url,
        timeoutMillis: 600_000,
        queueCapacity: capacity,
        shutdownTimeoutMillis: 100,
        withoutTargetInfo: true,
      });
      const results = [exportOnce(e, counters(100_000, NOW))];
      for (let k = 1; k < 5; k++) results.push(exportOnce(e, counters(100_000, NOW + k * 1000)));
      // Large exports are translated in slices, between which the event loop runs: the last one
      // is called back once queued, and exports are queued in call order.
      await exportQueued(e, counters(100_000, NOW + 5_000));
      const stats = e.stats();
      assert.ok(stats.samplesPending <= capacity, `${stats.samplesPending} pending`);
      // Everything beyond the capacity was dropped, oldest first (all but the request in flight).
      assert.equal(stats.samplesDropped.queue_full, 600_000 - stats.samplesPending);
      // ~25 bytes a sample compressed: the queue holds about 1.3 MB; unbounded it would be ~15 MB.
      assert.ok(stats.bytesInMemory < 2 * 1024 * 1024, `${stats.bytesInMemory} bytes held`);
      assert.ok(
        logged.some((l) => l.startsWith('error:') && /samples dropped \(queue_full \d+\)/.test(l)),
        'drops are logged',
      );
      // One summary line per export at most, not one per dropped request.
      assert.ok(logged.filter((l) => l.includes('queue_full')).length <= 6, logged.join('\n'));
      await e.shutdown();
      const all = await Promise.all(results);
      assert.ok(all.every((r) => r.code === ExportResultCode.FAILED));
      assert.equal(e.stats().samplesPending, 0);
    } finally {
      await hung.close();
    }
  });
});

describe('disk spool', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rw-spool-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('what shutdown() could not deliver is kept, then sent first by the next exporter, then deleted', async () => {
    const first = new PrometheusRemoteWriteExporter({
      url: 'http://127.0.0.1:9/api/v1/write', // nothing listens: refused
      spoolDir: dir,
      ...FAST,
      maxRetryElapsedMillis: 100,
      shutdownTimeoutMillis: 300,
      maxSamplesPerSend: 5,
    });
    const r1 = exportOnce(first, counters(8, NOW, 1));
    await first.shutdown();
    const result = await r1;
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(result.error?.message ?? '', /kept in the spool/);
    assert.equal(first.stats().samplesSpooled, 8);
    assert.equal(readdirSync(dir).filter((n) => n.endsWith('.prw')).length, 2);

    const second = exporter({ spoolDir: dir });
    assert.equal((await exportOnce(second, counters(8, NOW + 1000, 2))).code, ExportResultCode.SUCCESS);
    await second.forceFlush();
    // The two spooled requests first, in order, then the new export.
    assert.equal(receiver.requests.length, 3);
    const spooled = samplesIn(receiver.requests.slice(0, 2));
    assert.equal(spooled.length, 8);
    assert.ok(spooled.every((s) => s.includes(`@${NOW}=`)));
    assert.ok(samplesIn(receiver.requests.slice(2)).every((s) => s.includes(`@${NOW + 1000}=`)));
    assert.deepEqual(readdirSync(dir), []);
    assert.equal(second.stats().samplesSent, 16);
  });

  it('a spooled request the receiver rejects is deleted and counted; one it cannot reach stays', async () => {
    const down = new PrometheusRemoteWriteExporter({
      url: 'http://127.0.0.1:9/api/v1/write',
      spoolDir: dir,
      ...FAST,
      maxRetryElapsedMillis: 50,
      shutdownTimeoutMillis: 200,
    });
    void exportOnce(down, counters(3, NOW));
    await down.shutdown();
    assert.equal(readdirSync(dir).length, 1);

    const stillDown = new PrometheusRemoteWriteExporter({
      url: 'http://127.0.0.1:9/api/v1/write',
      spoolDir: dir,
      ...FAST,
      maxRetryElapsedMillis: 50,
    });
    await stillDown.forceFlush();
    await stillDown.shutdown();
    assert.equal(readdirSync(dir).length, 1, 'kept for a later start');

    receiver.answers.push({ status: 400, body: 'too old' });
    const e = exporter({ spoolDir: dir });
    await e.forceFlush();
    assert.equal(receiver.requests.length, 1);
    assert.equal(e.stats().samplesDropped.rejected, 3);
    assert.ok(!existsSync(join(dir, readdirSync(dir)[0] ?? 'none')));
  });
});

describe('self-observability', () => {
  class ManualReader extends MetricReader {
    protected onShutdown(): Promise<void> {
      return Promise.resolve();
    }
    protected onForceFlush(): Promise<void> {
      return Promise.resolve();
    }
  }

  it('counters are readable from stats() and recorded on the meter passed in', async () => {
    const reader = new ManualReader();
    const provider = new MeterProvider({ readers: [reader] });
    receiver.answers.push({ status: 503 }, { status: 204 }, { status: 400 });
    const e = exporter({ meter: provider.getMeter('self') });
    await exportOnce(e, counters(5, NOW));
    await exportOnce(e, counters(5, NOW + 1000));
    const stats = e.stats();
    assert.deepEqual(
      [stats.samplesSent, stats.samplesFailed, stats.samplesRetried, stats.samplesDropped.rejected],
      [5, 10, 5, 5],
    );
    assert.deepEqual([stats.requestsSent, stats.requestsFailed], [3, 2]);
    const { resourceMetrics: rm } = await reader.collect();
    const values = new Map<string, number>();
    for (const m of rm.scopeMetrics.flatMap((s) => s.metrics)) {
      for (const p of m.dataPoints) {
        const reason = p.attributes['reason'];
        values.set(reason ? `${m.descriptor.name}{${String(reason)}}` : m.descriptor.name, p.value as number);
      }
    }
    assert.equal(values.get('prometheus_remote_write.samples.sent'), 5);
    assert.equal(values.get('prometheus_remote_write.samples.failed'), 10);
    assert.equal(values.get('prometheus_remote_write.samples.retried'), 5);
    assert.equal(values.get('prometheus_remote_write.samples.dropped{rejected}'), 5);
    assert.equal(values.get('prometheus_remote_write.samples.dropped{queue_full}'), 0);
    assert.equal(values.get('prometheus_remote_write.requests.sent'), 3);
    assert.equal(values.get('prometheus_remote_write.requests.failed'), 2);
    await provider.shutdown();
  });
});
