/**
 * The encoded label fields (wire/label-fields.ts) of series that share their label names and
 * some values: the fields of the fixed labels, and each other label's name part, are encoded
 * once; a series then gives only its varying values. The result is byte for byte what
 * `encodeLabelFields` writes for the same labels (a test holds them to it).
 */
import { encodeLabelFields } from './label-fields.js';
import { varintLength, writeVarint } from './protobuf-writer.js';
import { PlanSymbols, type LabelStrings } from './label-strings.js';
import { keyHashOfView } from './key-hash.js';

/** A label of the plan, in the series' order: a fixed one, or one whose value is given per series. */
export type PlannedLabel =
  { readonly name: string; readonly value: string } | { readonly name: string; readonly slot: number };

export class LabelFieldsPlan {
  /**
   * Per segment: the encoded fields of a run of fixed labels, or undefined for a varying label,
   * whose slot and name field (key, length, bytes) are at the same index.
   */
  private readonly fixed: Array<Uint8Array | undefined> = [];
  private readonly slots: number[] = [];
  private readonly nameFields: Array<Uint8Array | undefined> = [];
  /** Bytes of the fixed segments and name fields, and the most a varying value's header adds. */
  private readonly baseSize: number;
  /** Its labels' strings, for RW 2.0's symbol tables (addStrings). */
  private readonly symbols: PlanSymbols;
  /** Whether every value `writeAt` wrote last was ASCII. */
  private ascii = true;
  /** `keyHash` of what `write` wrote last, read from the bytes it wrote. */
  hash = 0;

  constructor(labels: readonly PlannedLabel[]) {
    let base = 0;
    let run: PlannedLabel[] = [];
    const endRun = (): void => {
      if (run.length === 0) return;
      const bytes = Buffer.from(encodeLabelFields(run as Array<{ name: string; value: string }>), 'latin1');
      this.fixed.push(bytes);
      this.slots.push(-1);
      this.nameFields.push(undefined);
      base += bytes.length;
      run = [];
    };
    for (const label of labels) {
      if ('value' in label) {
        run.push(label);
        continue;
      }
      endRun();
      this.fixed.push(undefined);
      this.slots.push(label.slot);
      const name = Buffer.from(label.name, 'utf8');
      const field = Buffer.concat([Buffer.from([LABEL_NAME_FIELD]), varintBytes(name.length), name]);
      this.nameFields.push(field);
      base += field.length + MAX_HEADER;
    }
    endRun();
    this.baseSize = base;
    this.symbols = new PlanSymbols(labels);
  }

  /**
   * The strings of the labels that `writeAt` (or `write`) wrote last, with these values by slot,
   * added to `strings` as one series (LabelStrings.add): its `lastAt` says where.
   */
  addStrings(values: readonly string[], strings: LabelStrings): void {
    strings.add(this.symbols, values, this.ascii);
  }

  /**
   * The encoded fields with these values by slot, as a latin1 string (one character a byte, as
   * encodeLabelFields gives them). An empty value leaves its label out (a proto3 default is not
   * written, and an empty label is no label). Values must be well-formed UTF-16.
   */
  encode(values: readonly string[]): string {
    const length = this.write(values);
    return scratch.toString('latin1', 0, length);
  }

  /**
   * The same fields written into `encodedBytes()` from its first byte; returns their length.
   * Written into one buffer (and read out as one string by `encode`): a string made by joining
   * the parts was a rope of some 25 pieces per series, allocated and then flattened.
   */
  write(values: readonly string[]): number {
    const size = this.sizeAtMost(values);
    if (scratch.length < size) growScratch(Math.max(size, 2 * scratch.length));
    return this.writeAt(values, scratch, 0, scratchView);
  }

  /** The most bytes the fields with these values take. */
  sizeAtMost(values: readonly string[]): number {
    const slots = this.slots;
    let size = this.baseSize;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i] as number;
      if (slot >= 0) size += 3 * (values[slot] as string).length;
    }
    return size;
  }

  /**
   * The same fields written into `buf` from `from`, where there is room for `sizeAtMost(values)`
   * bytes; `view` is a DataView of `buf` (from its first byte). Returns their length.
   */
  writeAt(values: readonly string[], buf: Buffer, from: number, view: DataView): number {
    const fixed = this.fixed;
    const slots = this.slots;
    let pos = from;
    let ascii = true;
    for (let i = 0; i < fixed.length; i++) {
      const f = fixed[i];
      if (f !== undefined) {
        buf.set(f, pos);
        pos += f.length;
        continue;
      }
      const value = values[slots[i] as number] as string;
      if (value === '') continue;
      const name = this.nameFields[i] as Uint8Array;
      const at = pos;
      // As ASCII (one byte a character) until a character says otherwise.
      let length = value.length;
      pos = header(buf, pos, name, length);
      let j = 0;
      for (; j < length; j++) {
        const c = value.charCodeAt(j);
        if (c > 0x7f) break;
        buf[pos++] = c;
      }
      if (j === length) continue;
      ascii = false;
      length = Buffer.byteLength(value, 'utf8');
      pos = header(buf, at, name, length);
      pos += buf.write(value, pos, 'utf8');
    }
    this.ascii = ascii;
    this.hash = keyHashOfView(view, from, pos - from);
    return pos - from;
  }
}

/** A varying label's header (field key and length, name field, value key and length) at `pos`. */
function header(buf: Uint8Array, pos: number, name: Uint8Array, length: number): number {
  buf[pos++] = LABEL_FIELD;
  pos = writeVarint(buf, pos, name.length + 1 + varintLength(length) + length);
  for (let j = 0; j < name.length; j++) buf[pos++] = name[j] as number;
  buf[pos++] = VALUE_FIELD;
  return writeVarint(buf, pos, length);
}

/** The most a varying label adds besides its name field and value: two keys and two varints. */
const MAX_HEADER = 12;

/** `Label` messages in `TimeSeries` (field 1), and their name and value fields (1 and 2): wire type 2. */
const LABEL_FIELD = 0x0a;
const LABEL_NAME_FIELD = 0x0a;
const VALUE_FIELD = 0x12;

/** What `write` wrote last, from byte 0 (a buffer replaced when it grows: read it after each write). */
export function encodedBytes(): Buffer {
  return scratch;
}

/** Where `write` writes, with a view of it for the hash. */
let scratch = Buffer.alloc(0);
let scratchView = new DataView(new ArrayBuffer(0));
growScratch(4096);

function growScratch(size: number): void {
  const memory = new ArrayBuffer(size);
  scratch = Buffer.from(memory);
  scratchView = new DataView(memory);
}

/**
 * Where a metric's first export writes the encoded labels of a new series: its frame
 * (wire/series-frame.ts), which holds them from then on, so that they are written once and never
 * copied (a copy of a series' 200-odd bytes cost a third of the writing).
 */
export interface LabelsTarget {
  /** Makes room for `size` bytes and returns where they go (in `bytes`). */
  room(size: number): number;
  /** The target's bytes, valid after `room`, and a DataView of them. */
  readonly bytes: Buffer;
  readonly view: DataView;
}

function varintBytes(value: number): Uint8Array {
  const out = new Uint8Array(varintLength(value));
  writeVarint(out, 0, value);
  return out;
}
