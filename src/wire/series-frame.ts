/**
 * The encoded steady state of one metric: every series as its RW 1.0 `TimeSeries` field
 * (`WriteRequest` field 1) with one float sample, back to back, exactly as encodeWriteRequest
 * writes them. A cumulative SDK reports the same series in the same order at every collection,
 * so the next export only overwrites each series' 8 value bytes and the timestamp varint in place,
 * and batching and the encoder copy whole runs of series (DESIGN.md, performance principles:
 * "a memcpy of cached label bytes plus 17 bytes of sample per series").
 *
 * The layout is fixed: a series whose value was +0 has no value field (proto3 and protobufjs
 * leave a default out), every other series has one, and every series has the same timestamp,
 * whose varint length is part of the layout. Whatever does not fit (a value becoming or ceasing
 * to be +0, another timestamp length: `fits`, `retime`) is for the caller to send another way and
 * to build the frame again. A cumulative counter or histogram bucket at 0 stays there until its
 * first count, so this is rare.
 */
import {
  IDENTITY_SLOT_SHIFT,
  type EncodedSeriesBlock,
  type Label,
  type LabelStringsOf,
  type SeriesIdentity,
} from '../model.js';
import { decodeLabelFields } from './label-fields.js';
import { varintLength, writesDouble, writeVarint } from './protobuf-writer.js';
import { NEVER, runSteps } from '../steps.js';
import type { ReadList } from '../chunked-list.js';

const TIMESERIES_FIELD_KEY = 0x0a; // WriteRequest.timeseries = 1, length-delimited
const SAMPLES_FIELD_KEY = 0x12; // TimeSeries.samples = 2, length-delimited
const VALUE_FIELD_KEY = 0x09; // Sample.value = 1, fixed64
const TIMESTAMP_FIELD_KEY = 0x10; // Sample.timestamp = 2, varint

/**
 * Where each series goes in a frame whose series are grouped by delivery shard (exporter.ts), so
 * that a shard's part of the frame is one run: `position[i]` is the slot of series `i`, and shard
 * k's series are slots `shardEnds[k − 1]` (0 for the first) to `shardEnds[k]`.
 */
export interface FrameLayout {
  readonly position: Int32Array;
  readonly shardEnds: Int32Array;
}

/** What a frame keeps besides its RW 1.0 bytes, so that RW 2.0 can be written from it (wire/rw2.ts). */
export interface FrameExtras {
  readonly layout?: FrameLayout;
  /** Per series (in the order of `labels`): its start time in ms, 0 for none. A frame's starts never change. */
  readonly starts?: ArrayLike<number>;
  /**
   * The frame is only ever written as RW 2.0 (wire/rw2.ts): `set` keeps the values in an array
   * of their own, 8 bytes a series read in order, and not in `bytes`, whose samples then stay as
   * built. Patching a request body from the frame read each value at its place in the frame's
   * bytes, a cache miss a series (about 45 ns at 100k series).
   */
  readonly valuesApart?: boolean;
}

export class SeriesFrame implements EncodedSeriesBlock {
  /** By slot (see FrameLayout): `ends`, `labelsOf` and runs count slots; `set` and `fits` series. */
  readonly ends: Int32Array;
  readonly shardEnds: Int32Array | undefined;
  private readonly position: Int32Array | undefined;
  /** By slot, when built with them (FrameExtras). */
  private readonly starts: Float64Array | undefined;
  /** 1 where the series' value is +0: no value field. */
  private readonly zero: Uint8Array;
  /**
   * By series (not slot): where its timestamp starts, times 2, plus 1 where it has no value
   * field. `fits` and `set` read one entry in series order, where reading the slot, then the
   * slot's end and flag, costs a scattered read a series in a frame laid out by shard
   * (`maxConcurrentRequests` 4, 100k counters: translate's steady export 1.2× one shard's, 1.1×
   * with this). Unsigned: twice a byte offset that `ends` (Int32) holds.
   */
  private readonly sampleAt: Uint32Array;
  /** By slot, the 8 bytes of each value as `set` wrote it, when kept apart (FrameExtras.valuesApart). */
  private readonly values: Uint8Array | undefined;
  /**
   * In a frame laid out by shard whose values are in `bytes`: by series, the value `stage` was
   * given last, and by slot, its series. `stage` writes here in series order and `commit` writes
   * a run's samples in slot order: writing each series' sample at its slot as it came was one
   * scattered write a series (`maxConcurrentRequests` 4, 100k counters: translate's steady export
   * about 0.7 ms over one shard's 7.7 ms).
   */
  private readonly staged: Float64Array | undefined;
  private readonly seriesAt: Int32Array | undefined;
  private timestampLength: number;
  private readonly timestampBytes = new Uint8Array(10);
  /**
   * The first byte of the timestamp varint that `set` writes: the ones before it did not change
   * since the last timestamp, which every series of the frame carries (see retime).
   */
  private changedFrom = 0;

