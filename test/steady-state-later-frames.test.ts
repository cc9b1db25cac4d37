/**
 * A metric's first export makes its frame in one of two ways (steady-state/frames.ts): a counter's
 * or gauge's sent to one shard is written into its frame as it goes (SeriesFrame.open), and that
 * frame is checked between exports; any other's is built between exports from what the export
 * sent (its peak memory must not also hold one). Both run once that export's requests are
 * delivered (LaterFrame), so that the second export is already a steady one. What the receiver
 * gets is byte for byte what the per-series path sends, whatever the order in which delivery,
 * the build and the next export come.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { Attributes } from '@opentelemetry/api';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { emptyProfile, PrometheusRemoteWriteExporter } from '../src/exporter.js';
import { SeriesFrame } from '../src/wire/series-frame.js';
import { snappyUncompress } from '../src/wire/snappy.js';
import { T0_MS, exportQueued, histogram, histogramValue, hr, resourceMetrics, sum } from './helpers/otel.js';

const OK = {
  status: 204,
  statusText: 'No Content',
  headers: { 'x-prometheus-remote-write-samples-written': '1' },
  bodyPrefix: '',
};

/** A receiver that answers when `open()` is called (at once after that), keeping the bodies. */
function gatedReceiver(): {
  post: (body: Uint8Array) => Promise<typeof OK>;
  bodies: Buffer[];
  open: () => void;
  answered: () => number;
} {
  const bodies: Buffer[] = [];
  let opened = false;
  let answered = 0;
  const waiting: Array<() => void> = [];
  return {
    bodies,
    post: async (body) => {
      bodies.push(snappyUncompress(body));
      if (!opened) await new Promise<void>((resolve) => waiting.push(resolve));
      answered++;
      return OK;
    },
    open: () => {
      opened = true;
      for (const resolve of waiting.splice(0)) resolve();
    },
    answered: () => answered,
  };
}

const STREAMS = 3_000;
const streams: Attributes[] = Array.from({ length: STREAMS }, (_, i) => ({
  pod: `p${i}`,
  zone: `z${i % 3}`,
}));
const routes: Attributes[] = Array.from({ length: 200 }, (_, i) => ({ route: `/r${i}` }));

/** Export `k`: counters and classic histograms, the same attributes objects every time (an SDK's). */
function collection(k: number, attributes: Attributes[] = streams): ResourceMetrics {
  const end = hr(T0_MS + k * 1000);
  const start = hr(T0_MS - 1000);
  const metrics: MetricData[] = [
    sum(
      { name: 'jobs' },
      attributes.map((a, i) => ({ attributes: a, startTime: start, endTime: end, value: (i % 7) + k + 1 })),
    ),
    histogram(
      { name: 'latency', unit: 's' },
      routes.map((a, i) => ({
        attributes: a,
        startTime: start,
        endTime: end,
        value: histogramValue([0.1, 1, 10], [i % 3, k + 1, 1, 0], 2.5 * (k + 1)),
      })),
    ),
  ];
  return resourceMetrics(metrics);
}

/**
 * Frames built in steps (SeriesFrame.buildSteps), frames written as a first export goes
 * (SeriesFrame.open) and values patched into them, from now on.
 */
function watchFrames(t: TestContext): { built: () => number; opened: () => number; patched: () => number } {
  const built = t.mock.method(SeriesFrame, 'buildSteps');
  const opened = t.mock.method(SeriesFrame, 'open');
  const patched = t.mock.method(SeriesFrame.prototype, 'stage');
  const b0 = built.mock.callCount();
  const o0 = opened.mock.callCount();
  const p0 = patched.mock.callCount();
  return {
    built: () => built.mock.callCount() - b0,
    opened: () => opened.mock.callCount() - o0,
    patched: () => patched.mock.callCount() - p0,
  };
}

/** The same exports through the per-series path (debug text turns frames off). */
async function perSeriesBodies(
  protocol: 'v1' | 'v2',
  inputs: ResourceMetrics[],
  options: { maxConcurrentRequests?: number; maxSamplesPerSend?: number } = {},
): Promise<Buffer[][]> {
  const out: Buffer[][] = [];
  let current: Buffer[] = [];
  const exporter = new PrometheusRemoteWriteExporter(
    { url: 'http://127.0.0.1:9/api/v1/write', protocol, debug: () => {}, ...options },
    { post: async (body) => (current.push(snappyUncompress(body)), OK) },
  );
  for (const rm of inputs) {
    current = [];
    await exportQueued(exporter, rm);
    await exporter.forceFlush();
    out.push(current);
  }
  await exporter.shutdown();
  return out;
}

