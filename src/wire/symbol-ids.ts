/**
 * Numbers for the label strings of one export's new series, so that RW 2.0 (wire/rw2.ts) can
 * build a request's symbol table (RW2 §Symbols) without reading every label back out of its
 * encoded bytes. Translate's label plans (translate/series-labels.ts) hold the attribute values
 * as strings already: a Map lookup by such a string is cheap (V8 keeps its hash), where cutting
 * the same value out of the encoded labels and hashing it again was most of a first RW 2.0
 * export's cost.
 *
 * Each series' ids are written once into `chunks`: at its place, the number of labels, then a
 * name id and a value id per label, in the order of its encoded labels. One instance lives for one
 * export: what it holds goes with it.
 */
import type { LabelIds } from '../model.js';
import { ChunkedList } from '../chunked-list.js';

export class SymbolIds implements LabelIds {
  private readonly index = new Map<string, number>();
  /** By id: the string's UTF-8 bytes (bytesOf). In chunks: a million of them in one array grew by copying (chunked-list.ts). */
  private readonly strings = new ChunkedList<string>();
  /**
   * The ids, in chunks of CHUNK ints (a series' ids never straddle two): a stream grown by
   * copying cost ~40 ms of a 100k-series first export, in copies and in the collections that
   * the large allocations set off.
   */
  readonly chunks: Int32Array[] = [];
  private chunk = new Int32Array(0);
  private used = 0;
  /** Where the series written last starts (see begin): its chunk × CHUNK + its place in it. */
  lastAt = -1;

  /** The id of a well-formed string. */
  idOf(text: string): number {
    let id = this.index.get(text);
    if (id === undefined) {
      id = this.strings.length;
      if (this.index.size >= INDEX_SIZE) this.index.clear();
      this.index.set(text, id);
      this.strings.push(utf8Bytes(text));
    }
    return id;
  }

  /** The UTF-8 bytes of string `id` as a latin1 string (one character a byte), as rw2.ts keeps symbols. */
  bytesOf(id: number): string {
    return this.strings.at(id);
  }

  get size(): number {
    return this.strings.length;
  }

  /** Starts the ids of a series of at most `labels` labels; then `push` per label and `end`. */
  begin(labels: number): void {
    const need = 1 + 2 * labels;
    // A series of more than CHUNK / 2 labels has a chunk of its own, and no other after it.
    if (this.used + need > this.chunk.length || this.used >= CHUNK) {
      this.chunk = new Int32Array(Math.max(need, CHUNK));
      this.chunks.push(this.chunk);
      this.used = 0;
    }
    this.lastAt = (this.chunks.length - 1) * CHUNK + this.used;
    this.start = this.used;
    this.used++;
  }

  push(nameId: number, valueId: number): void {
    this.chunk[this.used++] = nameId;
    this.chunk[this.used++] = valueId;
  }

  end(): void {
    this.chunk[this.start] = (this.used - this.start - 1) >> 1;
  }

  /** The name and value ids of the series at `at`, by label. */
  idsAt(at: number): Int32Array {
    const chunk = this.chunks[Math.floor(at / CHUNK)] as Int32Array;
    const from = at % CHUNK;
    return chunk.subarray(from + 1, from + 1 + 2 * (chunk[from] as number));
  }

  private start = 0;
}

/** A string as its UTF-8 bytes in a latin1 string (one character a byte): itself when ASCII. */
export function utf8Bytes(text: string): string {
  for (let i = 0; i < text.length; i++)
    if (text.charCodeAt(i) >= 0x80) return Buffer.from(text, 'utf8').toString('latin1');
  return text;
}

const INDEX_SIZE = 1024;
/** Ints per chunk of ids (256 KiB). */
export const CHUNK = 65_536;
