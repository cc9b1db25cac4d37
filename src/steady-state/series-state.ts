/**
 * What the exporter remembers of each series between exports. Two receiver rules depend on it:
 * - samples of one series must have increasing timestamps, and two different values at one
 *   millisecond make Prometheus reject the whole request (RW1 §Ordering);
 * - a series that stops being reported gets one stale marker (RW1 §Stale Markers); for a
 *   native-histogram series that is a stale histogram (OTel spec §Staleness).
 * It is also the per-series cache that makes a steady-state export cheap (DESIGN.md, performance
 * principles): a cumulative SDK hands over the same attributes object for a stream at every
 * collection, in the same order, so translate finds the series' record from the point's position
 * and that object (`MetricStreams`) and reuses the record's encoded labels instead of sanitizing,
 * sorting and encoding them again.
 * A record that misses one export is evicted (after its stale marker), so the cache follows the
 * live series and does not grow under churn.
 * It keeps the metadata of each family it has seen, so that stale markers of a family that
 * vanished entirely still carry their type (RW 2.0 sends metadata on every series).
 */
import { diag, type Attributes } from '@opentelemetry/api';
import type {
  Label,
  LabelStringsOf,
  MetricFamilyMetadata,
  NativeHistogram,
  Sample,
  TimeSeries,
} from '../model.js';
import { encodeLabelFields } from '../wire/label-fields.js';
import type { SeriesFrame } from '../wire/series-frame.js';
import { staleNativeHistogram } from '../translate/native-histogram.js';
import { timeMillis } from '../translate/malformed.js';
import { RecordIndex, type KeyTest } from './record-index.js';
import { keyHash } from '../wire/key-hash.js';
import { NEVER, runSteps } from '../steps.js';
import {
  FramedRecords,
  hasKey,
  hasKeyBytes,
  isEncoded,
  isHistogram,
  keyOf,
  labelsOf,
  lastTimestampOf,
  newRecord,
  seenInExport,
  setEvicted,
  setHistogram,
  setLastTimestamp,
  setSeenInExport,
  type SeriesRecord,
} from './series-record.js';

/**
 * A series produced from a record: its labels, family and encoded labels are the record's.
 * Made by translate, which also admits it (SeriesState.place), or as a stale marker.
 */
export class CachedSeries implements TimeSeries {
  // Copied from the record while it is in cache, so that batching and encoding do not go back to it.
  readonly key: string;
  readonly family: string;
  readonly encodedLabels: string | undefined;
  readonly labelsSize: number | undefined;
  readonly identity: SeriesRecord;

  constructor(
    readonly record: SeriesRecord,
    readonly samples: Sample[],
    readonly histograms: NativeHistogram[] | undefined,
    readonly group: number | undefined,
    /** For a series whose record was made now, in RW 2.0: TimeSeries.labelStrings. */
    readonly labelStrings?: LabelStringsOf,
    readonly labelStringsAt = -1,
  ) {
    // Read once: a framed record's key is a new string each time (read from its frame).
    const key = keyOf(record);
    const encoded = isEncoded(record);
    this.key = key;
    this.family = record.family;
    this.encodedLabels = encoded ? key : undefined;
    this.labelsSize = encoded ? key.length : undefined;
    this.identity = record;
  }

  get labels(): readonly Label[] {
    return labelsOf(this.record);
  }
}

/** The records of a classic-histogram point: its `_bucket` series, then `_sum` if any, `_count`. */
export interface HistogramRecords {
  readonly records: readonly SeriesRecord[];
  readonly boundaries: readonly number[];
  readonly hasSum: boolean;
}

/**
 * The cache of one metric in one context (name, kind, resource and scope labels), by the position
 * of the point: a cumulative SDK reports a metric's streams in the same order at every collection
 * (new ones at the end), each with the attributes object it first recorded with. A point whose
 * attributes are that same object with the same keys and values gets the entry at once; any other
 * point is translated in full and takes the position over. Positions never outnumber the points
 * of the last export, so the cache cannot outgrow the data, whatever the producer does.
 */
