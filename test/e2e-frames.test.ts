/**
 * The steady state end to end: a real MeterProvider hands the exporter the same attributes objects
 * at every collection, so from the second export on its counters and gauges are sent from their
 * frames (wire/series-frame.ts), built between the first two once the first was delivered. Prometheus 2.42 and VictoriaMetrics 1.79 must then hold every
 * sample of every collection, with the labels and values the SDK recorded, including a series
 * added late, an up-down counter back at zero (a point a frame cannot carry) and a stream whose
 * attributes object was changed in place.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Attributes } from '@opentelemetry/api';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { PrometheusRemoteWriteExporter } from '../src/index.js';
import { SeriesFrame } from '../src/wire/series-frame.js';
import {
  receiverOrSkip,
  startPrometheus,
  startVictoriaMetrics,
  type QueryResultSample,
  type Receiver,
} from './helpers/receivers.js';

const STREAMS = 200;
const COLLECTIONS = 6;
/** The reader's shutdown collects and exports once more. */
const EXPORTS = COLLECTIONS + 1;

/**
 * Counts the values written into frames, and the frames built: a collection that writes values
 * and builds none took the steady state's path.
 */
function countFramePatches(): { count: () => number; builds: () => number; restore: () => void } {
  const original = SeriesFrame.prototype.stage;
  const build = SeriesFrame.buildSteps;
  let n = 0;
  let built = 0;
  SeriesFrame.prototype.stage = function (this: SeriesFrame, index: number, value: number) {
    n++;
    original.call(this, index, value);
  };
  SeriesFrame.buildSteps = function (...args: Parameters<typeof build>) {
    built++;
    return build.apply(SeriesFrame, args);
  };
  return {
    count: () => n,
    builds: () => built,
    restore: () => {
      SeriesFrame.prototype.stage = original;
      SeriesFrame.buildSteps = build;
    },
  };
}

async function run(
  receiver: Receiver,
  concurrency = 1,
): Promise<{ patched: number[]; built: number[]; endSec: number; changedSec: number }> {
  const exporter = new PrometheusRemoteWriteExporter({
    url: receiver.writeUrl,
    withoutTargetInfo: true,
    maxConcurrentRequests: concurrency,
    // Several requests per export, so that shards have something to share.
    maxSamplesPerSend: 100,
  });
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'frames', 'service.instance.id': 'i-1' }),
    readers: [reader],
  });
  const meter = provider.getMeter('frames-test', '1.0.0');
  const requests = meter.createCounter('frames.requests');
  const inflight = meter.createUpDownCounter('frames.inflight');
  const latency = meter.createHistogram('frames.latency', {
    unit: 's',
    advice: { explicitBucketBoundaries: [0.1, 1, 10] },
  });
  const shards: Attributes[] = Array.from({ length: 20 }, (_, i) => ({ shard: `s${i}` }));
  const attributes: Attributes[] = Array.from({ length: STREAMS }, (_, i) => ({
    route: `/r/${i}`,
    zone: i % 2 ? 'b' : 'a',
  }));
  const late: Attributes = { route: '/late', zone: 'a' };
  const patches = countFramePatches();
  /** Values patched into frames by each collection's export. */
  const patched: number[] = [];
  /** Frames built by each collection's export (those built between exports come before the next). */
  const built: number[] = [];
  let changedSec = 0;
  try {
    for (let k = 0; k < COLLECTIONS; k++) {
      // The SDK keeps the object it was first given: changed in place (and not recorded with
      // again, which would start another stream), its stream is reported with the new value.
      if (k === 4) (attributes[7] as Record<string, string>).zone = 'changed';
      for (let i = 0; i < STREAMS; i++) if (i !== 7 || k < 4) requests.add(i + 1, attributes[i]);
      if (k >= 3) requests.add(1000, late);
      // Up, then back to 0 at collection 3, then up again.
      inflight.add(k === 3 ? -3 : 1, { pool: 'p' });
      // 0.5 s every time; 5 s from collection 2 on (the 10 s bucket leaves zero then).
      for (const a of shards) {
        latency.record(0.5, a);
        if (k >= 2) latency.record(5, a);
      }
      const before = patches.count();
      const buildsBefore = patches.builds();
      await reader.forceFlush();
      patched.push(patches.count() - before);
      built.push(patches.builds() - buildsBefore);
      if (k === 4) changedSec = Date.now() / 1000;
      await sleep(20); // later end times, in whole milliseconds
    }
  } finally {
    patches.restore();
    await provider.shutdown();
  }
  return { patched, built, endSec: Date.now() / 1000, changedSec };
}

const byRoute = (r: QueryResultSample[]) =>
  new Map(r.map((s) => [`${s.metric.route}|${s.metric.zone}`, Number(s.value[1])]));

