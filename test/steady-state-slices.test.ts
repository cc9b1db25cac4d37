/**
 * The steady state at sizes where its storage is split (MetricStreams keeps positions in chunks
 * of 16,384; SeriesState keeps records in a split map, record-index.ts) and its work is cut into
 * the smallest slices (every look at the budget says the slice is up): the request bodies are
 * still byte for byte those of the per-series path, export after export.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Attributes } from '@opentelemetry/api';
import type { DataPoint, Histogram, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import { PrometheusRemoteWriteExporter } from '../src/exporter.js';
import { RecordIndex } from '../src/steady-state/record-index.js';
import { SeriesFrame } from '../src/wire/series-frame.js';
import { snappyUncompress } from '../src/wire/snappy.js';
import { T0_MS, histogram, hr, resourceMetrics, sum } from './helpers/otel.js';

describe('RecordIndex', () => {
  it('answers as one Map would, through sets, deletes (also while iterating) and clears', () => {
    const key = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.integer({ min: 0, max: 300 }).map((i) => `\n\u0008__name__\u0012\u0004jobs\n\u0003pod\u0012${i}`),
    );
    const op = fc.oneof(
      fc.record({ set: key, value: fc.integer() }),
      fc.record({ delete: key }),
      fc.record({ sweep: fc.integer({ min: 2, max: 5 }) }),
      fc.constant({ clear: true }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const index = new RecordIndex<number>();
        const model = new Map<string, number>();
        for (const o of ops) {
          if ('set' in o) {
            index.set(o.set, o.value);
            model.set(o.set, o.value);
          } else if ('delete' in o) {
            assert.equal(index.delete(o.delete), model.delete(o.delete));
          } else if ('sweep' in o) {
            // As SeriesState.admit does: delete entries while iterating.
            for (const [k, v] of index.entries()) if (v % o.sweep === 0) index.delete(k);
            for (const [k, v] of model) if (v % o.sweep === 0) model.delete(k);
          } else {
            index.clear();
            model.clear();
          }
          assert.equal(index.size, model.size);
        }
        for (const [k, v] of model) assert.equal(index.get(k), v);
        const entries = [...index.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
        assert.deepEqual(
          entries,
          [...model].sort(([a], [b]) => (a < b ? -1 : 1)),
        );
        assert.deepEqual([...index.values()].sort(), [...model.values()].sort());
      }),
      { numRuns: 200 },
    );
  });
});

/**
 * A counter of up to 40,000 streams (three storage chunks) and a histogram of 1,500 points (7
 * series each), export by export: the same, then fewer (the last chunk trimmed, stale markers),
 * more again, attributes changed in place on either side of chunk boundaries, zeros.
 */
function bigLife(): Array<() => ResourceMetrics> {
  const streams: Attributes[] = Array.from({ length: 40_000 }, (_, i) => ({
    pod: `p${i}`,
    zone: `z${i % 3}`,
  }));
  const hStreams: Attributes[] = Array.from({ length: 1_500 }, (_, i) => ({ route: `/r${i}` }));
  const bounds = [0.1, 1, 10, 100, 1000];
  const sizes = [40_000, 40_000, 40_000, 20_000, 20_000, 40_000, 40_000, 40_000, 40_000];
  // Changed in place: the first positions of the second and third chunks, then the last ones of
  // the first and second (each export's first change ends its frame's run of matches).
  const changed: Record<number, number[]> = { 6: [16_384, 32_768], 7: [16_383, 32_767] };
  return sizes.map((size, k) => () => {
    for (const i of changed[k] ?? []) (streams[i] as Record<string, string>)['zone'] = `moved${k}`;
    const end = hr(T0_MS + k * 1000);
    const points = streams.slice(0, size).map((attributes, i) => ({
      attributes,
      startTime: hr(T0_MS - 1000),
      endTime: end,
      // Zeros at a few positions in some exports: those series leave the frame, then come back.
      value: k === 2 && i % 5000 === 7 ? 0 : (i % 97) + k + 1,
    }));
    const hPoints: DataPoint<Histogram>[] = hStreams.map((attributes, i) => {
      const counts = bounds.map((_, b) => (b + 1) * (k + 1) + (i % 7)).concat([k]);
      return {
        attributes,
        startTime: hr(T0_MS - 1000),
        endTime: end,
        value: {
          buckets: { boundaries: bounds, counts },
          count: counts.reduce((x, y) => x + y, 0),
          sum: i + k * 0.5,
        },
      };
    });
    return resourceMetrics([
      sum({ name: 'jobs' }, points),
      histogram({ name: 'latency', unit: 's' }, hPoints),
    ]);
  });
}

describe('the steady state in the smallest slices', () => {
  for (const protocol of ['v1', 'v2'] as const)
    it(`${protocol}: up to 40,000 streams, every look at the budget a pause: the bytes of the per-series path`, async (t) => {
      t.mock.method(Date, 'now', () => T0_MS + 3_600_000);
      // Every look at the budget finds the slice over: the exporter pauses at every chance.
      let clock = 0;
      t.mock.method(performance, 'now', () => (clock += 1_000));
      const patched = t.mock.method(SeriesFrame.prototype, 'set');
      const ok = {
        status: 204,
        statusText: 'No Content',
        headers: { 'x-prometheus-remote-write-samples-written': '1' },
        bodyPrefix: '',
      };
      const sent: Buffer[][] = [[], []];
      const exporters = [{}, { debug: () => {} }].map(
        (extra, which) =>
          new PrometheusRemoteWriteExporter(
            { url: 'http://127.0.0.1:9/api/v1/write', markStaleWhenMissing: true, protocol, ...extra },
            { post: async (body) => (sent[which]!.push(snappyUncompress(body)), ok) },
          ),
      );
      const life = bigLife();
      for (let k = 0; k < life.length; k++) {
        const rm = (life[k] as () => ResourceMetrics)();
        for (const exporter of exporters) {
          // Turns of the event loop while the export runs: one immediate per turn.
          let turns = 0;
          let exporting = true;
          const turn = (): void => {
            turns++;
            if (exporting) setImmediate(turn);
          };
          setImmediate(turn);
          await new Promise<void>((resolve) => exporter.export(rm, () => resolve()));
          exporting = false;
          if (exporter === exporters[0])
            assert.ok(turns > 10, `export ${k}: the event loop ran ${turns} times`);
          await exporter.forceFlush();
        }
        const [framed, perSeries] = sent as [Buffer[], Buffer[]];
        assert.equal(framed.length, perSeries.length, `export ${k}: requests`);
        framed.forEach((body, i) =>
          assert.equal(Buffer.compare(body, perSeries[i]!), 0, `export ${k}, request ${i}`),
        );
        sent[0] = [];
        sent[1] = [];
      }
      for (const exporter of exporters) await exporter.shutdown();
      // The framed exporter did take its steady state from frames.
      assert.ok(
        patched.mock.callCount() > 150_000,
        `values written into frames: ${patched.mock.callCount()}`,
      );
    });
});