  /** The series' bytes: replaced as a frame being filled grows (`append`), so read it here each time. */
  private data: Buffer;
  /** Series written so far by `append`; all of them (`count`) for a frame built whole. */
  private filled: number;
  /**
   * For the series `append` wrote in its export, where their label strings are in `labelStrings`
   * (RW 2.0: wire/rw2.ts reads them rather than the bytes); let go of at the next `retime`.
   */
  labelStrings: LabelStringsOf | undefined = undefined;
  labelStringsAt: Int32Array | undefined = undefined;
  // An open frame being filled (room, append): where the next labels go, the length of the last
  // series' field header, and the next of LOOKS.
  private dataView: DataView;
  private labelsAt = 0;
  private header = 3;
  private looks = 0;

  private constructor(
    readonly family: string,
    bytes: Buffer,
    ends: Int32Array,
    zero: Uint8Array,
    /** The timestamp every series carries now. */
    public timestampMs: number,
    layout: FrameLayout | undefined,
    seriesAt: Int32Array,
    starts: Float64Array | undefined,
    valuesApart: boolean,
  ) {
    this.ends = ends;
    this.data = bytes;
    this.dataView = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    this.filled = ends.length;
    this.zero = zero;
    this.sampleAt = new Uint32Array(ends.length);
    this.values = valuesApart ? new Uint8Array(8 * ends.length) : undefined;
    this.position = layout?.position;
    this.shardEnds = layout?.shardEnds;
    const staging = layout !== undefined && !valuesApart;
    this.staged = staging ? new Float64Array(ends.length) : undefined;
    this.seriesAt = staging ? seriesAt : undefined;
    this.starts = starts;
    this.timestampLength = writeVarint(this.timestampBytes, 0, timestampMs);
  }

  /**
   * A frame of series with these encoded labels (latin1 strings, wire/label-fields.ts), values
   * and one timestamp, which must be positive; in this order, or at the slots of `layout`.
   */
  static build(
    family: string,
    labels: readonly string[],
    values: ArrayLike<number>,
    timestampMs: number,
    extras: FrameExtras = {},
  ): SeriesFrame {
    return runSteps(SeriesFrame.buildSteps(family, labels, values, timestampMs, extras, NEVER));
  }

