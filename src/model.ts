/**
 * The data model in the middle of the pipeline: what translate produces and what the wire
 * encoders (and, later, the debug text) consume. It knows nothing of OpenTelemetry or HTTP.
 */

export interface Label {
  readonly name: string;
  readonly value: string;
}

export interface Sample {
  readonly value: number;
  /** Milliseconds since the Unix epoch (RW1 §Protocol). */
  readonly timestampMs: number;
  /**
   * A Prometheus stale marker. Carried as a flag, not as a NaN value, because JavaScript may
   * change a NaN's bits; the encoder writes the marker's exact bytes (RW1 §Stale Markers).
   */
  readonly stale?: boolean;
  /** Start of the cumulative period, ms (RW2 `Sample.start_timestamp`); RW1 cannot carry it. */
  readonly startTimestampMs?: number;
}

/** A run of consecutive native-histogram buckets (`prometheus.BucketSpan`). */
export interface BucketSpan {
  /** Gap to the previous span, or the start index of the first span; zig-zag on the wire. */
  readonly offset: number;
  readonly length: number;
}

/** Values of `Histogram.ResetHint` (RW1) / `Histogram.ResetHint` (RW2, same numbers). */
export const ResetHint = { UNKNOWN: 0, YES: 1, NO: 2, GAUGE: 3 } as const;
export type ResetHint = (typeof ResetHint)[keyof typeof ResetHint];

/**
 * A Prometheus native histogram sample, integer-count flavour (`prometheus.Histogram`, RW1 field 4
 * of TimeSeries; RW2 `io.prometheus.write.v2.Histogram`).
 */
export interface NativeHistogram {
  readonly count: number;
  readonly sum: number;
  /** −4…8 for exponential buckets, −53 for custom buckets (`customValues`). */
  readonly schema: number;
  readonly zeroThreshold: number;
  readonly zeroCount: number;
  readonly negativeSpans: readonly BucketSpan[];
  /** Bucket counts as deltas: the first count, then each count minus the previous one. */
  readonly negativeDeltas: readonly number[];
  readonly positiveSpans: readonly BucketSpan[];
  readonly positiveDeltas: readonly number[];
  readonly resetHint: ResetHint;
  readonly timestampMs: number;
  readonly startTimestampMs?: number;
  /** Upper bounds of custom buckets (schema −53), without +Inf. */
  readonly customValues?: readonly number[];
  /** A stale marker: encoded with the stale NaN as sum (OTS §Staleness). */
  readonly stale?: boolean;
}

export interface TimeSeries {
  /** Identity of the label set, stable across exports; also the key of the per-series state. */
  readonly key: string;
  /**
   * The per-series state's object for this label set, when it has one: the same object in every
   * export, so that an encoder keeping what it wrote can know the series again by a pointer.
   */
  readonly identity?: SeriesIdentity;
  /** Sorted by name in byte order, unique, no empty names or values, `__name__` included. */
  readonly labels: readonly Label[];
  /** Float samples, oldest first. A series carries samples or histograms, never both (RW2 §TimeSeries). */
  readonly samples: Sample[];
  /** Native histogram samples, oldest first. */
  readonly histograms?: NativeHistogram[];
  /** Name of the metric family this series belongs to (key of its metadata). */
  readonly family: string;
  /**
   * Set on the series of one classic-histogram point (`_bucket`…, `_sum`, `_count`), which are
   * adjacent and share the number: batching never puts them in different requests.
   */
  readonly group?: number;
  /**
   * The RW 1.0 bytes of `labels` as a latin1 string (wire/label-fields.ts), when the per-series
   * state has them: the encoder copies them instead of encoding the labels again.
   */
  readonly encodedLabels?: string;
  /** `encodedLabels.length`, when known. */
  readonly labelsSize?: number;
  /**
   * The strings of its labels, when translate has them (a new series of an export in RW 2.0,
   * wire/label-strings.ts): at `labelStringsAt` of `labelStrings`.
   */
  readonly labelStrings?: LabelStringsOf;
  readonly labelStringsAt?: number;
}

/**
 * The label strings of an export's new series (wire/label-strings.ts LabelStrings): per series,
 * its label plan's strings, then its values by slot, in chunks.
 */