export class MetricStreams {
  /**
   * Per position: the attributes object, the snapshot of its keys and values, and the entry.
   * Stored in chunks of CHUNK positions, so that no array ever holds more than CHUNK × stride
   * entries: a million-position array takes 5–20 ms to allocate, and about as long to copy when
   * it grows, in one go that no slice can split (and see CHUNK_BITS).
   * The snapshot is the object's keys in enumeration order (one array shared by the positions
   * with the same keys) and its values, from (position mod CHUNK) × `stride` in the chunk's
   * `values`. Flat, so that the check of every point in an export reads memory in order.
   */
  private chunks: StreamChunk[] = [];
  /** Positions in use: 0 … size − 1. */
  private size = 0;
  /** Positions expected (reserve): chunks up to there are made at their size. */
  private reserved = 0;
  private stride = 0;
  private readonly shapes = new Map<string, readonly string[]>();
  private lastShape: readonly string[] = NO_KEYS;
  usedInExport = 0;
  /** The export that made this cache: the metric's first (frames.ts builds its frame later). */
  createdInExport = 0;
  /**
   * The encoded series of the last export, by position, when they could all be framed (counters,
   * gauges and classic histograms sent as RW 1.0 only): the steady state patches it (frames.ts).
   */
  frame: SeriesFrame | undefined = undefined;
  /** The records of `frame`, while it is used whole. */
  framed: FramedRecords | undefined = undefined;
  /** For a frame of classic-histogram points: what all its points share. */
  frameShape: FrameShape | undefined = undefined;

  /**
   * Before a metric's points: the stride, from the first point, so that `values` need not be
   * re-laid; and the number of points, so that chunks are made at their size rather than grown
   * step by step (each step leaves the old arrays behind as garbage).
   */
  reserve(points: number, first: Attributes | undefined): void {
    if (this.size > 0) return;
    let stride = 0;
    for (const _ in first) stride++;
    this.stride = stride;
    this.reserved = points;
  }

  /** Positions in use: none before the metric's first point is cached. */
  get length(): number {
    return this.size;
  }

  /** The entry of the point at `index`, if it has the attributes the entry was made from. */
  get(index: number, attributes: Attributes): SeriesRecord | HistogramRecords | undefined {
    return this.matches(index, attributes)
      ? (this.chunks[index >>> CHUNK_BITS] as StreamChunk).entries[index & CHUNK_MASK]
      : undefined;
  }

  /** Whether the point at `index` has the attributes its entry was made from. */
  matches(index: number, attributes: Attributes): boolean {
    if (index >= this.size) return false;
    const chunk = this.chunks[index >>> CHUNK_BITS] as StreamChunk;
    const at = index & CHUNK_MASK;
    if (chunk.attributes[at] !== attributes) return false;
    // Still the same keys and values (an object may have been changed in place).
    const keys = chunk.keys[at] as readonly string[];
    const values = chunk.values;
    const base = at * this.stride;
    let j = 0;
    for (const key in attributes) {
      if (keys[j] !== key || values[base + j] !== attributes[key]) return false;
      j++;
    }
    return j === keys.length;
  }

