/**
 * Decoding of remote-write requests with protobufjs from the `.proto` files in `proto/`,
 * independent of the hand-written encoder: the test suite checks one against the other, and a
 * user's own test receiver can use it too. RW 1.0 (`prometheus.WriteRequest`) and RW 2.0
 * (`io.prometheus.write.v2.Request`, proto/write-v2.proto).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import {
  MetricType,
  seriesKey,
  type BucketSpan,
  type Label,
  type MetricFamilyMetadata,
  type NativeHistogram,
  type ResetHint,
  type Sample,
  type TimeSeries,
} from '../model.js';
import { snappyUncompress } from './snappy.js';

export interface DecodedLabel {
  name: string;
  value: string;
}
export interface DecodedSample {
  value: number;
  timestamp: number;
}
export interface DecodedBucketSpan {
  offset: number;
  length: number;
}
/** A native histogram as protobufjs decodes it; of each oneof only the member sent is present. */
export interface DecodedHistogram {
  countInt?: number;
  countFloat?: number;
  sum: number;
  schema: number;
  zeroThreshold: number;
  zeroCountInt?: number;
  zeroCountFloat?: number;
  negativeSpans: DecodedBucketSpan[];
  negativeDeltas: number[];
  negativeCounts: number[];
  positiveSpans: DecodedBucketSpan[];
  positiveDeltas: number[];
  positiveCounts: number[];
  /** Enum name: `UNKNOWN`… in 1.0, `RESET_HINT_UNSPECIFIED`… in 2.0. */
  resetHint: string;
  timestamp: number;
  customValues: number[];
}
export interface DecodedTimeSeries {
  labels: DecodedLabel[];
  samples: DecodedSample[];
  histograms?: DecodedHistogram[];
}
export interface DecodedMetadata {
  type: string;
  metricFamilyName: string;
  help: string;
  unit: string;
}
export interface DecodedWriteRequest {
  timeseries: DecodedTimeSeries[];
  metadata: DecodedMetadata[];
}

let writeRequestType: protobuf.Type | undefined;
let requestV2Type: protobuf.Type | undefined;

/** `proto/` ships with the package, next to `dist/` (and to `src/` in a checkout). */
function protoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'remote.proto'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('proto/remote.proto not found next to the package');
}

function writeRequest(): protobuf.Type {
  writeRequestType ??= protobuf
    .loadSync(join(protoDir(), 'remote.proto'))
    .lookupType('prometheus.WriteRequest');
  return writeRequestType;
}

/** Decodes a RW 1.0 request body; `compressed` (default true) says it is still snappy-compressed. */
export function decodeWriteRequest(
  body: Uint8Array,
  options: { compressed?: boolean } = {},
): DecodedWriteRequest {
  const raw = options.compressed === false ? body : snappyUncompress(body);
  const type = writeRequest();
  const message = type.decode(raw);
  return type.toObject(message, {
    longs: Number,
    enums: String,
    defaults: true,
    arrays: true,
  }) as DecodedWriteRequest;
}

// --- Remote-Write 2.0 ---

export interface DecodedSampleV2 {
  value: number;
  timestamp: number;
  /** 0 when unset. */
  startTimestamp: number;
}
export interface DecodedHistogramV2 extends DecodedHistogram {
  /** 0 when unset. */
  startTimestamp: number;
}
export interface DecodedExemplarV2 {
  labelsRefs: number[];
  value: number;
  timestamp: number;
}
export interface DecodedMetadataV2 {
  /** Enum name, e.g. `METRIC_TYPE_COUNTER`. */
  type: string;
  helpRef: number;
  unitRef: number;
}
export interface DecodedTimeSeriesV2 {
  labelsRefs: number[];
  samples: DecodedSampleV2[];
  histograms: DecodedHistogramV2[];
  exemplars: DecodedExemplarV2[];
  /** null when the series has no metadata message. */
  metadata: DecodedMetadataV2 | null;
}
export interface DecodedRequestV2 {
  symbols: string[];
  timeseries: DecodedTimeSeriesV2[];
}

function requestV2(): protobuf.Type {
  requestV2Type ??= protobuf
    .loadSync(join(protoDir(), 'write-v2.proto'))
    .lookupType('io.prometheus.write.v2.Request');
  return requestV2Type;
}

