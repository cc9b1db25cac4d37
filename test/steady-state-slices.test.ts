/**
 * The steady state at sizes where its storage is split (MetricStreams keeps positions in chunks
 * of 16,384; SeriesState keeps records in a hash table split 64 ways, record-index.ts) and its work is cut into
 * the smallest slices (every look at the budget says the slice is up): the request bodies are
 * still byte for byte those of the per-series path, export after export.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Attributes } from '@opentelemetry/api';
import type { DataPoint, Histogram, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import { PrometheusRemoteWriteExporter } from '../src/exporter.js';
import { RecordIndex, type KeyTest } from '../src/steady-state/record-index.js';
import { keyHash } from '../src/wire/key-hash.js';
import { SeriesState } from '../src/steady-state/series-state.js';
import * as record from '../src/steady-state/series-record.js';
import { encodeLabelFields } from '../src/wire/label-fields.js';
import { SeriesFrame } from '../src/wire/series-frame.js';
import { snappyUncompress } from '../src/wire/snappy.js';
import { T0_MS, histogram, hr, resourceMetrics, sum } from './helpers/otel.js';

/**
 * An entry with a key, and a hash that may be forced (`near`): then all such hashes fall in one
 * part of the index with a home slot from `near` (runs that overlap, wrap around the table and
 * grow it; half of them negative numbers), and equal `near`s collide outright.
 */
class Entry {
  readonly keyHash: number;
  constructor(
    readonly key: string,
    readonly value: number,
    near: number | undefined,
  ) {
    this.keyHash = near === undefined ? keyHash(key) : (near << 6) | 5 | (near & 1 ? 1 << 31 : 0);
  }
}

const ENTRY_KEYS: KeyTest<Entry> = {
  hasKey: (e, key) => key === e.key,
  hasKeyBytes: (e, bytes, from, length) =>
    Buffer.from(bytes.subarray(from, from + length)).toString('latin1') === e.key,
};