  /**
   * The steady state of a framed counter or gauge (frames.ts): from point `from` to `to`, each point whose
   * attributes are still those of its position, with the frame's end time `endMs` (or the same
   * `end` array) and a number that the frame can take as value, gets it written in `frame`. Returns the
   * index of the first point that does not fit (`to` when all did). The `matches`
   * check, inlined: it is most of the work of a steady-state export.
   */
  patch(
    frame: SeriesFrame,
    points: readonly PointLike[],
    end: unknown,
    endMs: number,
    startOf: ((point: PointLike) => number) | undefined,
    from = 0,
    to = points.length,
  ): number {
    const stride = this.stride;
    let i = from;
    const last = Math.min(to, this.size);
    while (i < last) {
      // One chunk at a time.
      const chunk = this.chunks[i >>> CHUNK_BITS] as StreamChunk;
      const held = chunk.attributes;
      const allKeys = chunk.keys;
      const values = chunk.values;
      const offset = i & ~CHUNK_MASK;
      const stop = Math.min(last, offset + CHUNK);
      for (; i < stop; i++) {
        // The points may not have been checked (frames.ts addFramed): one that is no object, or
        // whose end time is no valid time, stops here as any other that does not fit.
        const point = points[i] as PointLike | null | undefined;
        if (typeof point !== 'object' || point === null) return i;
        const value = point.value;
        if (point.endTime !== end && timeMillis(point.endTime) !== endMs) return i;
        if (typeof value !== 'number' || !frame.fits(i, value)) return i;
        const attributes = point.attributes;
        const at = i - offset;
        if (held[at] !== attributes) return i;
        const keys = allKeys[at] as readonly string[];
        const base = at * stride;
        let j = 0;
        for (const key in attributes) {
          if (keys[j] !== key || values[base + j] !== attributes[key]) return i;
          j++;
        }
        if (j !== keys.length) return i;
        // RW 2.0 frames carry start times: a point whose start moved (a reset) leaves the frame.
        if (startOf !== undefined && !frame.startIs(i, startOf(point))) return i;
        frame.stage(i, value);
      }
    }
    return i;
  }

  /** The entry at `index` whatever the attributes, if it can be found again by them. */
  entryAt(index: number): SeriesRecord | HistogramRecords | undefined {
    if (index >= this.size) return undefined;
    const chunk = this.chunks[index >>> CHUNK_BITS] as StreamChunk;
    const at = index & CHUNK_MASK;
    return chunk.attributes[at] === EMPTY ? undefined : chunk.entries[at];
  }

  /**
   * `entry` for the point at `index` from now on. `shape`: what `keysOf` gave for these
   * attributes just before, if it was asked.
   */
  set(
    index: number,
    attributes: Attributes,
    entry: SeriesRecord | HistogramRecords,
    shape: readonly string[] | undefined | null = null,
  ): void {
    if (index > this.size) return; // keep the positions dense
    const keys = shape === null ? this.shapeOf(attributes) : shape;
    const stride = keys === undefined ? 0 : keys.length;
    if (stride > this.stride) this.widen(stride);
    const chunk = this.chunkFor(index);
    if (index === this.size) this.size++;
    const at = index & CHUNK_MASK;
    chunk.entries[at] = entry;
    if (keys === undefined) {
      // The position stays empty: this object is never matched.
      chunk.attributes[at] = EMPTY;
      chunk.keys[at] = NO_KEYS;
      return;
    }
    const base = at * this.stride;
    for (let j = 0; j < keys.length; j++) chunk.values[base + j] = attributes[keys[j] as string];
    for (let j = keys.length; j < this.stride; j++) chunk.values[base + j] = undefined;
    chunk.attributes[at] = attributes;
    chunk.keys[at] = keys;
  }

  /**
   * The object's keys in enumeration order, as the shared array of that list (`shape`), or
   * undefined when a value is an object: checkable by identity later are primitives only (an
   * array value could change in place). Most points have the keys of the point before: they are
   * compared with those without making an array (a new array a point was about a sixth of what a
   * first export allocates).
   */
  /**
   * The keys of a plain object (its prototype Object's, so that for…in gives its own keys only)
   * as `Object.keys` gives them, and as one array shared by the objects with the same keys:
   * undefined for any other object, or one with an object value (see shapeOf). A new array per
   * point was a quarter of what a first export allocated.
   */
  keysOf(attributes: Attributes): readonly string[] | undefined {
    return Object.getPrototypeOf(attributes) === Object.prototype ? this.shapeOf(attributes) : undefined;
  }

  private shapeOf(attributes: Attributes): readonly string[] | undefined {
    const last = this.lastShape;
    let n = 0;
    let same = true;
    for (const key in attributes) {
      const value = attributes[key];
      if (typeof value === 'object' && value !== null) return undefined;
      if (same && last[n] !== key) same = false;
      n++;
    }
    if (same && n === last.length) return last;
    const keys: string[] = [];
    for (const key in attributes) keys.push(key);
    return this.shape(keys);
  }

