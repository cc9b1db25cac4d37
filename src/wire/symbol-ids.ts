/**
 * Numbers for the label strings of one export's new series, so that RW 2.0 (wire/rw2.ts) can
 * build a request's symbol table (RW2 §Symbols) without reading every label back out of its
 * encoded bytes. Translate's label plans (translate/series-labels.ts) hold the attribute values
 * as strings already: a Map lookup by such a string is cheap (V8 keeps its hash), where cutting
 * the same value out of the encoded labels and hashing it again was most of a first RW 2.0
 * export's cost.
 *
 * Each series' ids are written once into `stream`: at its place, the number of labels, then a
 * name id and a value id per label, in the order of its encoded labels. One instance lives for one
 * export: what it holds goes with it.
 */
import type { LabelIds } from '../model.js';

export class SymbolIds implements LabelIds {
  private readonly index = new Map<string, number>();
  /** By id: the string's UTF-8 bytes as a latin1 string (one character a byte), as rw2.ts keeps symbols. */
  readonly bytes: string[] = [];
  stream = new Int32Array(1024);
  private used = 0;
  /** Where the series written last starts in `stream` (see begin). */
  lastAt = -1;

  /** The id of a well-formed string. */
  idOf(text: string): number {
    let id = this.index.get(text);
    if (id === undefined) {
      id = this.bytes.length;
      if (this.index.size >= INDEX_SIZE) this.index.clear();
      this.index.set(text, id);
      this.bytes.push(utf8Bytes(text));
    }
    return id;
  }

  get size(): number {
    return this.bytes.length;
  }

  /** Starts the ids of a series of at most `labels` labels; then `push` per label and `end`. */
  begin(labels: number): void {
    const need = this.used + 1 + 2 * labels;
    if (need > this.stream.length) {
      const grown = new Int32Array(Math.max(need, 2 * this.stream.length));
      grown.set(this.stream.subarray(0, this.used));
      this.stream = grown;
    }
    this.lastAt = this.used;
    this.used++;
  }

  push(nameId: number, valueId: number): void {
    this.stream[this.used++] = nameId;
    this.stream[this.used++] = valueId;
  }

  end(): void {
    this.stream[this.lastAt] = (this.used - this.lastAt - 1) >> 1;
  }
}

/** A string as its UTF-8 bytes in a latin1 string (one character a byte): itself when ASCII. */
export function utf8Bytes(text: string): string {
  for (let i = 0; i < text.length; i++)
    if (text.charCodeAt(i) >= 0x80) return Buffer.from(text, 'utf8').toString('latin1');
  return text;
}

const INDEX_SIZE = 1024;
