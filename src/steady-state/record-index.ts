/**
 * The series records of a SeriesState, found by their key (a series' encoded labels). Indexed by
 * a 32-bit hash of the key rather than by the key string, so that the index does not keep a
 * string per series: a framed record reads its key from its frame (series-state.ts), and at a
 * million series the strings were about 280 bytes each on the heap, as much as the rest of the
 * record together. Records whose hashes collide are told apart by their keys: a poor hash would
 * cost time, never correctness.
 *
 * An open-addressing table (linear probing) in an Int32Array: each slot holds a hash and where
 * its record is in an array of records, side by side, so that looking up a new key (every
 * series of a first export) reads one slot, usually one cache line. V8 Maps keyed by the hash
 * cost about 300 ns a lookup at 100k records (a bucket, then a chain entry, each a cache miss)
 * and half as much again to add. Split 64 ways by the hash, each part with its own table and
 * records, so that growing or shrinking a part copies 1/64 of the index: one table of a million
 * entries rehashed in one go would hold the thread for tens of ms.
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
}

/**
 * How to tell whether an entry has a key: functions, not methods of the entries, so that the
 * entries can be plain objects (series-record.ts).
 */
export interface KeyTest<V> {
  hasKey(entry: V, key: string): boolean;
  /** The same for a key held as `length` bytes from `from`. */
  hasKeyBytes(entry: V, bytes: Uint8Array, from: number, length: number): boolean;
}

/**
 * One part: slot i is table[2i] (the hash) and table[2i + 1] (the entry's place in `entries`
 * + 1; 0: empty). `free`: places of removed entries, for new ones.
 */
interface Part<V extends Keyed> {
  table: Int32Array;
  mask: number;
  used: number;
  limit: number;
  entries: Array<V | undefined>;
  free: number[];
}

export class RecordIndex<V extends Keyed> {
  private parts: Array<Part<V>> = newParts();
  private count = 0;

  constructor(private readonly keys: KeyTest<V>) {}

  get size(): number {
    return this.count;
  }

  /** The entry with this key, and its hash (for `add` when there is none). */
  get(key: string, hash = keyHash(key)): V | undefined {
    const part = this.parts[hash & (PARTS - 1)] as Part<V>;
    const table = part.table;
    const mask = part.mask;
    for (let i = (hash >>> PART_BITS) & mask; ; i = (i + 1) & mask) {
      const place = table[2 * i + 1] as number;
      if (place === 0) return undefined;
      if (table[2 * i] === hash) {
        const v = part.entries[place - 1] as V;
        if (this.keys.hasKey(v, key)) return v;
      }
    }
  }

  /**
   * The entry whose key is `length` bytes from `from`, whose `keyHash` is `hash`: `get`'s probe,
   * kept apart from it rather than shared through a comparing closure, on a new series' path.
   */
  getBytes(bytes: Uint8Array, from: number, length: number, hash: number): V | undefined {
    const part = this.parts[hash & (PARTS - 1)] as Part<V>;
    const table = part.table;
    const mask = part.mask;
    for (let i = (hash >>> PART_BITS) & mask; ; i = (i + 1) & mask) {
      const place = table[2 * i + 1] as number;
      if (place === 0) return undefined;
      if (table[2 * i] === hash) {
        const v = part.entries[place - 1] as V;
        if (this.keys.hasKeyBytes(v, bytes, from, length)) return v;
      }
    }
  }

  /** Adds an entry whose key is not in the index yet. */
  add(value: V): void {
    const part = this.parts[value.keyHash & (PARTS - 1)] as Part<V>;
    const place = part.free.length > 0 ? (part.free.pop() as number) : part.entries.length;
    part.entries[place] = value;
    put(part, value.keyHash, place + 1);
    if (++part.used > part.limit) rebuild(part, 2 * (part.mask + 1));
    this.count++;
  }

