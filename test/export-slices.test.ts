/**
 * Exports are translated in slices (exporter.ts `enqueue`): a large export lets the event loop
 * run while it is translated, exports stay in call order, and forceFlush() and shutdown() wait
 * for what was called before them. A small export is still queued before export() returns. How
 * long a slice is lives in the benchmark (longest event-loop block), not here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode } from '@opentelemetry/core';
import { PrometheusRemoteWriteExporter } from '../src/index.js';
import { labelsOf, startMockReceiver, type MockReceiver } from './helpers/mock-receiver.js';
import { point, resourceMetrics, sum } from './helpers/otel.js';

const NOW = Date.now();

function counters(n: number, ms: number, value: number) {
  const points = Array.from({ length: n }, (_, i) => point(value, { worker: `w${i}` }, ms, ms - 60_000));
  return resourceMetrics([sum({ name: 'jobs' }, points)], { 'service.name': 'slices' });
}

/** Samples received per series, in arrival order: `w1` → [[timestamp, value], …]. */
function received(receiver: MockReceiver): Map<string, Array<[number, number]>> {
  const out = new Map<string, Array<[number, number]>>();
  for (const r of receiver.requests)
    for (const s of r.decoded.timeseries) {
      const key = labelsOf(s)['worker'] ?? '';
      const list = out.get(key) ?? [];
      for (const x of s.samples) list.push([x.timestamp, x.value]);
      out.set(key, list);
    }
  return out;
}

describe('exports translated in slices', () => {
  let receiver: MockReceiver;
  before(async () => {
    receiver = await startMockReceiver();
  });
  after(() => receiver.close());

  it('a first export of 50,000 series lets timers run before it is called back', async () => {
    const exporter = new PrometheusRemoteWriteExporter({ url: receiver.url, withoutTargetInfo: true });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    let returned = false;
    let calledBackBeforeReturn = false;
    const result = await new Promise<ExportResult>((resolve) => {
      exporter.export(counters(50_000, NOW, 1), (r) => {
        calledBackBeforeReturn = !returned;
        resolve(r);
      });
      returned = true;
    });
    clearInterval(timer);
    assert.equal(result.code, ExportResultCode.SUCCESS);
    assert.equal(calledBackBeforeReturn, false, 'called back after export() returned');
    assert.ok(ticks > 0, 'the event loop ran timers during the export');
    await exporter.shutdown();
  });

  it('a timer due when export() returns fires before the export goes on', async (t) => {
    // The first slice runs in the caller's turn (here a timer's); the next must wait for the
    // timers' next turn, not run back to back with it in the event loop's check phase.
    const exporter = new PrometheusRemoteWriteExporter({ url: receiver.url, withoutTargetInfo: true });
    // Every slice reads the clock when it starts (exporter.ts translateWaiting).
    const now = t.mock.method(performance, 'now');
    let callsAtReturn = -1;
    let callsAtTimer = -1;
    const done = new Promise<ExportResult>((resolve) => {
      setTimeout(() => {
        setTimeout(() => (callsAtTimer = now.mock.callCount()), 0);
        exporter.export(counters(50_000, NOW, 1), resolve);
        callsAtReturn = now.mock.callCount();
      }, 0);
    });
    const result = await done;
    assert.equal(result.code, ExportResultCode.SUCCESS);
    assert.ok(callsAtReturn > 0, 'the first slice ran in export()');
    assert.equal(callsAtTimer, callsAtReturn, 'no slice ran between export() returning and the timer');
    assert.ok(now.mock.callCount() > callsAtTimer, 'the export went on after the timer');
    await exporter.shutdown();
  });

  it('a small export is queued before export() returns, as before', async (t) => {
    const exporter = new PrometheusRemoteWriteExporter({ url: receiver.url, withoutTargetInfo: true });
    let result: ExportResult | undefined;
    // The clock held still while export() runs: a collection of the test process's heap falling
    // in the slice must not end it (the slice's length is bench/blocks.ts's to measure). What is
    // tested is that the first slice runs in the caller's turn and takes a small export whole.
    const now = performance.now();
    const clock = t.mock.method(performance, 'now', () => now);
    try {
      exporter.export(counters(10, NOW, 1), (r) => (result = r));
    } finally {
      clock.mock.restore();
    }
    try {
      assert.equal(result?.code, ExportResultCode.SUCCESS);
    } finally {
      // Delivered before the next test counts what its receiver got.
      await exporter.shutdown();
    }
  });

  it('exports stay in call order, and forceFlush() waits for those still being translated', async () => {
    receiver.requests.length = 0;
    const exporter = new PrometheusRemoteWriteExporter({ url: receiver.url, withoutTargetInfo: true });
    const order: string[] = [];
    // A large first export, then two small ones called at once, while it is being translated.
    exporter.export(counters(30_000, NOW, 1), () => order.push('large'));
    exporter.export(counters(30_000, NOW + 1000, 2), () => order.push('second'));
    exporter.export(counters(30_000, NOW + 2000, 3), () => order.push('third'));
    await exporter.forceFlush();
    assert.deepEqual(order, ['large', 'second', 'third']);
    const samples = received(receiver);
    assert.equal(samples.size, 30_000, 'every series arrived');
    for (const [worker, list] of samples) {
      assert.deepEqual(
        list,
        [
          [NOW, 1],
          [NOW + 1000, 2],
          [NOW + 2000, 3],
        ],
        worker,
      );
    }
    await exporter.shutdown();
  });

  it('a result callback that throws does not stop the exports behind it', async () => {
    receiver.requests.length = 0;
    const exporter = new PrometheusRemoteWriteExporter({ url: receiver.url, withoutTargetInfo: true });
    let second: ExportResult | undefined;
    exporter.export(counters(20_000, NOW, 1), () => {
      throw new Error("the caller's bug");
    });
    exporter.export(counters(20_000, NOW + 1000, 2), (r) => (second = r));
    await exporter.forceFlush();
    assert.equal(second?.code, ExportResultCode.SUCCESS);
    assert.equal(received(receiver).get('w0')?.length, 2);
    await exporter.shutdown();
  });

  it('shutdown() right after a large export: that export is still translated and delivered', async () => {
    receiver.requests.length = 0;
    const exporter = new PrometheusRemoteWriteExporter({ url: receiver.url, withoutTargetInfo: true });
    const result = new Promise<ExportResult>((resolve) => exporter.export(counters(40_000, NOW, 7), resolve));
    await exporter.shutdown();
    assert.equal((await result).code, ExportResultCode.SUCCESS);
    assert.equal(received(receiver).size, 40_000);
    // After shutdown, an export fails at once.
    const late = await new Promise<ExportResult>((resolve) => exporter.export(counters(1, NOW, 1), resolve));
    assert.equal(late.code, ExportResultCode.FAILED);
  });
});