export interface LabelStringsOf {
  /** A series at `at` is in chunk `at / CHUNK` (wire/label-strings.ts), at `at % CHUNK`. */
  readonly chunks: ReadonlyArray<readonly unknown[]>;
}

/**
 * A series as the per-series state knows it (TimeSeries.identity, its record): its key as such,
 * or the block (a frame) that holds its encoded labels, at slot `slotFlags >>>
 * IDENTITY_SLOT_SHIFT` (the low bits are the state's flags). Plain data, read by whoever needs
 * it (wire/template-items.ts), so that the records themselves are plain objects
 * (steady-state/series-record.ts).
 */
export interface SeriesIdentity {
  readonly where: string | EncodedSeriesBlock;
  readonly slotFlags: number;
}

export const IDENTITY_SLOT_SHIFT = 3;

/**
 * Series already encoded as consecutive RW 1.0 `TimeSeries` fields (`WriteRequest` field 1, key
 * and length included), one float sample each: the steady state of a metric whose series did not
 * change since the last export (wire/series-frame.ts). Batching splits it between series and the
 * encoder copies the bytes, so nothing is built or encoded per series.
 */
export interface EncodedSeriesBlock {
  readonly family: string;
  /** The encoded fields of every series, back to back. */
  readonly bytes: Uint8Array;
  /** `ends[i]`: the offset just past series `i`; series `i` starts at `ends[i - 1]` (0 for the first). */
  readonly ends: Int32Array;
  /** The labels of series `i`, decoded from the bytes (for messages). */
  labelsOf(index: number): readonly Label[];
  /**
   * Set when the samples in `bytes` are not kept current (SeriesFrame: values kept apart for a
   * block only ever written as RW 2.0): its bytes are then not a RW 1.0 request's.
   */
  readonly valuesApart?: boolean;
  /**
   * Set when the block's series are grouped by delivery shard, for `shardEnds.length` shards:
   * shard k's series are `shardEnds[k − 1]` (0 for the first) to `shardEnds[k]`.
   */
  readonly shardEnds?: Int32Array;
}

/** Series `from` to `to` (exclusive) of a block: the part of it that goes in one request. */
export interface EncodedRun {
  readonly block: EncodedSeriesBlock;
  readonly from: number;
  readonly to: number;
  /** Where the run goes among the request's other series: before `series[at]`. */
  readonly at: number;
}

/** Values of `prometheus.MetricMetadata.MetricType` (proto/types.proto). */
export const MetricType = {
  UNKNOWN: 0,
  COUNTER: 1,
  GAUGE: 2,
  HISTOGRAM: 3,
  GAUGEHISTOGRAM: 4,
  SUMMARY: 5,
  INFO: 6,
  STATESET: 7,
} as const;
export type MetricType = (typeof MetricType)[keyof typeof MetricType];

export interface MetricFamilyMetadata {
  readonly type: MetricType;
  readonly familyName: string;
  readonly help: string;
  readonly unit: string;
}

/** Everything one export turns into: series plus one metadata entry per family. */
export interface SeriesBatch {
  readonly series: TimeSeries[];
  readonly metadata: Map<string, MetricFamilyMetadata>;
  /** Scopes, metrics and points left out because they could not be read, one message each. */
  readonly problems?: readonly string[];
  /**
   * Samples left out by translation, by reason (names of deliver/stats.ts `DropReason`): points
   * that could not be read (`malformed`, one per point), data Prometheus cannot take
   * (`unsupported`), a second sample for one series in one export (`duplicate_series`).
   */
  readonly dropped?: Readonly<Record<'malformed' | 'unsupported' | 'duplicate_series', number>>;
  /** Attribute keys left out of labels (nothing valid left of the key, or an unwritable value). */
  readonly attributesDropped?: number;
}

const KEY_SEPARATOR = '\u0000';

/** Labels (already sorted) → identity string. NUL cannot appear in a sanitized label name. */
export function seriesKey(labels: readonly Label[]): string {
  let key = '';
  for (const l of labels) key += l.name + KEY_SEPARATOR + l.value + KEY_SEPARATOR;
  return key;
}
