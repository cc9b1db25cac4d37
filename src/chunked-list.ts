/**
 * An append-only list kept in chunks of 8,192 entries. One array of a million entries grows by
 * copying itself (half again each time): with V8's marking under way on a heap of a gigabyte,
 * one such copy of 870k pointers held the event loop for 51 ms (bench/blocks.ts, frames built
 * after a first export of 1M series). A chunk is allocated at its full size once, and none is
 * ever copied.
 */
export class ChunkedList<T> implements ReadList<T> {
  private readonly chunks: T[][] = [];
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(value: T): void {
    const at = this.size & CHUNK_MASK;
    if (at === 0) this.chunks.push(new Array<T>(CHUNK));
    (this.chunks[this.chunks.length - 1] as T[])[at] = value;
    this.size++;
  }

  /** The entry at `index` (0 ≤ index < length). */
  at(index: number): T {
    return (this.chunks[index >>> CHUNK_BITS] as T[])[index & CHUNK_MASK] as T;
  }

  /** Lets go of the unused end of the last chunk (a list that grows no more). */
  trim(): void {
    const last = this.chunks[this.chunks.length - 1];
    if (last !== undefined) last.length = ((this.size - 1) & CHUNK_MASK) + 1;
  }
}

/** A list read by position: an array, or a ChunkedList. */
export interface ReadList<T> {
  readonly length: number;
  at(index: number): T | undefined;
}

/** Entries per chunk: 64 KiB of pointers, below V8's large-object size. */
const CHUNK_BITS = 13;
const CHUNK = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK - 1;
