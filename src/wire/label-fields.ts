/**
 * The labels of one series as the bytes of their RW 1.0 fields (`repeated Label labels = 1` of
 * `prometheus.TimeSeries`, proto/types.proto). A cumulative SDK reports the same series every
 * interval: the per-series state keeps these bytes, and the encoder copies them instead of
 * re-encoding the labels (DESIGN.md, performance principles). They also identify the series: two
 * label sets are equal exactly when their encodings are.
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
 * Sorted labels → their encoded fields. Copied with `Buffer.from`, which takes small buffers from
 * Node's shared 8 KiB pool: far less memory per series than an ArrayBuffer of its own.
 */
export function encodeLabelFields(labels: readonly Label[]): Uint8Array {
  writer.reset();
  writeLabelFields(writer, labels);
  return Buffer.from(writer.view());
}

/**
 * A 52-bit hash of encoded label fields (two 32-bit FNV-1a variants), for finding a series'
 * state by its labels; equal hashes are confirmed by comparing the bytes.
 */
export function hashLabelFields(bytes: Uint8Array): number {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] as number;
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return (a >>> 0) * 0x100000 + (b >>> 12);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The inverse of encodeLabelFields (for debug text, RW 2.0 and messages, which need the labels). */
export function decodeLabelFields(bytes: Uint8Array): Label[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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
