/**
 * The encoded label fields (wire/label-fields.ts) of series that share their label names and
 * some values: the fields of the fixed labels, and each other label's name part, are encoded
 * once; a series then gives only its varying values. The result is byte for byte what
 * `encodeLabelFields` writes for the same labels (a test holds them to it).
 */
import { encodeLabelFields } from './label-fields.js';
import { varintLength, writeVarint } from './protobuf-writer.js';

/** A label of the plan, in the series' order: a fixed one, or one whose value is given per series. */
export type PlannedLabel =
  { readonly name: string; readonly value: string } | { readonly name: string; readonly slot: number };

export class LabelFieldsPlan {
  /** Per label in order: the encoded fields of a fixed one, or undefined for a varying one. */
  private readonly fixed: Array<Uint8Array | undefined> = [];
  /** For a varying one: its slot, and its name field (key, length, bytes). */
  private readonly slots: number[] = [];
  private readonly nameFields: Array<Uint8Array | undefined> = [];

  constructor(labels: readonly PlannedLabel[]) {
    for (const label of labels) {
      if ('value' in label) {
        this.fixed.push(Buffer.from(encodeLabelFields([label]), 'latin1'));
        this.slots.push(-1);
        this.nameFields.push(undefined);
      } else {
        this.fixed.push(undefined);
        this.slots.push(label.slot);
        const name = Buffer.from(label.name, 'utf8');
        this.nameFields.push(
          Buffer.concat([Buffer.from([LABEL_NAME_FIELD]), varintBytes(name.length), name]),
        );
      }
    }
  }

  /**
   * The encoded fields with these values by slot, as a latin1 string (one character a byte, as
   * encodeLabelFields gives them). An empty value leaves its label out (a proto3 default is not
   * written, and an empty label is no label). Values must be well-formed UTF-16.
   * Written into one buffer and read out as one string: a string made by joining the parts was a
   * rope of some 25 pieces per series, allocated and then flattened.
   */
  encode(values: readonly string[]): string {
    const fixed = this.fixed;
    let size = 0;
    for (let i = 0; i < fixed.length; i++) {
      const f = fixed[i];
      if (f !== undefined) size += f.length;
      else
        size +=
          (this.nameFields[i] as Uint8Array).length +
          12 +
          3 * (values[this.slots[i] as number] as string).length;
    }
    let buf = scratch;
    if (buf.length < size) buf = scratch = Buffer.allocUnsafe(Math.max(size, 2 * buf.length));
    let pos = 0;
    for (let i = 0; i < fixed.length; i++) {
      const f = fixed[i];
      if (f !== undefined) {
        for (let j = 0; j < f.length; j++) buf[pos++] = f[j] as number;
        continue;
      }
      const value = values[this.slots[i] as number] as string;
      if (value === '') continue;
      const ascii = isAscii(value);
      const length = ascii ? value.length : Buffer.byteLength(value, 'utf8');
      const name = this.nameFields[i] as Uint8Array;
      buf[pos++] = LABEL_FIELD;
      pos = writeVarint(buf, pos, name.length + 1 + varintLength(length) + length);
      for (let j = 0; j < name.length; j++) buf[pos++] = name[j] as number;
      buf[pos++] = VALUE_FIELD;
      pos = writeVarint(buf, pos, length);
      if (ascii) for (let j = 0; j < length; j++) buf[pos++] = value.charCodeAt(j);
      else pos += buf.write(value, pos, 'utf8');
    }
    return buf.toString('latin1', 0, pos);
  }
}

/** `Label` messages in `TimeSeries` (field 1), and their name and value fields (1 and 2): wire type 2. */
const LABEL_FIELD = 0x0a;
const LABEL_NAME_FIELD = 0x0a;
const VALUE_FIELD = 0x12;

let scratch = Buffer.allocUnsafe(4096);

/** Whether every UTF-16 unit is below 0x80: the string is then its own UTF-8 bytes. */
function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function varintBytes(value: number): Uint8Array {
  const out = new Uint8Array(varintLength(value));
  writeVarint(out, 0, value);
  return out;
}
