/**
 * A map from string keys (a series' encoded labels) to values, split into several V8 Maps by a
 * cheap hash of the key. One Map of a million entries doubles its table in one go when it fills:
 * at 512k entries that copy held the event loop for about 33 ms. Split 64 ways, each growth step
 * copies about 1/64 of it. Lookups cost one extra small hash of a few characters.
 */
const PARTS = 64;

/**
 * Which part holds `key`: its length, the last 16 characters (the last label's value: often
 * what tells series apart) and a few from the middle. Only the spread depends on it; a poor spread
 * costs growth steps, never correctness.
 */
function partOf(key: string): number {
  const n = key.length;
  let h = n;
  const stop = n > 16 ? n - 16 : 0;
  for (let i = n - 1; i >= stop; i--) h = Math.imul(h, 31) + key.charCodeAt(i);
  if (n > 32) {
    const mid = n >> 1;
    h = Math.imul(h, 31) + key.charCodeAt(mid);
    h = Math.imul(h, 31) + key.charCodeAt(mid - 7);
    h = Math.imul(h, 31) + key.charCodeAt(mid + 7);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x45d9f3b);
  h ^= h >>> 16;
  return h & (PARTS - 1);
}

export class RecordIndex<V> {
  private readonly parts: Array<Map<string, V>> = Array.from({ length: PARTS }, () => new Map());
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: string): V | undefined {
    return (this.parts[partOf(key)] as Map<string, V>).get(key);
  }

  set(key: string, value: V): void {
    const part = this.parts[partOf(key)] as Map<string, V>;
    const before = part.size;
    part.set(key, value);
    this.count += part.size - before;
  }

  delete(key: string): boolean {
    const deleted = (this.parts[partOf(key)] as Map<string, V>).delete(key);
    if (deleted) this.count--;
    return deleted;
  }

  clear(): void {
    for (const part of this.parts) part.clear();
    this.count = 0;
  }

  /** Entries part by part (not in insertion order). Deleting the current entry is allowed. */
  *entries(): IterableIterator<[string, V]> {
    for (const part of this.parts) yield* part;
  }

  *values(): IterableIterator<V> {
    for (const part of this.parts) yield* part.values();
  }
}