/**
 * Decodes a RW 2.0 request body as plain objects, refs unresolved. As `decodeWriteRequest`,
 * `compressed` (default true) says the body is still snappy-compressed, as on the wire.
 */
export function decodeRequestV2(body: Uint8Array, options: { compressed?: boolean } = {}): DecodedRequestV2 {
  const raw = options.compressed === false ? body : snappyUncompress(body);
  const type = requestV2();
  return type.toObject(type.decode(raw), {
    longs: Number,
    enums: String,
    defaults: true,
    arrays: true,
  }) as DecodedRequestV2;
}

const V2_METRIC_TYPES: Readonly<Record<string, MetricType>> = {
  METRIC_TYPE_UNSPECIFIED: 0,
  METRIC_TYPE_COUNTER: 1,
  METRIC_TYPE_GAUGE: 2,
  METRIC_TYPE_HISTOGRAM: 3,
  METRIC_TYPE_GAUGEHISTOGRAM: 4,
  METRIC_TYPE_SUMMARY: 5,
  METRIC_TYPE_INFO: 6,
  METRIC_TYPE_STATESET: 7,
};

const RESET_HINTS: Readonly<Record<string, ResetHint>> = {
  RESET_HINT_UNSPECIFIED: 0,
  RESET_HINT_YES: 1,
  RESET_HINT_NO: 2,
  RESET_HINT_GAUGE: 3,
};

const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);

/**
 * Whether a decoded double is the stale marker 0x7ff0000000000002. Best effort: V8 keeps NaN
 * payloads through protobufjs's reader, which JavaScript does not promise.
 */
function isStaleNaN(value: number): boolean {
  if (!Number.isNaN(value)) return false;
  scratch[0] = value;
  return scratchWords[0] === 2 && scratchWords[1] === 0x7ff00000;
}

/** Counts (float histograms) → deltas, so that both flavours fit the model. */
function toDeltas(deltas: number[], counts: number[]): number[] {
  if (deltas.length > 0 || counts.length === 0) return deltas;
  return counts.map((c, i) => c - (i === 0 ? 0 : (counts[i - 1] as number)));
}

/**
 * A decoded RW 2.0 request as the model: series with resolved labels, and one metadata entry per
 * family. The family of a series is its `__name__`, without `_bucket`/`_sum`/`_count` for
 * histogram and summary types. Throws when a reference is out of range or `labels_refs` has odd
 * length (RW 2.0 §Symbols: MUST).
 */
export function requestV2ToModel(request: DecodedRequestV2): {
  series: TimeSeries[];
  metadata: Map<string, MetricFamilyMetadata>;
} {
  const { symbols } = request;
  const symbol = (ref: number, what: string): string => {
    const s = symbols[ref];
    if (s === undefined)
      throw new Error(`${what} ref ${ref} is outside the symbol table (${symbols.length})`);
    return s;
  };
  const series: TimeSeries[] = [];
  const metadata = new Map<string, MetricFamilyMetadata>();
  for (const ts of request.timeseries) {
    const refs = ts.labelsRefs;
    if (refs.length % 2 !== 0) throw new Error(`labels_refs has odd length ${refs.length}`);
    const labels: Label[] = [];
    for (let i = 0; i < refs.length; i += 2) {
      labels.push({
        name: symbol(refs[i] as number, 'label name'),
        value: symbol(refs[i + 1] as number, 'label value'),
      });
    }
    const name = labels.find((l) => l.name === '__name__')?.value ?? '';
    const type = V2_METRIC_TYPES[ts.metadata?.type ?? ''] ?? 0;
    const family = type === 3 || type === 4 || type === 5 ? name.replace(/_(bucket|sum|count)$/, '') : name;
    const help = symbol(ts.metadata?.helpRef ?? 0, 'help');
    const unit = symbol(ts.metadata?.unitRef ?? 0, 'unit');
    if (!metadata.has(family) && (type !== 0 || help !== '' || unit !== '')) {
      metadata.set(family, { type, familyName: family, help, unit });
    }
    const samples: Sample[] = ts.samples.map((x) => ({
      value: x.value,
      timestampMs: x.timestamp,
      ...(x.startTimestamp !== 0 ? { startTimestampMs: x.startTimestamp } : {}),
      ...(isStaleNaN(x.value) ? { stale: true } : {}),
    }));
    const histograms = ts.histograms.map((h) => ({
      ...histogramToModel(h, RESET_HINTS),
      ...(h.startTimestamp !== 0 ? { startTimestampMs: h.startTimestamp } : {}),
    }));
    series.push({
      key: seriesKey(labels),
      labels,
      family,
      samples,
      ...(histograms.length > 0 ? { histograms } : {}),
    });
  }
  return { series, metadata };
}