/** Bodies in the order of their first bytes: shards deliver in no fixed order. */
const sorted = (bodies: Buffer[]): Buffer[] => [...bodies].sort(Buffer.compare);

function assertSameBodies(got: Buffer[], want: Buffer[], what: string): void {
  assert.equal(got.length, want.length, `${what}: requests`);
  const [a, b] = [sorted(got), sorted(want)];
  a.forEach((body, i) => assert.equal(Buffer.compare(body, b[i] as Buffer), 0, `${what}, request ${i}`));
}

/**
 * `count` collections, the bodies the per-series path sends for them, and a v1 exporter whose
 * receiver answers once opened, with its profile and the frames watched.
 */
async function gatedExports(t: TestContext, count: number) {
  t.mock.method(Date, 'now', () => T0_MS + 3_600_000);
  const inputs = Array.from({ length: count }, (_, k) => collection(k));
  const want = await perSeriesBodies('v1', inputs);
  const receiver = gatedReceiver();
  const p = emptyProfile();
  const exporter = new PrometheusRemoteWriteExporter(
    { url: 'http://127.0.0.1:9/api/v1/write', protocol: 'v1' },
    { post: receiver.post, profile: p },
  );
  return { inputs, want, receiver, p, exporter, frames: watchFrames(t) };
}