async function check(receiver: Receiver, endSec: number, changedSec: number): Promise<void> {
  const counts = byRoute(
    await receiver.queryUntil('count_over_time(frames_requests_total[2m])', (r) => r.length >= STREAMS + 2, {
      time: endSec + 1,
    }),
  );
  const last = byRoute(await receiver.query('last_over_time(frames_requests_total[2m])', endSec + 1));
  for (let i = 0; i < STREAMS; i++) {
    if (i === 7) continue;
    const key = `/r/${i}|${i % 2 ? 'b' : 'a'}`;
    assert.equal(counts.get(key), EXPORTS, `${key}: one sample per export`);
    assert.equal(last.get(key), (i + 1) * COLLECTIONS, `${key}: the last value`);
  }
  // Stream 7 under its labels of before (collections 0–3) and after the change (4, 5, shutdown).
  assert.equal(counts.get('/r/7|b'), 4);
  assert.equal(counts.get('/r/7|changed'), EXPORTS - 4);
  assert.equal(last.get('/r/7|changed'), 8 * 4);
  // Right after the change, the old series of stream 7 ends with its stale marker, whose labels
  // come from the frame that held it; the others go on.
  const justAfter = byRoute(
    await receiver.query('frames_requests_total{route=~"/r/[78]"}', changedSec + 0.5),
  );
  assert.deepEqual([...justAfter.keys()].sort(), ['/r/7|changed', '/r/8|a']);
  assert.equal(counts.get('/late|a'), EXPORTS - 3);
  assert.equal(last.get('/late|a'), 1000 * (COLLECTIONS - 3));
  const inflight = await receiver.query('count_over_time(frames_inflight[2m])', endSec + 1);
  assert.equal(inflight[0]?.value[1], String(EXPORTS));
  const atZero = await receiver.query('min_over_time(frames_inflight[2m])', endSec + 1);
  assert.equal(atZero[0]?.value[1], '0', 'the collection at zero is there');
  // Histograms: every bucket of every shard, every export; the last counts as recorded.
  const bucketSamples = await receiver.query(
    'count_over_time(frames_latency_seconds_bucket[2m])',
    endSec + 1,
  );
  assert.equal(bucketSamples.length, 20 * 4, 'bounds 0.1, 1, 10 and +Inf of 20 shards');
  for (const b of bucketSamples) assert.equal(b.value[1], String(EXPORTS), JSON.stringify(b.metric));
  const buckets = await receiver.query(
    'last_over_time(frames_latency_seconds_bucket{shard="s3"}[2m])',
    endSec + 1,
  );
  const byLe = Object.fromEntries(buckets.map((b) => [b.metric.le, Number(b.value[1])]));
  const slow = COLLECTIONS - 2;
  assert.deepEqual(
    [byLe['0.1'], byLe['1'], byLe['10'], byLe['+Inf']],
    [0, COLLECTIONS, COLLECTIONS + slow, COLLECTIONS + slow],
  );
  const sums = await receiver.query('last_over_time(frames_latency_seconds_sum{shard="s3"}[2m])', endSec + 1);
  assert.equal(Number(sums[0]?.value[1]), 0.5 * COLLECTIONS + 5 * slow);
}

const runs = [
  { kind: 'prometheus', shards: 1 },
  { kind: 'victoriametrics', shards: 1 },
  // Frames laid out by shard, one run per shard (deliver/shards.ts).
  { kind: 'prometheus', shards: 4 },
] as const;

for (const { kind, shards } of runs) {
  const { skip } = receiverOrSkip(kind);
  describe(`end to end: steady exports from frames into ${kind}, ${shards} shard(s)`, { skip }, () => {
    let receiver: Receiver;
    before(async () => {
      receiver = kind === 'prometheus' ? await startPrometheus() : await startVictoriaMetrics();
    });
    after(async () => {
      await receiver?.stop();
    });
    it(`${COLLECTIONS} collections of ${STREAMS} streams by a MeterProvider: every sample stored, with its labels`, async () => {
      const { patched, built, endSec, changedSec } = await run(receiver, shards);
      // The second collection is already a steady one: the frames of the first were built
      // between them (the counter's 200 streams and the histogram's 20 × 6 series).
      assert.equal(built[1], 0, 'the second export built no frame');
      assert.ok(patched[1]! >= STREAMS + 20 * 6, `second export: ${patched[1]} values patched`);
      // 3 rebuilds after its zero, 4 after the late stream and the change; 5 is steady again.
      assert.ok(patched[5]! >= STREAMS, `sixth export: ${patched[5]} values patched`);
      await check(receiver, endSec, changedSec);
    });
  });
}
