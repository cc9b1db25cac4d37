/**
 * The series records of a SeriesState, found by their key (a series' encoded labels). Indexed by
 * a 32-bit hash of the key rather than by the key string, so that the index does not keep a
 * string per series: a framed record reads its key from its frame (series-state.ts), and at a
 * million series the strings were about 280 bytes each on the heap, as much as the rest of the
 * record together. Records whose hashes collide share an entry (an array), and are told apart by
 * their keys: a poor hash would cost time, never correctness.
 * Split into several V8 Maps by the hash: one Map of a million entries doubles its table in one
 * go when it fills (about 33 ms at 512k entries); split 64 ways, each step copies 1/64 of it.
 */
import { keyHash } from '../wire/key-hash.js';

const PARTS = 64;
/**
 * Each part's Map is keyed by the hash's other 26 bits: a small integer (a Smi) for V8. The
 * hash's full 32 bits as a key were a heap number for half the keys, allocated and hashed as such.
 */
const PART_BITS = 6;

/** What the index needs of an entry. */
export interface Keyed {
  /** `keyHash(key)`, kept by the entry so that it is not read back to be removed. */
  readonly keyHash: number;
  hasKey(key: string): boolean;
}

export class RecordIndex<V extends Keyed> {
  private readonly parts: Array<Map<number, V | V[]>> = Array.from({ length: PARTS }, () => new Map());
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The entry with this key, and its hash (for `add` when there is none). */
  get(key: string, hash = keyHash(key)): V | undefined {
    const found = (this.parts[hash & (PARTS - 1)] as Map<number, V | V[]>).get(hash >>> PART_BITS);
    if (found === undefined) return undefined;
    if (!Array.isArray(found)) return found.hasKey(key) ? found : undefined;
    for (const v of found) if (v.hasKey(key)) return v;
    return undefined;
  }

  /** Adds an entry whose key is not in the index yet. */
  add(value: V): void {
    const part = this.parts[value.keyHash & (PARTS - 1)] as Map<number, V | V[]>;
    const key = value.keyHash >>> PART_BITS;
    const there = part.get(key);
    if (there === undefined) part.set(key, value);
    else if (Array.isArray(there)) there.push(value);
    else part.set(key, [there, value]);
    this.count++;
  }

  /** Removes this entry (the very object). */
  delete(value: V): boolean {
    const part = this.parts[value.keyHash & (PARTS - 1)] as Map<number, V | V[]>;
    const key = value.keyHash >>> PART_BITS;
    const there = part.get(key);
    if (there === value) part.delete(key);
    else if (Array.isArray(there) && there.includes(value)) {
      const rest = there.filter((v) => v !== value);
      part.set(key, rest.length === 1 ? (rest[0] as V) : rest);
    } else return false;
    this.count--;
    return true;
  }

  clear(): void {
    for (const part of this.parts) part.clear();
    this.count = 0;
  }

  /** Every entry, part by part (in no particular order). Deleting the current one is allowed. */
  *values(): IterableIterator<V> {
    for (const part of this.parts)
      for (const there of part.values()) {
        if (Array.isArray(there)) yield* [...there];
        else yield there;
      }
  }
}
