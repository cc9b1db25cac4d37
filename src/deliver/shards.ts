/**
 * Which shard a series goes to (RW1 §Ordering: one request in flight per shard keeps every series
 * in order), by a hash of its family and labels, the same whether the series comes as an object
 * or inside an encoded block. Knows nothing of OTel.
 */
import type { EncodedSeriesBlock, Label } from '../model.js';
import { encodeLabelFields } from '../wire/label-fields.js';
import type { Chunker } from './batching.js';

/**
 * Series `from`…`to` of an encoded block, each to its shard's Chunker. A frame laid out by shard
 * (steady-state/frames.ts) is one run per shard; any other block is split group by group.
 */
export function addShardedRun(
  chunkers: readonly Chunker[],
  block: EncodedSeriesBlock,
  from: number,
  to: number,
  group: number,
): void {
  const ends = block.shardEnds;
  if (ends !== undefined && ends.length === chunkers.length) {
    for (let k = 0; k < ends.length; k++) {
      const lo = Math.max(from, k === 0 ? 0 : (ends[k - 1] as number));
      const hi = Math.min(to, ends[k] as number);
      if (lo < hi) (chunkers[k] as Chunker).addRun(block, lo, hi, group);
    }
    return;
  }
  let start = from;
  let shard = -1;
  for (let i = from; i < to; i += group) {
    const k = shardHashOfLabels(block.family, block.labelsOf(i)) % chunkers.length;
    if (k !== shard && i > start) (chunkers[shard] as Chunker).addRun(block, start, i, group);
    if (k !== shard) start = i;
    shard = k;
  }
  if (to > start) (chunkers[shard] as Chunker).addRun(block, start, to, group);
}

/**
 * FNV-1a, 32 bits, of the family and the encoded fields (wire/label-fields.ts, a latin1 string)
 * of the labels other than `__name__` and `le`, so that the series of one histogram point share
 * a shard. Read from the encoding the per-series state keeps anyway: decoding the labels of a
 * million series to hash them would cost both time and the memory of the decoded labels.
 */
export function shardHashOfKey(family: string, key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < family.length; i++) h = Math.imul(h ^ family.charCodeAt(i), 0x01000193);
  h = Math.imul(h, 0x01000193);
  let i = 0;
  while (i < key.length) {
    // A `Label` field: tag, length varint, then `name` (tag, length, bytes) and `value`.
    i++;
    let length = 0;
    let shift = 0;
    let b: number;
    do {
      b = key.charCodeAt(i++);
      length += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b >= 0x80);
    const end = i + length;
    if (!isNameOrLe(key, i)) for (let j = i; j < end; j++) h = Math.imul(h ^ key.charCodeAt(j), 0x01000193);
    i = end;
  }
  return h >>> 0;
}

/** The same for labels not encoded yet: the hash of their encoding. */
export function shardHashOfLabels(family: string, labels: readonly Label[]): number {
  return shardHashOfKey(family, encodeLabelFields(labels));
}

/** Whether the `Label` message at `at` is named `__name__` or `le` (names are under 128 bytes then). */
function isNameOrLe(key: string, at: number): boolean {
  if (key.charCodeAt(at) !== 0x0a) return false;
  const n = key.charCodeAt(at + 1);
  if (n === 2) return key.startsWith('le', at + 2);
  return n === 8 && key.startsWith('__name__', at + 2);
}
