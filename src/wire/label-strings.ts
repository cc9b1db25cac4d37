/**
 * The label strings of one export's new series, as RW 2.0 (wire/rw2.ts) makes a request's symbol
 * table from them (RW2 §Symbols) without reading every label back out of its encoded bytes.
 * Translate's label plans (wire/label-fields-plan.ts) hold the attribute values as strings
 * already; each new series is kept here as its plan's `PlanSymbols` followed by those values, by
 * slot. A request then looks up each value once in its own symbol table, and a plan's fixed labels
 * and label names once a request (PlanSymbols' refs): one hash lookup per varying value, where
 * numbering every string for the export first and mapping the numbers to each request's refs
 * after was two.
 *
 * One instance lives for one export: what it holds goes with it.
 */
import type { LabelStringsOf } from '../model.js';

/** The labels of a plan's series, in their encoded order, and what a request looked up for them. */
export class PlanSymbols {
  /** Per label: its name's UTF-8 bytes, as a latin1 string (one character a byte). */
  readonly names: readonly string[];
  /** Per label: its value's UTF-8 bytes when it is fixed; for a varying one, unused. */
  readonly values: readonly string[];
  /** Per label: the slot of its value in a series' values, −1 when it is fixed. */
  readonly slots: Int32Array;
  /** Values a series gives (LabelStrings.add): one per slot. */
  readonly slotCount: number;
  /**
   * The request (wire/rw2.ts StringRefs) whose refs the arrays below hold: per label its name's
   * ref (−1: not looked up yet, its value having been empty) and a fixed value's ref; per slot
   * the value looked up last and its ref.
   */
  request = 0;
  readonly nameRefs: Int32Array;
  readonly valueRefs: Int32Array;
  readonly lastValues: unknown[];
  readonly lastRefs: Int32Array;

  constructor(
    labels: ReadonlyArray<{ readonly name: string; readonly value?: string; readonly slot?: number }>,
  ) {
    this.names = labels.map((l) => utf8Bytes(l.name));
    this.values = labels.map((l) => (l.slot === undefined ? utf8Bytes(l.value as string) : ''));
    this.slots = Int32Array.from(labels, (l) => l.slot ?? -1);
    this.slotCount = Math.max(-1, ...this.slots) + 1;
    this.nameRefs = new Int32Array(labels.length);
    this.valueRefs = new Int32Array(labels.length);
    this.lastValues = new Array<unknown>(this.slotCount).fill(undefined);
    this.lastRefs = new Int32Array(this.slotCount);
  }
}

export class LabelStrings implements LabelStringsOf {
  /** Entries in chunks of CHUNK (a series never straddles two): a series' PlanSymbols, then its values by slot. */
  readonly chunks: unknown[][] = [];
  private chunk: unknown[] = [];
  private used = 0;
  /** Where the series written last starts: its chunk × CHUNK + its place in it. */
  lastAt = -1;

  /**
   * A new series of `plan` with these values by slot, the strings its encoded labels were
   * written from; `ascii`: all of them are ASCII (their UTF-8 bytes are themselves).
   */
  add(plan: PlanSymbols, values: readonly string[], ascii: boolean): void {
    const count = plan.slotCount;
    // A series of more values than a chunk holds has a chunk of its own, and no other after it.
    if (this.used + 1 + count > this.chunk.length || this.used >= CHUNK) {
      this.chunk = new Array<unknown>(Math.max(1 + count, CHUNK));
      this.chunks.push(this.chunk);
      this.used = 0;
    }
    const chunk = this.chunk;
    let at = this.used;
    this.lastAt = (this.chunks.length - 1) * CHUNK + at;
    chunk[at++] = plan;
    if (ascii) for (let s = 0; s < count; s++) chunk[at++] = values[s];
    else for (let s = 0; s < count; s++) chunk[at++] = utf8Bytes(values[s] as string);
    this.used = at;
  }
}

/** A string as its UTF-8 bytes in a latin1 string (one character a byte): itself when ASCII. */
export function utf8Bytes(text: string): string {
  for (let i = 0; i < text.length; i++)
    if (text.charCodeAt(i) >= 0x80) return Buffer.from(text, 'utf8').toString('latin1');
  return text;
}

/** Entries per chunk: 64 KiB of pointers, below V8's large-object size (chunked-list.ts). */
export const CHUNK = 8_192;
