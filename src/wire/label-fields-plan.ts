/**
 * The encoded label fields (wire/label-fields.ts) of series that share their label names and
 * some values: the fields of the fixed labels, and each other label's name part, are encoded
 * once; a series then gives only its varying values. The result is byte for byte what
 * `encodeLabelFields` writes for the same labels (a test holds them to it).
 */
import { encodeLabelFields } from './label-fields.js';

/** A label of the plan, in the series' order: a fixed one, or one whose value is given per series. */
export type PlannedLabel =
  { readonly name: string; readonly value: string } | { readonly name: string; readonly slot: number };

/** `Label` messages in `TimeSeries` (field 1), and their name and value fields (1 and 2): wire types 2. */
const LABEL_FIELD = '\x0a';
const VALUE_FIELD = '\x12';

export class LabelFieldsPlan {
  /** Per label in order: the encoded fields of a fixed one, or the slot of a varying one. */
  private readonly fixed: Array<string | undefined> = [];
  private readonly slots: number[] = [];
  /** For a varying one: its name field (key, length, bytes), as a latin1 string. */
  private readonly nameFields: string[] = [];

  constructor(labels: readonly PlannedLabel[]) {
    for (const label of labels) {
      if ('value' in label) {
        this.fixed.push(encodeLabelFields([label]));
        this.slots.push(-1);
        this.nameFields.push('');
      } else {
        this.fixed.push(undefined);
        this.slots.push(label.slot);
        const name = Buffer.from(label.name, 'utf8').toString('latin1');
        this.nameFields.push(LABEL_FIELD + varint(name.length) + name);
      }
    }
  }

  /**
   * The encoded fields with these values by slot. An empty value leaves its label out (a proto3
   * default is not written, and an empty label is no label). Values must be well-formed UTF-16.
   */
  encode(values: readonly string[]): string {
    let out = '';
    const fixed = this.fixed;
    for (let i = 0; i < fixed.length; i++) {
      const f = fixed[i];
      if (f !== undefined) {
        out += f;
        continue;
      }
      const value = values[this.slots[i] as number] as string;
      if (value === '') continue;
      const bytes = isAscii(value) ? value : Buffer.from(value, 'utf8').toString('latin1');
      const nameField = this.nameFields[i] as string;
      const valueField = VALUE_FIELD + varint(bytes.length);
      out +=
        LABEL_FIELD +
        varint(nameField.length + valueField.length + bytes.length) +
        nameField +
        valueField +
        bytes;
    }
    return out;
  }
}

/** Whether every UTF-16 unit is below 0x80: the string is then its own UTF-8 bytes. */
function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** A varint as a latin1 string. */
function varint(value: number): string {
  if (value < 0x80) return String.fromCharCode(value);
  let out = '';
  while (value >= 0x80) {
    out += String.fromCharCode((value & 0x7f) | 0x80);
    value = Math.floor(value / 0x80);
  }
  return out + String.fromCharCode(value);
}