  /** After a metric's points: positions past its last point are dropped. */
  trim(points: number): void {
    if (this.size <= points) return;
    const chunks = Math.ceil(points / CHUNK);
    this.chunks.length = chunks;
    // What the last chunk holds past the end is let go of (old attributes objects, records).
    const tail = this.chunks[chunks - 1];
    if (tail !== undefined) {
      const at = points & CHUNK_MASK || CHUNK;
      const upTo = Math.min(CHUNK, this.size - (chunks - 1) * CHUNK);
      tail.attributes.fill(undefined, at, upTo);
      tail.keys.fill(undefined, at, upTo);
      tail.entries.fill(undefined, at, upTo);
      tail.values.fill(undefined, at * this.stride, upTo * this.stride);
    }
    this.size = points;
  }

  private chunkFor(index: number): StreamChunk {
    const c = index >>> CHUNK_BITS;
    let chunk = this.chunks[c];
    if (chunk === undefined) {
      // Made at the size reserved for it, else grown as positions are added (a metric of ten
      // points takes ten places, not CHUNK).
      const size = Math.min(CHUNK, Math.max(0, this.reserved - c * CHUNK));
      chunk =
        size > 0
          ? {
              attributes: new Array<object | undefined>(size),
              keys: new Array<readonly string[] | undefined>(size),
              entries: new Array<SeriesRecord | HistogramRecords | undefined>(size),
              values: new Array<unknown>(size * this.stride),
            }
          : { attributes: [], keys: [], entries: [], values: [] };
      this.chunks[c] = chunk;
    }
    return chunk;
  }

  /** One array for each list of keys (bounded: forgotten past 64 lists, then shared anew). */
  private shape(keys: string[]): readonly string[] {
    const id = keys.join('\u0000');
    const known = this.shapes.get(id);
    if (known !== undefined) return (this.lastShape = known);
    if (this.shapes.size >= 64) this.shapes.clear();
    this.shapes.set(id, keys);
    this.lastShape = keys;
    return keys;
  }

  /** Room for `stride` values per position. */
  private widen(stride: number): void {
    const oldStride = this.stride;
    for (const chunk of this.chunks) {
      const old = chunk.values;
      const positions = chunk.attributes.length;
      const values = new Array<unknown>(positions * stride);
      for (let i = 0; i < positions; i++) {
        for (let j = 0; j < oldStride; j++) values[i * stride + j] = old[i * oldStride + j];
      }
      chunk.values = values;
    }
    this.stride = stride;
  }
}

/**
 * Positions per chunk of MetricStreams: 1,024, so that a chunk's `values` (1,024 × stride) stays
 * under 16k entries for up to 15 attributes. V8 makes a larger array in its large-object space,
 * about 60 times slower: `new Array(16_000)` 7 µs, `new Array(16_384)` 0.6 ms (Node 20). With
 * chunks of 16,384 positions, making them was 8 % of a 100k-series first export (translate,
 * median of 5 processes side by side: 209 ms → 185 ms with 1,024).
 */
const CHUNK_BITS = 10;
const CHUNK = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK - 1;

interface StreamChunk {
  readonly attributes: Array<object | undefined>;
  readonly keys: Array<readonly string[] | undefined>;
  readonly entries: Array<SeriesRecord | HistogramRecords | undefined>;
  values: unknown[];
}

/** The points of a classic-histogram frame: one set of bounds, a sum or not. */
export interface FrameShape {
  readonly boundaries: readonly number[];
  readonly hasSum: boolean;
  /** Bounds before the first infinite one: the `_bucket` series before `+Inf`. */
  readonly finite: number;
  /** Series per point: `finite` + `+Inf` + `_sum` if any + `_count`. */
  readonly width: number;
}

/** What `patch` reads of a data point (`DataPoint` of the SDK). */
export interface PointLike {
  readonly attributes: Attributes;
  readonly startTime: unknown;
  readonly endTime: readonly [number, number];
  readonly value: unknown;
}

const EMPTY = {};
const NO_KEYS: readonly string[] = [];
const RECORD_KEYS: KeyTest<SeriesRecord> = { hasKey, hasKeyBytes };