  /** The same in steps, pausing every few thousand series when `due()` says so. */
  static *buildSteps(
    family: string,
    labels: ReadList<string>,
    values: ArrayLike<number>,
    timestampMs: number,
    extras: FrameExtras,
    due: () => boolean,
  ): Generator<void, SeriesFrame, void> {
    const { layout } = extras;
    const n = labels.length;
    const timestampLength = varintLength(timestampMs);
    // Series by slot.
    const at = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      if ((i & LOOP_MASK) === LOOP_MASK && due()) yield;
      at[layout ? (layout.position[i] as number) : i] = i;
    }
    const given = extras.starts;
    const starts = given === undefined ? undefined : new Float64Array(n);
    const zero = new Uint8Array(n);
    let total = 0;
    for (let slot = 0; slot < n; slot++) {
      if ((slot & STEP_MASK) === STEP_MASK && due()) yield;
      const i = at[slot] as number;
      if (starts !== undefined) starts[slot] = (given as ArrayLike<number>)[i] as number;
      if (isPlusZero(values[i] as number)) zero[slot] = 1;
      const size = (labels.at(i) as string).length + 2 + sampleSize(zero[slot] === 1, timestampLength);
      total += 1 + varintLength(size) + size;
    }
    const bytes = Buffer.allocUnsafe(total);
    const ends = new Int32Array(n);
    const frame = new SeriesFrame(
      family,
      bytes,
      ends,
      zero,
      timestampMs,
      layout,
      at,
      starts,
      extras.valuesApart === true,
    );
    let pos = 0;
    for (let slot = 0; slot < n; slot++) {
      if ((slot & STEP_MASK) === STEP_MASK && due()) yield;
      const l = labels.at(at[slot] as number) as string;
      const inner = sampleSize(zero[slot] === 1, timestampLength);
      bytes[pos++] = TIMESERIES_FIELD_KEY;
      pos = writeVarint(bytes, pos, l.length + 2 + inner);
      pos += bytes.latin1Write(l, pos, l.length); // the length given: workerd's Buffer needs it
      bytes[pos++] = SAMPLES_FIELD_KEY;
      bytes[pos++] = inner;
      if (zero[slot] === 0) {
        bytes[pos++] = VALUE_FIELD_KEY;
        pos += 8;
      }
      bytes[pos++] = TIMESTAMP_FIELD_KEY;
      pos += timestampLength;
      ends[slot] = pos;
    }
    // Samples as built, whether or not the values are kept apart from them.
    const sampleAt = frame.sampleAt;
    for (let i = 0; i < n; i++) {
      if ((i & STEP_MASK) === STEP_MASK && due()) yield;
      const slot = layout ? (layout.position[i] as number) : i;
      const at = ((ends[slot] as number) - timestampLength) * 2 + (zero[slot] as number);
      sampleAt[i] = at;
      frame.writeSample(at, values[i] as number);
      if (frame.values !== undefined) frame.set(i, values[i] as number);
      if (frame.staged !== undefined) frame.staged[i] = values[i] as number;
    }
    return frame;
  }

  /**
   * An empty frame for `capacity` series with this timestamp (positive), in the order `append`
   * gives them; with room for their start times if `withStarts`. For a metric's first export,
   * whose new series are written here as they are made (steady-state/frames.ts): no string and no
   * series object per series, and the frame is ready for the next export.
   */
  static open(
    family: string,
    capacity: number,
    timestampMs: number,
    withStarts: boolean,
    valuesApart: boolean,
  ): SeriesFrame {
    const frame = new SeriesFrame(
      family,
      Buffer.allocUnsafe(0),
      new Int32Array(capacity),
      new Uint8Array(capacity),
      timestampMs,
      undefined,
      NO_SLOTS,
      withStarts ? new Float64Array(capacity) : undefined,
      valuesApart,
    );
    frame.filled = 0;
    return frame;
  }

  /** Series written so far (`append`). */
  get length(): number {
    return this.filled;
  }

  /**
   * Makes room for the encoded labels of the next series of an open frame, `size` bytes at most,
   * and returns where they go: the caller writes them there (LabelsTarget), then `append`s the
   * series. They go after the header the last series had, and are moved if theirs differs.
   */
  room(size: number): number {
    const slot = this.filled;
    const pos = slot === 0 ? 0 : (this.ends[slot - 1] as number);
    const need = pos + MAX_HEADER + size + MAX_SAMPLE;
    if (need > this.data.length || slot === LOOKS[this.looks]) this.grow(need, pos, slot);
    this.labelsAt = pos + this.header;
    return this.labelsAt;
  }

  /**
   * Appends the next series of an open frame: its encoded labels, `length` bytes written where
   * `room` said, its value and start time (ms, 0 for none). Returns its slot.
   */
  append(length: number, value: number, startMs: number): number {
    const slot = this.filled;
    const zero = isPlusZero(value);
    const inner = sampleSize(zero, this.timestampLength);
    const size = length + 2 + inner;
    let pos = slot === 0 ? 0 : (this.ends[slot - 1] as number);
    const bytes = this.data;
    const header = 1 + varintLength(size);
    if (header !== this.header) {
      bytes.copyWithin(pos + header, this.labelsAt, this.labelsAt + length);
      this.header = header;
    }
    bytes[pos++] = TIMESERIES_FIELD_KEY;
    pos = writeVarint(bytes, pos, size) + length;
    bytes[pos++] = SAMPLES_FIELD_KEY;
    bytes[pos++] = inner;
    if (!zero) {
      bytes[pos++] = VALUE_FIELD_KEY;
      pos += 8;
    }
    bytes[pos++] = TIMESTAMP_FIELD_KEY;
    const t = this.timestampBytes;
    for (let i = 0; i < this.timestampLength; i++) bytes[pos + i] = t[i] as number;
    pos += this.timestampLength;
    this.ends[slot] = pos;
    if (zero) this.zero[slot] = 1;
    if (this.starts !== undefined) this.starts[slot] = startMs;
    const at = (pos - this.timestampLength) * 2 + (zero ? 1 : 0);
    this.sampleAt[slot] = at;
    this.filled = slot + 1;
    this.writeSample(at, value);
    if (this.values !== undefined) this.set(slot, value);
    return slot;
  }

  /**
   * Room for `need` bytes, the `used` bytes of the first `slot` series kept. The first series
   * make room for LOOKS[0] of their size at most (`need`, an upper bound); then the frame is sized
   * for all its series as if each took what the ones so far took on average, with a margin
   * (MARGIN), and looked at again at a few series counts (LOOKS), while a copy is still small.
   * Growing by doubling as it filled copied a 1M-series frame (some 250 MB) in one go, late. Room
   * never written is not resident memory, and `trimSteps` gives it back after the export. A frame
   * sized again at every look (1M series, 300 MB each time) held the thread 30–40 ms outside the
   * collections each allocation set off.
   */
  private grow(need: number, used: number, slot: number): void {
    const capacity = this.ends.length;
    const look = slot === LOOKS[this.looks];
    if (look) this.looks++;
    let size: number;
    if (slot === 0) size = need * Math.min(capacity, LOOKS[0] as number);
    else {
      const expected = (used / slot) * capacity;
      const projected = Math.ceil(expected * MARGIN) + MAX_HEADER + MAX_SAMPLE;
      // After the first look, a later one sizes again only a frame its series would not fit:
      // every large allocation also sets off a collection (V8 counts it as external memory).
      if (look && this.looks > 1 && expected <= this.data.length && need <= this.data.length) return;
      size = Math.max(projected, need);
      if (need > this.data.length && this.looks > 1)
        size = Math.max(size, Math.ceil(this.data.length * MARGIN));
    }
    const grown = Buffer.allocUnsafe(size);
    this.data.copy(grown, 0, 0, used);
    this.hold(grown);
  }

  /** Its bytes from now on: `bytes`, and their DataView (LabelsTarget). */
  private hold(bytes: Buffer): void {
    this.data = bytes;
    this.dataView = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  }

  /** The bytes its series take (those `append` wrote so far, in an open frame). */
  private get usedBytes(): number {
    return this.filled === 0 ? 0 : (this.ends[this.filled - 1] as number);
  }

  /**
   * Done appending: a frame of up to SEAL_AT_MOST bytes (sized from its first series, an upper
   * bound) gives back the room it did not use at once (trimSteps in one go); a larger one, sized
   * from the series it held at its looks, is trimmed between exports.
   */
  seal(): void {
    if (this.usedBytes <= SEAL_AT_MOST) runSteps(this.trimSteps(NEVER));
  }

  /**
   * The room a frame does not use given back, in steps: the bytes copied into a buffer of their size a few MiB at a
   * time, pausing when `due()` says so, and swapped in at the end (a frame's bytes are read only
   * between steps through `bytes`, which still holds them all until then).
   */
  *trimSteps(due: () => boolean): Generator<void, void, void> {
    const used = this.usedBytes;
    if (this.data.length - used <= used / 64 + 64) return;
    const exact = Buffer.allocUnsafe(used);
    const from = this.data;
    for (let at = 0; at < used; at += TRIM_STEP) {
      if (at > 0 && due()) yield;
      from.copy(exact, at, at, Math.min(used, at + TRIM_STEP));
    }
    // Grown or trimmed since the copy began: keep what it has.
    if (from !== this.data) return;
    this.hold(exact);
  }

  /** Where `room` put the next series' labels. */
  get labelsStartOfNext(): number {
    return this.labelsAt;
  }

  /** A DataView of `bytes` (LabelsTarget). */
  get view(): DataView {
    return this.dataView;
  }

  get bytes(): Buffer {
    return this.data;
  }

  /** The slot of series `index`. */
  slotOf(index: number): number {
    return this.position === undefined ? index : (this.position[index] as number);
  }

  get count(): number {
    return this.ends.length;
  }

  get valuesApart(): boolean {
    return this.values !== undefined;
  }

  /**
   * Sets the timestamp that `set` writes from now on, for a frame every series of which was given
   * the last one by `set` (translate keeps no other). False when its varint has another length
   * than the frame's (about once in 70 years for millisecond times): the frame cannot take it.
   */
  retime(timestampMs: number): boolean {
    this.labelStrings = undefined;
    this.labelStringsAt = undefined;
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

  /** Whether series `index` has this start time (ms, 0 for none): a frame's starts never change. */
  startIs(index: number, startMs: number): boolean {
    const slot = this.position === undefined ? index : (this.position[index] as number);
    return (this.starts === undefined ? 0 : (this.starts[slot] as number)) === startMs;
  }

  /** The start time (ms, 0 for none) of the series at `slot`. */
  startAt(slot: number): number {
    return this.starts === undefined ? 0 : (this.starts[slot] as number);
  }

  /** Whether the series at `slot` has a value field (its value is not +0). */
  hasValue(slot: number): boolean {
    return this.zero[slot] === 0;
  }

  /** The value of the series at `slot` (+0 where it has no value field). */
  valueAt(slot: number): number {
    if (this.zero[slot] === 1) return 0;
    this.copyValue(slot, DOUBLE_BYTES, 0);
    if (!LITTLE_ENDIAN) DOUBLE_BYTES.reverse();
    return DOUBLE[0] as number;
  }

  /** Writes the 8 bytes of the value of the series at `slot` (one that `hasValue`) to `target` at `at`, little-endian. */
  copyValue(slot: number, target: Uint8Array, at: number): void {
    const values = this.values;
    if (values === undefined) {
      const from = (this.ends[slot] as number) - this.timestampLength - 9;
      const bytes = this.bytes;
      for (let i = 0; i < 8; i++) target[at + i] = bytes[from + i] as number;
    } else {
      const from = 8 * slot;
      if (LITTLE_ENDIAN) for (let i = 0; i < 8; i++) target[at + i] = values[from + i] as number;
      else for (let i = 0; i < 8; i++) target[at + i] = values[from + 7 - i] as number;
    }
  }

  /** Whether series `index` can take `value`: +0 where it had +0, anything else elsewhere. */
  fits(index: number, value: number): boolean {
    return (((this.sampleAt[index] as number) & 1) === 1) === isPlusZero(value);
  }

  /** Series `index` gets `value` (one that `fits`) and the frame's timestamp. */
  set(index: number, value: number): void {
    const values = this.values;
    if (values !== undefined) {
      const slot = this.position === undefined ? index : (this.position[index] as number);
      DOUBLE[0] = value;
      const v = 8 * slot;
      for (let i = 0; i < 8; i++) values[v + i] = DOUBLE_BYTES[i] as number;
      return;
    }
    if (this.staged !== undefined) this.staged[index] = value; // what a later commit writes
    this.writeSample(this.sampleAt[index] as number, value);
  }

  /**
   * What `set` does, but in a frame laid out by shard whose values are in `bytes`, the sample is
   * written by `commit`, when its slot is handed over in a run: `stage` all that an export sets,
   * then `commit` each run before its bytes are read.
   */
  stage(index: number, value: number): void {
    const staged = this.staged;
    if (staged === undefined) this.set(index, value);
    else staged[index] = value;
  }

  /** Writes the samples `stage` kept for slots `from`…`to` (a run about to be read), in slot order. */
  commit(from: number, to: number): void {
    const staged = this.staged;
    if (staged === undefined) return;
    const seriesAt = this.seriesAt as Int32Array;
    const ends = this.ends;
    const zero = this.zero;
    const length = this.timestampLength;
    for (let slot = from; slot < to; slot++) {
      const at = ((ends[slot] as number) - length) * 2 + (zero[slot] as number);
      this.writeSample(at, staged[seriesAt[slot] as number] as number);
    }
  }

  /** The value and the timestamp of a series (its `sampleAt` entry) written into `bytes`. */
  private writeSample(at: number, value: number): void {
    const bytes = this.bytes;
    const length = this.timestampLength;
    const start = at >>> 1;
    if ((at & 1) === 0) {
      // The double's bytes, little-endian as the wire wants (Buffer#writeDoubleLE, without its checks).
      DOUBLE[0] = value;
      const v = start - 9;
      if (LITTLE_ENDIAN) for (let i = 0; i < 8; i++) bytes[v + i] = DOUBLE_BYTES[i] as number;
      else for (let i = 0; i < 8; i++) bytes[v + i] = DOUBLE_BYTES[7 - i] as number;
    }
    const t = this.timestampBytes;
    for (let i = this.changedFrom; i < length; i++) bytes[start + i] = t[i] as number;
  }

  /** The labels of the series at `slot`. */
  labelsOf(slot: number): readonly Label[] {
    return decodeLabelFields(this.encodedLabelsOf(slot));
  }

  /** The encoded labels of the series at `slot` (wire/label-fields.ts: one character a byte). */
  encodedLabelsOf(slot: number): string {
    const start = this.labelsStart(slot);
    return this.bytes.toString('latin1', start, start + this.labelsLength(slot));
  }

  /** Whether the series at `slot` has the encoded labels of the series at `otherSlot` of `other`. */
  sameLabelsAs(slot: number, other: SeriesFrame, otherSlot: number): boolean {
    const length = this.labelsLength(slot);
    if (length !== other.labelsLength(otherSlot)) return false;
    const start = this.labelsStart(slot);
    const otherStart = other.labelsStart(otherSlot);
    return this.bytes.compare(other.bytes, otherStart, otherStart + length, start, start + length) === 0;
  }

  /** Whether the series at `slot` has the encoded labels held in `length` bytes of `labels` from `from`. */
  hasLabelBytes(slot: number, labels: Uint8Array, from: number, length: number): boolean {
    if (this.labelsLength(slot) !== length) return false;
    const bytes = this.data;
    const start = this.labelsStart(slot);
    for (let i = 0; i < length; i++) if (bytes[start + i] !== labels[from + i]) return false;
    return true;
  }

  /** Whether the series at `slot` has these encoded labels, read in place. */
  hasEncodedLabels(slot: number, encoded: string): boolean {
    const length = this.labelsLength(slot);
    if (length !== encoded.length) return false;
    const bytes = this.bytes;
    const start = this.labelsStart(slot);
    for (let i = 0; i < length; i++) if (bytes[start + i] !== encoded.charCodeAt(i)) return false;
    return true;
  }

  /** The length of the encoded labels of the series at `slot`. */
  labelsLength(slot: number): number {
    return (
      (this.ends[slot] as number) -
      2 -
      sampleSize(this.zero[slot] === 1, this.timestampLength) -
      this.labelsStart(slot)
    );
  }

  /** Where they start: after the TimeSeries field's key and length. */
  private labelsStart(slot: number): number {
    let pos = (slot === 0 ? 0 : (this.ends[slot - 1] as number)) + 1;
    while ((this.bytes[pos] as number) >= 0x80) pos++; // the length varint
    return pos + 1;
  }
}