describe('RecordIndex', () => {
  it('keyHash tells apart keys that differ in one character anywhere, or in length', () => {
    const base = encodeLabelFields([
      { name: '__name__', value: 'http_server_requests_total' },
      { name: 'pod', value: 'checkout-7f9c6d5b8-x2k4p' },
      { name: 'route', value: '/api/v1/orders/{id}' },
    ]);
    const hashes = new Set([keyHash(base)]);
    for (let i = 0; i < base.length; i++) {
      const changed = base.slice(0, i) + String.fromCharCode(base.charCodeAt(i) ^ 1) + base.slice(i + 1);
      hashes.add(keyHash(changed));
    }
    for (let cut = 1; cut <= 5; cut++) hashes.add(keyHash(base.slice(0, -cut)));
    assert.equal(hashes.size, 1 + base.length + 5);
  });

  it('gives back the room of a part that deletions left mostly empty, in steps, and still finds what is left', () => {
    const index = new RecordIndex<Entry>(ENTRY_KEYS);
    const entries = Array.from({ length: 20_000 }, (_, i) => new Entry(`series ${i}`, i, undefined));
    for (const e of entries) index.add(e);
    const slots = () =>
      (index as unknown as { parts: Array<{ table: Int32Array; entries: unknown[] }> }).parts.reduce(
        (sum, p) => sum + p.table.length / 2 + p.entries.length,
        0,
      );
    const grown = slots();
    for (const e of index.values()) if (e.value % 100 !== 0) index.delete(e);
    assert.equal(index.size, 200);
    let pauses = 0;
    for (const _ of index.shrinkSteps(() => true)) pauses++;
    assert.ok(pauses >= 32, `${pauses} pauses`);
    assert.ok(slots() * 20 < grown, `${slots()} slots and places left of ${grown}`);
    for (const e of entries) assert.equal(index.get(e.key, e.keyHash), e.value % 100 === 0 ? e : undefined);
    // And it grows again as before.
    for (const e of entries) if (e.value % 100 !== 0) index.add(e);
    for (const e of entries) assert.equal(index.get(e.key, e.keyHash), e);
  });

  it('makes room for many new entries at once, in steps, one part a step', () => {
    const index = new RecordIndex<Entry>(ENTRY_KEYS);
    const entries = Array.from({ length: 20_000 }, (_, i) => new Entry(`series ${i}`, i, undefined));
    for (const e of entries.slice(0, 1_000)) index.add(e);
    const tables = () =>
      (index as unknown as { parts: Array<{ table: Int32Array }> }).parts.map((p) => p.table);
    let pauses = 0;
    for (const _ of index.reserveSteps(19_000, () => true)) pauses++;
    assert.equal(pauses, 64, 'every part grown, a pause after each');
    const reserved = tables();
    for (const e of entries.slice(1_000)) index.add(e);
    // No part had to grow again as the entries came (a part's hashes are its share, and a little over).
    const grownAgain = tables().filter((t, i) => t !== reserved[i]).length;
    assert.ok(grownAgain <= 2, `${grownAgain} parts grew again`);
    for (const e of entries) assert.equal(index.get(e.key, e.keyHash), e);
  });

  it('SeriesState: when most series end, each gets its stale marker once and the index gives back their room', () => {
    const state = new SeriesState();
    const seriesOf = (n: number, ms: number) =>
      Array.from({ length: n }, (_, i) => {
        const labels = [
          { name: '__name__', value: 'jobs_total' },
          { name: 'id', value: `s${i}` },
        ];
        return {
          key: encodeLabelFields(labels),
          labels,
          family: 'jobs',
          samples: [{ value: i, timestampMs: ms }],
        };
      });
    const room = () =>
      (
        state as unknown as { records: { parts: Array<{ table: Int32Array; entries: unknown[] }> } }
      ).records.parts.reduce((sum, p) => sum + p.table.length / 2 + p.entries.length, 0);
    assert.deepEqual(state.admit(seriesOf(20_000, T0_MS), T0_MS), []);
    const grown = room();
    const stale = state.admit(seriesOf(100, T0_MS + 1000), T0_MS + 1000);
    assert.equal(stale.length, 19_900);
    assert.equal(new Set(stale.map((s) => s.key)).size, 19_900);
    assert.equal(state.size, 100);
    assert.ok(room() * 20 < grown, `${room()} slots and places left of ${grown}`);
    assert.deepEqual(state.admit(seriesOf(100, T0_MS + 2000), T0_MS + 2000), []);
  });

  it('answers as one Map by key would, through adds, deletes (also while iterating), shrinks and clears, with colliding hashes', () => {
    const key = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.integer({ min: 0, max: 300 }).map((i) => `\n\u0008__name__\u0012\u0004jobs\n\u0003pod\u0012${i}`),
    );
    // Mostly adds, so that a part of the index grows past its first sizes between clears.
    const op = fc.oneof(
      {
        weight: 12,
        arbitrary: fc.record({
          add: key,
          value: fc.integer(),
          near: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
        }),
      },
      { weight: 4, arbitrary: fc.record({ delete: key }) },
      { weight: 1, arbitrary: fc.record({ sweep: fc.integer({ min: 2, max: 5 }) }) },
      { weight: 1, arbitrary: fc.constant({ clear: true }) },
      { weight: 1, arbitrary: fc.constant({ shrink: true }) },
      { weight: 1, arbitrary: fc.record({ reserve: fc.integer({ min: 0, max: 3_000 }) }) },
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 100, maxLength: 400 }), (ops) => {
        const index = new RecordIndex<Entry>(ENTRY_KEYS);
        const model = new Map<string, Entry>();
        for (const o of ops) {
          if ('add' in o) {
            // As SeriesState does: a key is added once, while it is not there.
            const there = model.get(o.add);
            assert.equal(index.get(o.add, there?.keyHash ?? keyHash(o.add)), there);
            if (there !== undefined) continue;
            const entry = new Entry(o.add, o.value, o.near);
            index.add(entry);
            model.set(o.add, entry);
          } else if ('delete' in o) {
            const there = model.get(o.delete);
            if (there !== undefined) assert.equal(index.delete(there), model.delete(o.delete));
            else assert.equal(index.delete(new Entry(o.delete, 0, undefined)), false);
          } else if ('sweep' in o) {
            // As SeriesState.admit does: delete entries while iterating.
            for (const e of index.values()) if (e.value % o.sweep === 0) index.delete(e);
            for (const [k, e] of model) if (e.value % o.sweep === 0) model.delete(k);
          } else if ('shrink' in o) {
            for (const _ of index.shrinkSteps(() => true));
          } else if ('reserve' in o) {
            for (const _ of index.reserveSteps(o.reserve, () => true));
          } else {
            index.clear();
            model.clear();
          }
          assert.equal(index.size, model.size);
        }
        for (const [k, e] of model) {
          assert.equal(index.get(k, e.keyHash), e);
          // By its bytes too, wherever they are held, for a key of one byte a character.
          if ([...k].every((c) => c.charCodeAt(0) < 256)) {
            const held = Buffer.from(`..${k}.`, 'latin1');
            assert.equal(index.getBytes(held, 2, k.length, e.keyHash), e);
          }
        }
        const keys = (entries: Iterable<Entry>) => [...entries].map((e) => e.key).sort();
        assert.deepEqual(keys(index.values()), keys(model.values()));
      }),
      { numRuns: 200 },
    );
  });
});

