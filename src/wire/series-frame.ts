/**
 * The encoded steady state of one metric: every series as its RW 1.0 `TimeSeries` field
 * (`WriteRequest` field 1) with one float sample, back to back, exactly as encodeWriteRequest
 * writes them. A cumulative SDK reports the same series in the same order at every collection,
 * so the next export only overwrites each series' 8 value bytes and the timestamp varint in place,
 * and batching and the encoder copy whole runs of series (DESIGN.md, performance principles:
 * "a memcpy of cached label bytes plus 17 bytes of sample per series").
 *
 * The layout is fixed: a value is always written (a zero would be left out, as proto3 and
 * protobufjs do, and shorten the series), and every series has the same timestamp, whose varint
 * length is part of the layout. Whatever does not fit (a zero, another timestamp length) is for
 * the caller to send another way and to build the frame again.
 */
import type { EncodedSeriesBlock, Label } from '../model.js';
import { decodeLabelFields } from './label-fields.js';
import { varintLength } from './protobuf-writer.js';

const TIMESERIES_FIELD_KEY = 0x0a; // WriteRequest.timeseries = 1, length-delimited
const SAMPLES_FIELD_KEY = 0x12; // TimeSeries.samples = 2, length-delimited
const VALUE_FIELD_KEY = 0x09; // Sample.value = 1, fixed64
const TIMESTAMP_FIELD_KEY = 0x10; // Sample.timestamp = 2, varint

export class SeriesFrame implements EncodedSeriesBlock {
  readonly ends: Int32Array;
  private timestampLength: number;
  private readonly timestampBytes = new Uint8Array(10);
  /**
   * The first byte of the timestamp varint that `set` writes: the ones before it did not change
   * since the last timestamp, which every series of the frame carries (see retime).
   */
  private changedFrom = 0;

  private constructor(
    readonly family: string,
    readonly bytes: Buffer,
    ends: Int32Array,
    /** The timestamp every series carries now. */
    public timestampMs: number,
  ) {
    this.ends = ends;
    this.timestampLength = writeVarint(this.timestampBytes, 0, timestampMs);
  }

  /**
   * A frame of series with these encoded labels (latin1 strings, wire/label-fields.ts), values
   * and one timestamp. Every value must be a non-zero number and the timestamp positive.
   */
  static build(
    family: string,
    labels: readonly string[],
    values: ArrayLike<number>,
    timestampMs: number,
  ): SeriesFrame {
    const timestampLength = varintLength(timestampMs);
    const sampleSize = 1 + 8 + 1 + timestampLength;
    let total = 0;
    for (const l of labels) {
      const size = l.length + 2 + sampleSize;
      total += 1 + varintLength(size) + size;
    }
    const bytes = Buffer.allocUnsafe(total);
    const ends = new Int32Array(labels.length);
    const frame = new SeriesFrame(family, bytes, ends, timestampMs);
    let pos = 0;
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i] as string;
      bytes[pos++] = TIMESERIES_FIELD_KEY;
      pos = writeVarint(bytes, pos, l.length + 2 + sampleSize);
      pos += bytes.latin1Write(l, pos);
      bytes[pos++] = SAMPLES_FIELD_KEY;
      bytes[pos++] = sampleSize;
      bytes[pos++] = VALUE_FIELD_KEY;
      pos += 8;
      bytes[pos++] = TIMESTAMP_FIELD_KEY;
      pos += timestampLength;
      ends[i] = pos;
      frame.set(i, values[i] as number);
    }
    return frame;
  }

  get count(): number {
    return this.ends.length;
  }

  /**
   * Sets the timestamp that `set` writes from now on, for a frame every series of which was given
   * the last one by `set` (translate keeps no other). False when its varint has another length
   * than the frame's (about once in 70 years for millisecond times): the frame cannot take it.
   */
  retime(timestampMs: number): boolean {
    if (timestampMs === this.timestampMs) {
      this.changedFrom = this.timestampLength;
      return true;
    }
    if (timestampMs <= 0 || varintLength(timestampMs) !== this.timestampLength) return false;
    const t = this.timestampBytes;
    const before = t.slice(0, this.timestampLength);
    writeVarint(t, 0, timestampMs);
    let from = 0;
    while (from < this.timestampLength && t[from] === before[from]) from++;
    this.changedFrom = from;
    this.timestampMs = timestampMs;
    return true;
  }

  /** Series `index` gets `value` (a non-zero number) and the frame's timestamp. */
  set(index: number, value: number): void {
    const bytes = this.bytes;
    const length = this.timestampLength;
    const start = (this.ends[index] as number) - length;
    // The double's bytes, little-endian as the wire wants (Buffer#writeDoubleLE, without its checks).
    DOUBLE[0] = value;
    const v = start - 9;
    if (LITTLE_ENDIAN) for (let i = 0; i < 8; i++) bytes[v + i] = DOUBLE_BYTES[i] as number;
    else for (let i = 0; i < 8; i++) bytes[v + i] = DOUBLE_BYTES[7 - i] as number;
    const t = this.timestampBytes;
    for (let i = this.changedFrom; i < length; i++) bytes[start + i] = t[i] as number;
  }

  labelsOf(index: number): readonly Label[] {
    const start = index === 0 ? 0 : (this.ends[index - 1] as number);
    let pos = start + 1;
    while ((this.bytes[pos] as number) >= 0x80) pos++; // the length varint
    pos++;
    const labelsEnd = (this.ends[index] as number) - (2 + 1 + 8 + 1 + this.timestampLength);
    return decodeLabelFields(this.bytes.toString('latin1', pos, labelsEnd));
  }
}

const DOUBLE = new Float64Array(1);
const DOUBLE_BYTES = new Uint8Array(DOUBLE.buffer);
/** Typed arrays use the machine's byte order. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Writes the varint of a non-negative integer up to 2^53 at `pos`; returns the position after it. */
function writeVarint(out: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    out[pos++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[pos++] = value;
  return pos;
}