/** The `Sample` message: the value field unless the value is +0, and the timestamp field. */
function sampleSize(zero: boolean, timestampLength: number): number {
  return (zero ? 0 : 9) + 1 + timestampLength;
}

/** +0, the proto3 default, which the encoder leaves out. */
function isPlusZero(value: number): boolean {
  return !writesDouble(value);
}

/** Series built between two looks at `due` (buildSteps): 1,024. */
const STEP_MASK = 1023;
/** Entries of the plain loops over all series (the slot index) between two looks: 16,384. */
const LOOP_MASK = 16_383;

const NO_SLOTS = new Int32Array(0);
/** The series counts of an open frame at which its size is looked at again (grow), and its margin then. */
const LOOKS = [1_024, 16_384];
const MARGIN = 1.25;
/** Bytes copied a step by `trimSteps`: into memory not touched before, 4 MiB took 14–15 ms at 1M series. */
const TRIM_STEP = 1 << 20;
/** The most bytes `seal` copies (about 1 ms). */
const SEAL_AT_MOST = 1 << 20;
/** A TimeSeries field's key and length (a varint of up to 5 bytes); its Sample field at most (key, length, value, timestamp). */
const MAX_HEADER = 6;
const MAX_SAMPLE = 2 + 9 + 1 + 10;
const DOUBLE = new Float64Array(1);
const DOUBLE_BYTES = new Uint8Array(DOUBLE.buffer);
/** Typed arrays use the machine's byte order. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The slot of a series' identity in the frame that holds its encoded labels (model.ts SeriesIdentity). */
export function identitySlot(id: SeriesIdentity): number {
  return id.slotFlags >>> IDENTITY_SLOT_SHIFT;
}

/** The key of a series' identity: as such, or read from the frame that holds it (a new string). */
export function identityKey(id: SeriesIdentity): string {
  const where = id.where;
  return typeof where === 'string' ? where : (where as SeriesFrame).encodedLabelsOf(identitySlot(id));
}
