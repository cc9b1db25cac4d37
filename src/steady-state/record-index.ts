/**
 * The series records of a SeriesState, found by their key (a series' encoded labels). Indexed by
 * a 32-bit hash of the key rather than by the key string, so that the index does not keep a
 * string per series: a framed record reads its key from its frame (series-state.ts), and at a
 * million series the strings were about 280 bytes each on the heap, as much as the rest of the
 * record together. Records whose hashes collide are told apart by their keys: a poor hash would
 * cost time, never correctness.
 *
 * An open-addressing table (linear probing) in an Int32Array: each slot holds a hash and where
 * its record is in one array of records, side by side, so that looking up a new key (every
 * series of a first export) reads one slot, usually one cache line. V8 Maps keyed by the hash
 * cost about 300 ns a lookup at 100k records (a bucket, then a chain entry, each a cache miss)
 * and twice that to add. Split 64 ways by the hash so that growing a part copies 1/64 of the
 * table: one table of a million entries rehashed in one go would hold the thread for tens of ms.
 */
import { keyHash } from '../wire/key-hash.js';

const PARTS = 64;
const PART_BITS = 6;
/** Slots of a new part; a part doubles when more than MAX_LOAD of its slots are used. */
const FIRST_SLOTS = 16;
const MAX_LOAD = 0.7;

/** What the index needs of an entry. */
export interface Keyed {
  /** `keyHash(key)`, kept by the entry so that it is not read back to be removed. */
  readonly keyHash: number;
  hasKey(key: string): boolean;
}

/** One part: slot i is table[2i] (the hash) and table[2i + 1] (the entry's place + 1; 0: empty). */
interface Part {
  table: Int32Array;
  mask: number;
  used: number;
  limit: number;
}

export class RecordIndex<V extends Keyed> {
  private parts: Part[] = newParts();
  /** The entries, each at a place its slot points to; undefined where one was removed. */
  private entries: Array<V | undefined> = [];
  /** Places of removed entries, for new ones. */
  private free: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The entry with this key, and its hash (for `add` when there is none). */
  get(key: string, hash = keyHash(key)): V | undefined {
    const part = this.parts[hash & (PARTS - 1)] as Part;
    const table = part.table;
    const mask = part.mask;
    for (let i = (hash >>> PART_BITS) & mask; ; i = (i + 1) & mask) {
      const place = table[2 * i + 1] as number;
      if (place === 0) return undefined;
      if (table[2 * i] === hash) {
        const v = this.entries[place - 1] as V;
        if (v.hasKey(key)) return v;
      }
    }
  }

  /** Adds an entry whose key is not in the index yet. */
  add(value: V): void {
    const place = this.free.length > 0 ? (this.free.pop() as number) : this.entries.length;
    this.entries[place] = value;
    const part = this.parts[value.keyHash & (PARTS - 1)] as Part;
    put(part, value.keyHash, place + 1);
    if (++part.used > part.limit) grow(part);
    this.count++;
  }

  /** Removes this entry (the very object). */
  delete(value: V): boolean {
    const hash = value.keyHash;
    const part = this.parts[hash & (PARTS - 1)] as Part;
    const table = part.table;
    const mask = part.mask;
    let i = (hash >>> PART_BITS) & mask;
    for (; ; i = (i + 1) & mask) {
      const place = table[2 * i + 1] as number;
      if (place === 0) return false;
      if (table[2 * i] === hash && this.entries[place - 1] === value) break;
    }
    const place = table[2 * i + 1] as number;
    this.entries[place - 1] = undefined;
    this.free.push(place - 1);
    // Backward shift: a later slot of the same run moves into the hole unless its home is
    // between the hole and itself (it would then be found before the hole, or not at all).
    for (let j = (i + 1) & mask; table[2 * j + 1] !== 0; j = (j + 1) & mask) {
      const home = ((table[2 * j] as number) >>> PART_BITS) & mask;
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (stays) continue;
      table[2 * i] = table[2 * j] as number;
      table[2 * i + 1] = table[2 * j + 1] as number;
      i = j;
    }
    table[2 * i] = 0;
    table[2 * i + 1] = 0;
    part.used--;
    this.count--;
    return true;
  }

  clear(): void {
    this.parts = newParts();
    this.entries = [];
    this.free = [];
    this.count = 0;
  }

  /** Every entry (in no particular order). Deleting the current one is allowed. */
  *values(): IterableIterator<V> {
    const entries = this.entries;
    for (let k = 0; k < entries.length; k++) {
      const v = entries[k];
      if (v !== undefined) yield v;
    }
  }
}

function newParts(): Part[] {
  return Array.from({ length: PARTS }, () => ({
    table: new Int32Array(2 * FIRST_SLOTS),
    mask: FIRST_SLOTS - 1,
    used: 0,
    limit: Math.floor(FIRST_SLOTS * MAX_LOAD),
  }));
}

/** Writes (hash, place + 1) into the first empty slot of the hash's run. */
function put(part: Part, hash: number, placed: number): void {
  const table = part.table;
  const mask = part.mask;
  let i = (hash >>> PART_BITS) & mask;
  while (table[2 * i + 1] !== 0) i = (i + 1) & mask;
  table[2 * i] = hash;
  table[2 * i + 1] = placed;
}

function grow(part: Part): void {
  const old = part.table;
  const slots = 2 * (part.mask + 1);
  part.table = new Int32Array(2 * slots);
  part.mask = slots - 1;
  part.limit = Math.floor(slots * MAX_LOAD);
  for (let i = 0; i < old.length; i += 2) {
    const placed = old[i + 1] as number;
    if (placed !== 0) put(part, old[i] as number, placed);
  }
}