describe('frames of a first export, built between exports', () => {
  for (const protocol of ['v1', 'v2'] as const)
    for (const shards of [1, 4])
      it(`${protocol}, ${shards} shard(s): made or built once the requests are delivered; the second export patches them`, async (t) => {
        t.mock.method(Date, 'now', () => T0_MS + 3_600_000);
        const inputs = [0, 1, 2].map((k) => collection(k));
        const want = await perSeriesBodies(protocol, inputs, {
          maxConcurrentRequests: shards,
          maxSamplesPerSend: 500,
        });
        const receiver = gatedReceiver();
        const p = emptyProfile();
        const exporter = new PrometheusRemoteWriteExporter(
          {
            url: 'http://127.0.0.1:9/api/v1/write',
            protocol,
            maxConcurrentRequests: shards,
            maxSamplesPerSend: 500,
          },
          { post: receiver.post, profile: p },
        );
        const frames = watchFrames(t);
        await exportQueued(exporter, inputs[0] as ResourceMetrics);
        // With one shard, the counter's series were written into its frame by the export.
        const opened = shards === 1 ? 1 : 0;
        assert.equal(frames.opened(), opened, 'frames written as the export went');
        // Queued, not delivered: nothing is built or checked while the first export's requests are held.
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(frames.built(), 0, 'no frame built before delivery');
        assert.equal(p.framesBuilt, undefined);
        receiver.open();
        await exporter.idle();
        assert.equal(
          p.framesBuilt,
          2,
          'the counter frame (checked or built) and the histogram frame (built)',
        );
        assert.equal(frames.built(), 2 - opened);
        assertSameBodies(receiver.bodies.splice(0), want[0] as Buffer[], 'export 1');

        // RW 2.0 knows the first export's series in the frames by their identity's place: no
        // label bytes compared (wire/rw2.ts fits).
        const compared = t.mock.method(SeriesFrame.prototype, 'hasEncodedLabels');
        for (const k of [1, 2]) {
          const before = frames.patched();
          await exportQueued(exporter, inputs[k] as ResourceMetrics);
          assert.equal(compared.mock.callCount(), 0, `export ${k + 1}: label bytes compared`);
          await exporter.forceFlush();
          // Every value of every series written into the frames (the histogram's 6 series a
          // point), none built again.
          assert.ok(frames.patched() - before >= STREAMS + routes.length * 6, `export ${k + 1}: patched`);
          assert.equal(frames.built(), 2 - opened, `export ${k + 1}: no frame built`);
          assert.equal(frames.opened(), opened, `export ${k + 1}: no frame written anew`);
          assertSameBodies(receiver.bodies.splice(0), want[k] as Buffer[], `export ${k + 1}`);
        }
        await exporter.shutdown();
      });

  it('a receiver that has not answered by the next export: that export builds the frames at its end, as before', async (t) => {
    const { inputs, want, receiver, p, exporter, frames } = await gatedExports(t, 3);
    await exportQueued(exporter, inputs[0] as ResourceMetrics);
    const before2 = frames.patched();
    await exportQueued(exporter, inputs[1] as ResourceMetrics);
    // The counter's frame, written by the first export, unchecked: the second patches it whole.
    assert.equal(frames.opened(), 1);
    assert.ok(frames.patched() - before2 >= STREAMS, 'the second export patches the counter frame');
    assert.equal(frames.built(), 1, 'the histogram frame built at the end of the second export');
    receiver.open();
    await exporter.idle();
    // The first export's builds were let go when the second began (with the points they held).
    assert.equal(p.framesBuilt, undefined);
    assert.equal(p.framesBuiltMs, undefined, 'no build step ran');
    assert.equal(frames.built(), 1);
    const before = frames.patched();
    await exportQueued(exporter, inputs[2] as ResourceMetrics);
    await exporter.forceFlush();
    assert.ok(frames.patched() - before >= STREAMS, 'the third export patches the frames');
    const got = receiver.bodies.splice(0);
    assertSameBodies(got, want.flat(), 'three exports');
    await exporter.shutdown();
  });

  it('the next export called while the frames are being built: it waits for them, then patches them', async (t) => {
    const { inputs, want, receiver, p, exporter, frames } = await gatedExports(t, 2);
    await exportQueued(exporter, inputs[0] as ResourceMetrics);
    // Every look at the budget finds the slice over: the build takes many turns of the event loop.
    let clock = 0;
    t.mock.method(performance, 'now', () => (clock += 1_000));
    receiver.open();
    for (let turn = 0; turn < 1_000 && frames.built() === 0; turn++)
      await new Promise((resolve) => setImmediate(resolve));
    // The counter frame (written by the export) checked first, then the histogram frame's build.
    assert.equal(frames.built(), 1, 'the histogram frame is being built');
    assert.equal(p.framesBuilt, 1, 'and not done; the counter frame checked');
    const before = frames.patched();
    await exportQueued(exporter, inputs[1] as ResourceMetrics);
    assert.equal(p.framesBuilt, 2, 'both ready before the second export');
    assert.equal(frames.built(), 1, 'and none built by it');
    // The histogram build's check patches its frame once; the export, both once more.
    assert.ok(
      frames.patched() - before >= STREAMS + 2 * routes.length * 6,
      'the second export patched the frames',
    );
    await exporter.idle();
    assertSameBodies(receiver.bodies.splice(0), want.flat(), 'two exports');
    await exporter.shutdown();
  });

  it('a known metric whose series are all new (churn) gets no frame between exports', async (t) => {
    t.mock.method(Date, 'now', () => T0_MS + 3_600_000);
    const other: Attributes[] = streams.map((_, i) => ({ pod: `q${i}`, zone: 'z' }));
    const receiver = gatedReceiver();
    receiver.open();
    const p = emptyProfile();
    const exporter = new PrometheusRemoteWriteExporter(
      { url: 'http://127.0.0.1:9/api/v1/write', protocol: 'v1' },
      { post: receiver.post, profile: p },
    );
    await exportQueued(exporter, collection(0));
    await exporter.idle();
    assert.equal(p.framesBuilt, 2);
    await exportQueued(exporter, collection(1, other));
    await exporter.idle();
    assert.equal(p.framesBuilt, 2, 'none for the counter whose series all changed');
    await exporter.shutdown();
  });

  it('shutdown before delivery: the waiting frames are dropped, and shutdown does not wait for them', async (t) => {
    t.mock.method(Date, 'now', () => T0_MS + 3_600_000);
    const receiver = gatedReceiver();
    const p = emptyProfile();
    const exporter = new PrometheusRemoteWriteExporter(
      { url: 'http://127.0.0.1:9/api/v1/write', protocol: 'v1', shutdownTimeoutMillis: 2_000 },
      { post: receiver.post, profile: p },
    );
    const frames = watchFrames(t);
    await exportQueued(exporter, collection(0));
    const closing = exporter.shutdown();
    receiver.open();
    await closing;
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(frames.built(), 0);
    assert.equal(p.framesBuiltMs, undefined, 'no build step ran');
    assert.ok(receiver.answered() > 0, 'the first export was delivered');
  });
});
