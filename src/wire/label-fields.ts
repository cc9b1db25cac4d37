/**
 * The labels of one series as the bytes of their RW 1.0 fields (`repeated Label labels = 1` of
 * `prometheus.TimeSeries`, proto/types.proto). A cumulative SDK reports the same series every
 * interval: the per-series state keeps these bytes, and the encoder copies them instead of
 * re-encoding the labels (DESIGN.md, performance principles). They also identify the series: two
 * sorted label sets are equal exactly when their encodings are.
 */
import type { Label } from '../model.js';
import { ProtobufWriter } from './protobuf-writer.js';

const TIMESERIES_LABELS = 1;
const LABEL_NAME = 1;
const LABEL_VALUE = 2;

const writer = new ProtobufWriter(4096);

/** Writes the label fields as the encoder does: empty strings (proto3 defaults) left out. */
export function writeLabelFields(w: ProtobufWriter, labels: readonly Label[]): void {
  for (const label of labels) {
    const l = w.begin(TIMESERIES_LABELS);
    if (label.name !== '') w.string(LABEL_NAME, label.name);
    if (label.value !== '') w.string(LABEL_VALUE, label.value);
    w.end(l);
  }
}

/**
 * Sorted labels → their encoded fields, as a latin1 string (one character per byte). A string
 * rather than a buffer: V8 stores it at one byte per character with a small header, the garbage
 * collector moves and frees it like any object (no external memory, no pool fragmentation under
 * series churn), it keys a Map directly, and `Buffer#write(…, 'latin1')` copies it back byte for byte.
 */
export function encodeLabelFields(labels: readonly Label[]): string {
  writer.reset();
  writeLabelFields(writer, labels);
  const bytes = writer.view();
  return bytes.toString('latin1');
}

/** The inverse of encodeLabelFields (for debug text, RW 2.0 and messages, which need the labels). */
export function decodeLabelFields(fields: string): Label[] {
  const buf = Buffer.from(fields, 'latin1');
  const labels: Label[] = [];
  let pos = 0;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = buf[pos++] as number;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 0x80;
    }
  };
  while (pos < buf.length) {
    varint(); // the key of field 1
    const end = varint() + pos;
    let name = '';
    let value = '';
    while (pos < end) {
      const key = varint();
      const length = varint();
      const text = buf.toString('utf8', pos, pos + length);
      pos += length;
      if (key >> 3 === LABEL_NAME) name = text;
      else value = text;
    }
    labels.push({ name, value });
  }
  return labels;
}