describe('a record whose frame holds its key', () => {
  it("reads its key, labels and size from the frame, at the frame's slot, zero values and long labels included", () => {
    const labels = Array.from({ length: 40 }, (_, i) => [
      { name: '__name__', value: 'jobs_total' },
      { name: 'pod', value: i % 3 === 0 ? `ünïcode-${i}` : `p${i}`.padEnd(i % 5 === 0 ? 200 : 3, 'x') },
    ]);
    const keys = labels.map((l) => encodeLabelFields(l));
    const values = keys.map((_, i) => (i % 4 === 0 ? 0 : i + 0.5));
    // Laid out in another order than the records' (as by shard): slot ≠ index.
    const position = Int32Array.from(keys, (_, i) => (i * 7) % keys.length);
    const frame = SeriesFrame.build('jobs_total', keys, values, T0_MS, {
      layout: { position, shardEnds: Int32Array.of(keys.length) },
    });
    const records = keys.map((key) => record.newRecord(key, 'jobs_total', true));
    records.forEach((r, i) => record.settle(r, frame, frame.slotOf(i)));
    records.forEach((r, i) => {
      assert.equal(record.keyOf(r), keys[i]);
      assert.equal(r.keyHash, keyHash(keys[i]!));
      assert.ok(record.hasKey(r, keys[i]!));
      assert.ok(!record.hasKey(r, keys[(i + 1) % keys.length]!));
      assert.ok(!record.hasKey(r, keys[i]!.slice(0, -1)));
      const bytes = Buffer.from(`xy${keys[i]!}`, 'latin1');
      assert.ok(record.hasKeyBytes(r, bytes, 2, keys[i]!.length));
      assert.ok(!record.hasKeyBytes(r, bytes, 1, keys[i]!.length));
      assert.equal(r.where, frame, 'the frame holds its key');
      assert.deepEqual(record.labelsOf(r), labels[i]);
    });
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
      const patched = t.mock.method(SeriesFrame.prototype, 'stage');
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

describe('requests encoded between looks at the budget', () => {
  it('a steady export of 40 requests made of frames looks at the budget after each request it encodes', async (t) => {
    t.mock.method(Date, 'now', () => T0_MS + 3_600_000);
    const streams: Attributes[] = Array.from({ length: 20_000 }, (_, i) => ({ pod: `p${i}` }));
    const collection = (k: number): ResourceMetrics =>
      resourceMetrics([
        sum(
          { name: 'jobs' },
          streams.map((attributes, i) => ({
            attributes,
            startTime: hr(T0_MS - 1000),
            endTime: hr(T0_MS + k * 1000),
            value: i + k + 1,
          })),
        ),
      ]);
    const exporter = new PrometheusRemoteWriteExporter(
      { url: 'http://127.0.0.1:9/api/v1/write', protocol: 'v1', maxSamplesPerSend: 500 },
      {
        post: async () => ({
          status: 204,
          statusText: 'No Content',
          headers: { 'x-prometheus-remote-write-samples-written': '1' },
          bodyPrefix: '',
        }),
      },
    );
    for (let k = 0; k < 2; k++) {
      await new Promise<void>((resolve) => exporter.export(collection(k), () => resolve()));
      await exporter.forceFlush();
      await exporter.idle();
    }
    // Every look at the budget finds the slice over, from now on.
    let clock = 0;
    t.mock.method(performance, 'now', () => (clock += 1_000));
    const queued = t.mock.method(
      (exporter as unknown as { queue: { push: (...args: unknown[]) => unknown } }).queue,
      'push',
    );
    // Requests queued in each turn of the event loop.
    const perTurn: number[] = [];
    let exporting = true;
    let before = 0;
    const turn = (): void => {
      perTurn.push(queued.mock.callCount() - before);
      before = queued.mock.callCount();
      if (exporting) setImmediate(turn);
    };
    setImmediate(turn);
    await new Promise<void>((resolve) => exporter.export(collection(2), () => resolve()));
    exporting = false;
    perTurn.push(queued.mock.callCount() - before);
    assert.equal(queued.mock.callCount(), 40, 'requests of the export');
    // The last request handed over while translating and the one the final flush closes may
    // share a turn (no look after the last request pending: exporter.ts queueClosed).
    assert.ok(Math.max(...perTurn) <= 2, `requests queued in one turn: ${perTurn.join(' ')}`);
    await exporter.shutdown();
  });
});

describe('a steady export of classic histograms between looks at the budget', () => {
  it('patches at most 4,096 series between two looks, a point being 14 series (11 bounds, +Inf, sum, count)', async (t) => {
    t.mock.method(Date, 'now', () => T0_MS + 3_600_000);
    const bounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    const streams: Attributes[] = Array.from({ length: 3_000 }, (_, i) => ({ pod: `p${i}` }));
    const collection = (k: number): ResourceMetrics =>
      resourceMetrics([
        histogram(
          { name: 'latency', unit: 's' },
          streams.map((attributes, i) => ({
            attributes,
            startTime: hr(T0_MS - 1000),
            endTime: hr(T0_MS + k * 1000),
            value: {
              buckets: {
                boundaries: bounds,
                counts: bounds.map((_, b) => (b === i % 12 ? k + 1 : 1)).concat(k + 2),
              },
              count: bounds.length + 2 * k + 2,
              sum: 3 * (k + 1),
            } as Histogram,
          })),
        ),
      ]);
    const exporter = new PrometheusRemoteWriteExporter(
      { url: 'http://127.0.0.1:9/api/v1/write', protocol: 'v1' },
      {
        post: async () => ({
          status: 204,
          statusText: 'No Content',
          headers: { 'x-prometheus-remote-write-samples-written': '1' },
          bodyPrefix: '',
        }),
      },
    );
    for (let k = 0; k < 2; k++) {
      await new Promise<void>((resolve) => exporter.export(collection(k), () => resolve()));
      await exporter.forceFlush();
      await exporter.idle();
    }
    // Every look at the budget finds the slice over, from now on. A series patched is a `set`.
    let clock = 0;
    t.mock.method(performance, 'now', () => (clock += 1_000));
    let sets = 0;
    const set = SeriesFrame.prototype.set;
    SeriesFrame.prototype.set = function (this: SeriesFrame, index: number, value: number): void {
      sets++;
      set.call(this, index, value);
    };
    t.after(() => {
      SeriesFrame.prototype.set = set;
    });
    const perTurn: number[] = [];
    let exporting = true;
    let before = 0;
    const turn = (): void => {
      perTurn.push(sets - before);
      before = sets;
      if (exporting) setImmediate(turn);
    };
    setImmediate(turn);
    await new Promise<void>((resolve) => exporter.export(collection(2), () => resolve()));
    exporting = false;
    perTurn.push(sets - before);
    assert.equal(sets, 3_000 * 14, 'every series patched in its frame');
    assert.ok(
      Math.max(...perTurn) <= 4_096,
      `series patched in one turn: ${perTurn.filter((n) => n > 0).join(' ')}`,
    );
    await exporter.shutdown();
  });
});