export class SeriesState {
  private readonly records = new RecordIndex<SeriesRecord>(RECORD_KEYS);
  private readonly families = new Map<string, MetricFamilyMetadata>();
  private readonly streams = new Map<string, MetricStreams>();
  private current = 0;
  private open = false;
  private seenCount = 0;

  /** Starts an export: translate calls it first; `admit` ends it. */
  begin(): number {
    this.open = true;
    this.seenCount = 0;
    this.framedNew = 0;
    return ++this.current;
  }

  /**
   * Points whose new series the export under way has written straight into frames
   * (steady-state/frames.ts addNew): it stops doing so past a bound.
   */
  framedNew = 0;

  /** The export under way (begin), or the last one. */
  get exportNumber(): number {
    return this.current;
  }

  /** Whether an export is under way: begun and not yet admitted. */
  get isOpen(): boolean {
    return this.open;
  }

  /** `count` records not seen before in this export were marked seen (translate's steady state). */
  countSeen(count: number): void {
    this.seenCount += count;
  }

  /** The cache of one metric context, kept while the context appears in exports. */
  streamsFor(context: string): MetricStreams {
    let streams = this.streams.get(context);
    if (!streams) {
      streams = new MetricStreams();
      streams.createdInExport = this.current;
      this.streams.set(context, streams);
    }
    streams.usedInExport = this.current;
    return streams;
  }

  /** The record of the series with these (sorted) labels, created if new. */
  record(labels: readonly Label[], family: string): SeriesRecord {
    return this.recordOfKey(encodeLabelFields(labels), family);
  }

  /** The same by the labels' encoding (wire/label-fields.ts), and its `keyHash` if known. */
  recordOfKey(key: string, family: string, hash = keyHash(key)): SeriesRecord {
    let record = this.records.get(key, hash);
    if (!record) {
      record = newRecord(key, family, true, undefined, hash);
      this.records.add(record);
    }
    return record;
  }

  /** Room in the index for `count` new records (RecordIndex.reserveSteps). */
  reserveSteps(count: number, due: () => boolean): Generator<void, void, void> {
    return this.records.reserveSteps(count, due);
  }

  /** The record whose key (encoded labels) is `length` bytes from `from`, with this `keyHash`, if known. */
  recordOfBytes(bytes: Uint8Array, from: number, length: number, hash: number): SeriesRecord | undefined {
    return this.records.getBytes(bytes, from, length, hash);
  }

  /**
   * Keeps the record of a new series whose encoded labels were appended to a frame in this
   * export (series-record.ts framedRecord), known to no record yet (recordOfBytes).
   */
  addFramed(record: SeriesRecord): void {
    this.records.add(record);
  }

  /**
   * Makes every sample of `series` later than what was sent before for that series. A sample
   * at or before the last one (two collections in one millisecond, a clock step back) is moved
   * to 1 ms after it rather than dropped: for cumulative data the newest value is the one that
   * matters, and dropping it would lose the last value of a short job.
   * Native-histogram samples are kept in order the same way.
   * Then returns stale markers for the series of the previous export that are missing now (in no
   * particular order: the records are kept in a hash table, record-index.ts), and
   * forgets those series.
   *
   * With `metadata` (the export's metadata map), the metadata of every family is remembered,
   * and entries for the families of the returned stale markers are added to the map if missing.
   */
  admit(series: TimeSeries[], nowMs: number, metadata?: Map<string, MetricFamilyMetadata>): TimeSeries[] {
    return runSteps(this.admitSteps(series, nowMs, metadata, NEVER));
  }