  /** Removes this entry (the very object). */
  delete(value: V): boolean {
    const hash = value.keyHash;
    const part = this.parts[hash & (PARTS - 1)] as Part<V>;
    const table = part.table;
    const mask = part.mask;
    let i = (hash >>> PART_BITS) & mask;
    for (; ; i = (i + 1) & mask) {
      const place = table[2 * i + 1] as number;
      if (place === 0) return false;
      if (table[2 * i] === hash && part.entries[place - 1] === value) break;
    }
    const place = table[2 * i + 1] as number;
    part.entries[place - 1] = undefined;
    part.free.push(place - 1);
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

  /**
   * Room for `count` more entries, made at once rather than by doubling as they come (each
   * doubling allocates and fills a new table: at 100k new series, about 5 % of a first export).
   * In steps, one part at a time, when `due()` says so.
   */
  *reserveSteps(count: number, due: () => boolean): Generator<void, void, void> {
    // Hashes spread evenly over the parts: each gets its share, and a little over.
    const share = Math.ceil((count / PARTS) * 1.1);
    for (const part of this.parts) {
      const want = part.used + share;
      if (want <= part.limit) continue;
      let slots = part.mask + 1;
      while (want > Math.floor(slots * MAX_LOAD)) slots *= 2;
      rebuild(part, slots);
      if (due()) yield;
    }
  }

  /**
   * Gives back the room of parts left mostly empty by deletions (a quarter of their load or
   * less): each such part is rebuilt at the size its entries need, its entries packed. In steps,
   * one part at a time, when `due()` says so; not while `values()` is being iterated.
   */
  *shrinkSteps(due: () => boolean): Generator<void, void, void> {
    for (const part of this.parts) {
      const slots = part.mask + 1;
      if (slots > FIRST_SLOTS && part.used <= (slots * MAX_LOAD) / 4) {
        let fit = FIRST_SLOTS;
        while (part.used > fit * MAX_LOAD * 0.5) fit *= 2;
        rebuild(part, fit, true);
        if (due()) yield;
      }
    }
  }

  clear(): void {
    this.parts = newParts();
    this.count = 0;
  }

  /** Every entry, part by part (in no particular order). Deleting the current one is allowed. */
  *values(): IterableIterator<V> {
    for (const part of this.parts) {
      const entries = part.entries;
      for (let k = 0; k < entries.length; k++) {
        const v = entries[k];
        if (v !== undefined) yield v;
      }
    }
  }
}

function newParts<V extends Keyed>(): Array<Part<V>> {
  return Array.from({ length: PARTS }, () => ({
    table: new Int32Array(2 * FIRST_SLOTS),
    mask: FIRST_SLOTS - 1,
    used: 0,
    limit: Math.floor(FIRST_SLOTS * MAX_LOAD),
    entries: [],
    free: [],
  }));
}

/** Writes (hash, place + 1) into the first empty slot of the hash's run. */
function put<V extends Keyed>(part: Part<V>, hash: number, placed: number): void {
  const table = part.table;
  const mask = part.mask;
  let i = (hash >>> PART_BITS) & mask;
  while (table[2 * i + 1] !== 0) i = (i + 1) & mask;
  table[2 * i] = hash;
  table[2 * i + 1] = placed;
}

/** The part's table made anew with `slots` slots; with `pack`, its entries packed first (places change). */
function rebuild<V extends Keyed>(part: Part<V>, slots: number, pack = false): void {
  const old = part.table;
  part.table = new Int32Array(2 * slots);
  part.mask = slots - 1;
  part.limit = Math.floor(slots * MAX_LOAD);
  if (pack) {
    const entries: V[] = [];
    for (const v of part.entries) if (v !== undefined) entries.push(v);
    part.entries = entries;
    part.free = [];
    for (let k = 0; k < entries.length; k++) put(part, (entries[k] as V).keyHash, k + 1);
    return;
  }
  for (let i = 0; i < old.length; i += 2) {
    const placed = old[i + 1] as number;
    if (placed !== 0) put(part, old[i] as number, placed);
  }
}
