/**
 * Encoded runs to shards (deliver/shards.ts): a frame laid out by shard (steady-state/frames.ts
 * layoutByShard) goes to each shard as one run; a block without that layout is split group by
 * group. Either way every series lands in the shard its hash picks, in its own order, and the
 * series of one group (a histogram point) stay together.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Chunker, type Chunk } from '../src/deliver/batching.js';
import { addShardedRun, shardHashOfKey, shardHashOfLabels } from '../src/deliver/shards.js';
import type { Label } from '../src/model.js';
import { layoutByShard } from '../src/steady-state/frames.js';
import { keyOf, newRecord } from '../src/steady-state/series-record.js';
import { encodeLabelFields } from '../src/wire/label-fields.js';
import { SeriesFrame } from '../src/wire/series-frame.js';

const SHARDS = 4;
const FAMILY = 'latency_seconds';

/** `points` points of `width` series each: `_bucket` series with `le`, then `_count`. */
function labelsOfPoints(points: number, width: number): Label[][] {
  const out: Label[][] = [];
  for (let p = 0; p < points; p++)
    for (let j = 0; j < width; j++) {
      const last = j === width - 1;
      out.push([
        { name: '__name__', value: last ? `${FAMILY}_count` : `${FAMILY}_bucket` },
        ...(last ? [] : [{ name: 'le', value: String(j) }]),
        { name: 'route', value: `/r/${p}` },
      ]);
    }
  return out;
}

function key(labels: readonly Label[]): string {
  return labels.map((l) => `${l.name}=${l.value}`).join(',');
}

/** Per shard: the series it got, in order, and how many runs. */
function distribute(frame: SeriesFrame, width: number): Array<{ series: string[]; runs: number }> {
  const got = Array.from({ length: SHARDS }, () => ({ series: [] as string[], runs: 0 }));
  const chunkers = got.map(
    (shard) =>
      new Chunker({ maxSamples: 1e9, maxBytes: 1e9 }, (chunk: Chunk) => {
        for (const run of chunk.runs) {
          shard.runs++;
          for (let i = run.from; i < run.to; i++) shard.series.push(key(frame.labelsOf(i)));
        }
      }),
  );
  addShardedRun(chunkers, frame, 0, frame.count, width);
  for (const c of chunkers) c.flush();
  return got;
}

function expected(labels: readonly Label[][], width: number): string[][] {
  const out: string[][] = Array.from({ length: SHARDS }, () => []);
  for (let i = 0; i < labels.length; i += width) {
    const shard = shardHashOfLabels(FAMILY, labels[i] as Label[]) % SHARDS;
    for (let j = 0; j < width; j++) out[shard]!.push(key(labels[i + j] as Label[]));
  }
  return out;
}

describe('the shard hash', () => {
  it('is the same from the encoded labels and from the labels, and leaves out __name__ and le', () => {
    const labels = labelsOfPoints(1, 3);
    const hashes = labels.map((l) => shardHashOfKey(FAMILY, encodeLabelFields(l)));
    assert.deepEqual(
      labels.map((l) => shardHashOfLabels(FAMILY, l)),
      hashes,
    );
    assert.equal(new Set(hashes).size, 1, 'the series of one point share a shard');
    const other = [
      { name: '__name__', value: `${FAMILY}_count` },
      { name: 'route', value: '/r/1' },
    ];
    assert.notEqual(shardHashOfLabels(FAMILY, other), hashes[0], 'another point');
    assert.notEqual(shardHashOfLabels('other', labels[2]!), hashes[0], 'another family');
    // A long label value (its length varint takes two bytes) is read past correctly.
    const long = [
      { name: 'a', value: 'x'.repeat(300) },
      { name: 'le', value: '1' },
    ];
    assert.equal(
      shardHashOfLabels(FAMILY, long),
      shardHashOfLabels(FAMILY, [{ name: 'a', value: 'x'.repeat(300) }]),
    );
  });
});

describe('encoded runs to shards', () => {
  for (const width of [1, 3]) {
    const labels = labelsOfPoints(60, width);
    const keys = labels.map(encodeLabelFields);
    const values = labels.map((_, i) => i + 1);
    const want = expected(labels, width);

    it(`a frame laid out by shard: one run per shard, every series where its hash says (groups of ${width})`, () => {
      const records = keys.map((k) => newRecord(k, FAMILY, true));
      const layout = layoutByShard(records, width, {
        count: SHARDS,
        of: (r) => shardHashOfKey(r.family, keyOf(r)) % SHARDS,
      });
      const frame = SeriesFrame.build(FAMILY, keys, values, 1_700_000_000_000, { layout });
      const got = distribute(frame, width);
      assert.deepEqual(
        got.map((g) => g.series),
        want,
      );
      assert.deepEqual(
        got.map((g) => g.runs),
        want.map((w) => (w.length > 0 ? 1 : 0)),
      );
      // `set` still addresses series by their own index: series 5 carries its value wherever it sits.
      frame.set(5, 42.5);
      const slot = frame.slotOf(5);
      const start = slot === 0 ? 0 : frame.ends[slot - 1]!;
      assert.equal(
        frame.bytes.subarray(start, frame.ends[slot]).includes(Buffer.from(new Float64Array([42.5]).buffer)),
        true,
      );
    });

    it(`a block without that layout: split group by group, to the same shards (groups of ${width})`, () => {
      const frame = SeriesFrame.build(FAMILY, keys, values, 1_700_000_000_000);
      assert.equal(frame.shardEnds, undefined);
      const got = distribute(frame, width);
      assert.deepEqual(
        got.map((g) => g.series),
        want,
      );
    });
  }
});