  /** The same in steps: the look for missing series pauses every few thousand when `due()` says so. */
  *admitSteps(
    series: TimeSeries[],
    nowMs: number,
    metadata: Map<string, MetricFamilyMetadata> | undefined,
    due: () => boolean,
  ): Generator<void, TimeSeries[], void> {
    const exportNumber = this.open ? this.current : this.begin();
    this.open = false;
    if (metadata) for (const [family, meta] of metadata) this.families.set(family, meta);
    // Series from translate were admitted there (place), while their records were in cache.
    for (const s of series) if (!(s instanceof CachedSeries)) this.place(this.keyedRecord(s), s);
    for (const [context, streams] of this.streams) {
      if (streams.usedInExport !== exportNumber) this.streams.delete(context);
    }
    // Every known series was seen (steady state): nothing to look for.
    if (this.seenCount === this.records.size) return [];
    const stale: TimeSeries[] = [];
    let looked = 0;
    for (const record of this.records.values()) {
      if ((++looked & 4095) === 0 && due()) yield;
      if (seenInExport(record) === exportNumber) continue;
      stale.push(this.staleSeries(record, nowMs));
      setEvicted(record, true);
      this.records.delete(record);
    }
    // After many series ended, the index gives back the room they took.
    if (stale.length > 0) yield* this.records.shrinkSteps(due);
    if (metadata) this.addMetadata(stale, metadata);
    return stale;
  }

  /** Admits one series of the export under way: marks it seen and keeps its samples in order. */
  place(record: SeriesRecord, s: TimeSeries): void {
    if (seenInExport(record) !== this.current) {
      setSeenInExport(record, this.current);
      this.seenCount++;
    }
    const histograms = s.histograms;
    const histogram = histograms !== undefined && histograms.length > 0;
    setHistogram(record, histogram);
    if (histogram) inOrder(record, histograms as NativeHistogram[], 'histogram', s);
    else inOrder(record, s.samples, 'sample', s);
  }

  /**
   * Stale markers for every known series, forgetting them all (shutdown). With `metadata`, the
   * remembered metadata of their families is added to it.
   */
  staleAll(nowMs: number, metadata?: Map<string, MetricFamilyMetadata>): TimeSeries[] {
    const stale: TimeSeries[] = [];
    for (const record of this.records.values()) {
      stale.push(this.staleSeries(record, nowMs));
      setEvicted(record, true);
    }
    this.records.clear();
    this.streams.clear();
    if (metadata) this.addMetadata(stale, metadata);
    return stale;
  }

  get size(): number {
    return this.records.size;
  }

  /** Series built outside translate (tests, tools) are known by their `key`. */
  private keyedRecord(s: TimeSeries): SeriesRecord {
    let record = this.records.get(s.key);
    if (!record) {
      record = newRecord(s.key, s.family, false, s.labels);
      this.records.add(record);
    }
    return record;
  }

  private addMetadata(stale: readonly TimeSeries[], metadata: Map<string, MetricFamilyMetadata>): void {
    for (const s of stale) {
      const meta = this.families.get(s.family);
      if (meta && !metadata.has(s.family)) metadata.set(s.family, meta);
    }
  }

  private staleSeries(record: SeriesRecord, nowMs: number): TimeSeries {
    const timestampMs = Math.max(nowMs, lastTimestampOf(record) + 1);
    if (isHistogram(record)) {
      return new CachedSeries(record, [], [staleNativeHistogram(timestampMs)], undefined);
    }
    return new CachedSeries(record, [{ value: NaN, timestampMs, stale: true }], undefined, undefined);
  }
}

/**
 * Moves each item at or before the record's last timestamp to 1 ms after it (replacing the item,
 * which may be shared), and advances the record's last timestamp.
 */
function inOrder<T extends { readonly timestampMs: number }>(
  record: SeriesRecord,
  items: T[],
  what: string,
  s: TimeSeries,
): void {
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as T;
    const last = lastTimestampOf(record);
    if (item.timestampMs <= last) {
      const moved = last + 1;
      diag.debug(
        `prometheus remote write: ${what} of ${describe(s.labels)} moved from ${item.timestampMs} to ${moved} ms to keep its series in order`,
      );
      items[i] = { ...item, timestampMs: moved };
    }
    setLastTimestamp(record, (items[i] as T).timestampMs);
  }
}

/** `name{a="b",…}` for messages. */
export function describe(labels: readonly Label[]): string {
  const name = labels.find((l) => l.name === '__name__')?.value ?? '';
  const rest = labels.filter((l) => l.name !== '__name__').map((l) => `${l.name}=${JSON.stringify(l.value)}`);
  return `${name}{${rest.join(',')}}`;
}