const V1_METRIC_TYPES: Readonly<Record<string, MetricType>> = {
  UNKNOWN: MetricType.UNKNOWN,
  COUNTER: MetricType.COUNTER,
  GAUGE: MetricType.GAUGE,
  HISTOGRAM: MetricType.HISTOGRAM,
  GAUGEHISTOGRAM: MetricType.GAUGEHISTOGRAM,
  SUMMARY: MetricType.SUMMARY,
  INFO: MetricType.INFO,
  STATESET: MetricType.STATESET,
};

const V1_RESET_HINTS: Readonly<Record<string, ResetHint>> = { UNKNOWN: 0, YES: 1, NO: 2, GAUGE: 3 };

/**
 * A decoded RW 1.0 request as the model, with labels sorted. Metadata is per family; a
 * histogram's or summary's `_bucket`/`_count`/`_sum` series join their family.
 */
export function writeRequestToModel(request: DecodedWriteRequest): {
  series: TimeSeries[];
  metadata: Map<string, MetricFamilyMetadata>;
} {
  const metadata = new Map<string, MetricFamilyMetadata>();
  for (const m of request.metadata) {
    metadata.set(m.metricFamilyName, {
      type: V1_METRIC_TYPES[m.type] ?? MetricType.UNKNOWN,
      familyName: m.metricFamilyName,
      help: m.help,
      unit: m.unit,
    });
  }
  const series = request.timeseries.map((ts): TimeSeries => {
    const labels: Label[] = ts.labels
      .map((l) => ({ name: l.name, value: l.value }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const name = labels.find((l) => l.name === '__name__')?.value ?? '';
    const histograms = (ts.histograms ?? []).map((h) => histogramToModel(h, V1_RESET_HINTS));
    return {
      key: seriesKey(labels),
      labels,
      family: familyOf(name, metadata),
      samples: ts.samples.map((s) => ({
        value: s.value,
        timestampMs: s.timestamp,
        ...(isStaleNaN(s.value) ? { stale: true } : {}),
      })),
      ...(histograms.length > 0 ? { histograms } : {}),
    };
  });
  return { series, metadata };
}

/** `x_bucket`, `x_count`, `x_sum` belong to family `x` when the metadata says `x` is a histogram or summary. */
function familyOf(name: string, metadata: ReadonlyMap<string, MetricFamilyMetadata>): string {
  if (metadata.has(name)) return name;
  const stem = /^(.*)_(bucket|count|sum)$/.exec(name)?.[1];
  const type = stem === undefined ? undefined : metadata.get(stem)?.type;
  if (type === MetricType.HISTOGRAM || type === MetricType.GAUGEHISTOGRAM || type === MetricType.SUMMARY) {
    return stem as string;
  }
  return name;
}

/** A decoded native histogram (either protocol) as the model. */
function histogramToModel(
  h: DecodedHistogram,
  resetHints: Readonly<Record<string, ResetHint>>,
): NativeHistogram {
  return {
    count: h.countInt ?? h.countFloat ?? 0,
    sum: h.sum,
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    zeroCount: h.zeroCountInt ?? h.zeroCountFloat ?? 0,
    negativeSpans: h.negativeSpans as BucketSpan[],
    negativeDeltas: toDeltas(h.negativeDeltas, h.negativeCounts),
    positiveSpans: h.positiveSpans as BucketSpan[],
    positiveDeltas: toDeltas(h.positiveDeltas, h.positiveCounts),
    resetHint: resetHints[h.resetHint] ?? 0,
    timestampMs: h.timestamp,
    ...(h.customValues.length > 0 ? { customValues: h.customValues } : {}),
    ...(isStaleNaN(h.sum) ? { stale: true } : {}),
  };
}
