/**
 * Remote-Write 1.0 `prometheus.WriteRequest` encoder (proto/remote.proto, proto/types.proto).
 * Native histograms go in `TimeSeries.histograms` (field 4), the de-facto extension Prometheus
 * accepts with `--enable-feature=native-histograms` (spec digest §1.2).
 */
import type {
  BucketSpan,
  EncodedRun,
  MetricFamilyMetadata,
  NativeHistogram,
  Sample,
  TimeSeries,
} from '../model.js';
import { writeLabelFields } from './label-fields.js';
import { Int64FieldPair, ProtobufWriter, varintLength, writesDouble } from './protobuf-writer.js';
import { NEVER, runSteps } from '../steps.js';

/** The stale marker NaN 0x7ff0000000000002, little-endian (RW1 §Stale Markers). */
export const STALE_NAN_BYTES = Uint8Array.from([0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);

// Field numbers, as upstream prompb.
const WRITE_REQUEST_TIMESERIES = 1;
const WRITE_REQUEST_METADATA = 3;
const TIMESERIES_SAMPLES = 2;
const TIMESERIES_HISTOGRAMS = 4;
const SAMPLE_VALUE = 1;
const SAMPLE_TIMESTAMP = 2;
const METADATA_TYPE = 1;
const METADATA_FAMILY = 2;
const METADATA_HELP = 4;
const METADATA_UNIT = 5;

/**
 * Encodes one request. `writer` is reused between calls to avoid reallocating its buffer; the
 * result is a view into it, valid until the writer's next use (the exporter compresses it at once).
 */
export function encodeWriteRequest(
  series: readonly TimeSeries[],
  metadata: readonly MetricFamilyMetadata[],
  writer: ProtobufWriter = new ProtobufWriter(),
  runs: readonly EncodedRun[] = [],
): Buffer {
  return runSteps(encodeWriteRequestSteps(series, metadata, writer, runs, NEVER));
}

/**
 * The same in steps: a look at `due()` every 256 series (runs are copied whole). A process's
 * first requests run before V8 has optimized this code: 2,000 series took about 10 ms in one go.
 * Nothing else may use the writer between two steps.
 */
export function* encodeWriteRequestSteps(
  series: readonly TimeSeries[],
  metadata: readonly MetricFamilyMetadata[],
  writer: ProtobufWriter,
  runs: readonly EncodedRun[],
  due: () => boolean,
): Generator<void, Buffer, void> {
  writer.reset();
  let nextRun = 0;
  for (let index = 0; index < series.length; index++) {
    if ((index & 255) === 255 && due()) yield;
    while (nextRun < runs.length && (runs[nextRun] as EncodedRun).at === index)
      writeRun(writer, runs[nextRun++]!);
    const s = series[index] as TimeSeries;
    const encodedLabels = s.encodedLabels;
    const samples = s.samples;
    if (encodedLabels !== undefined && samples.length === 1 && s.histograms === undefined) {
      const sample = samples[0] as Sample;
      if (sample.timestampMs >= 0) {
        // The steady state: cached label bytes and one sample, in one call.
        writer.bytesAndDoubleMessage(
          WRITE_REQUEST_TIMESERIES,
          encodedLabels,
          TIMESERIES_SAMPLES,
          sample.value,
          sample.stale ? STALE_NAN_BYTES : undefined,
          timestampField.of(sample.timestampMs),
        );
        continue;
      }
    }
    if (encodedLabels !== undefined && s.histograms === undefined) {
      // Cached label bytes and float samples: every length is known up front.
      let size = encodedLabels.length;
      for (const sample of s.samples) size += sampleFieldSize(sample);
      writer.header(WRITE_REQUEST_TIMESERIES, size);
      writer.latin1(encodedLabels);
      for (const sample of s.samples) writeSample(writer, sample);
      continue;
    }
    const ts = writer.begin(WRITE_REQUEST_TIMESERIES);
    if (encodedLabels !== undefined) writer.latin1(encodedLabels);
    else writeLabelFields(writer, s.labels);
    for (const sample of s.samples) writeSample(writer, sample);
    if (s.histograms) {
      for (const h of s.histograms) {
        const m = writer.begin(TIMESERIES_HISTOGRAMS);
        writeHistogramFields(writer, h);
        writer.end(m);
      }
    }
    writer.end(ts);
  }
  while (nextRun < runs.length) writeRun(writer, runs[nextRun++]!);
  for (const meta of metadata) {
    const m = writer.begin(WRITE_REQUEST_METADATA);
    if (meta.type !== 0) writer.uint(METADATA_TYPE, meta.type);
    if (meta.familyName) writer.string(METADATA_FAMILY, meta.familyName);
    if (meta.help) writer.string(METADATA_HELP, meta.help);
    if (meta.unit) writer.string(METADATA_UNIT, meta.unit);
    writer.end(m);
  }
  return writer.view();
}

/** A Sample's `timestamp` field (encodeWriteRequestSteps' fast path), encoded once per time. */
const timestampField = new Int64FieldPair(SAMPLE_TIMESTAMP);

/** A run of series encoded already (wire/series-frame.ts): its bytes as they are. */
function writeRun(writer: ProtobufWriter, run: EncodedRun): void {
  if (run.block.valuesApart === true) throw new Error(`frame of ${run.block.family} is kept for RW 2.0 only`);
  const ends = run.block.ends;
  writer.raw(
    run.block.bytes,
    run.from === 0 ? 0 : (ends[run.from - 1] as number),
    ends[run.to - 1] as number,
  );
}

/**
 * Size of a `Sample` message without its key and length: proto3 leaves zero values out (so does
 * this encoder, for the same bytes as protobufjs); a negative int64 takes 10 bytes.
 */
export function sampleMessageSize(sample: Sample): number {
  const valueBytes = sample.stale || writesDouble(sample.value) ? 9 : 0;
  const t = sample.timestampMs;
  const timestampBytes = t === 0 ? 0 : 1 + (t < 0 ? 10 : varintLength(t));
  return valueBytes + timestampBytes;
}

/** A `samples` field of TimeSeries with its key and length (a Sample is < 128 bytes). */
export function sampleFieldSize(sample: Sample): number {
  return 2 + sampleMessageSize(sample);
}

function writeSample(writer: ProtobufWriter, sample: Sample): void {
  const t = sample.timestampMs;
  if (t >= 0) {
    writer.doubleInt64Message(
      TIMESERIES_SAMPLES,
      sample.value,
      sample.stale ? STALE_NAN_BYTES : undefined,
      t,
    );
    return;
  }
  writer.header(TIMESERIES_SAMPLES, sampleMessageSize(sample));
  if (sample.stale) writer.rawDouble(SAMPLE_VALUE, STALE_NAN_BYTES);
  else if (writesDouble(sample.value)) writer.double(SAMPLE_VALUE, sample.value);
  writer.int64(SAMPLE_TIMESTAMP, t);
}

export { varintLength as varintSize };

// `prometheus.Histogram` field numbers; RW2 `io.prometheus.write.v2.Histogram` uses the same
// numbers and adds `start_timestamp` = 17 (spec digest §2.3).
const HISTOGRAM_COUNT_INT = 1;
const HISTOGRAM_SUM = 3;
const HISTOGRAM_SCHEMA = 4;
const HISTOGRAM_ZERO_THRESHOLD = 5;
const HISTOGRAM_ZERO_COUNT_INT = 6;
const HISTOGRAM_NEGATIVE_SPANS = 8;
const HISTOGRAM_NEGATIVE_DELTAS = 9;
const HISTOGRAM_POSITIVE_SPANS = 11;
const HISTOGRAM_POSITIVE_DELTAS = 12;
const HISTOGRAM_RESET_HINT = 14;
const HISTOGRAM_TIMESTAMP = 15;
const HISTOGRAM_CUSTOM_VALUES = 16;
const SPAN_OFFSET = 1;
const SPAN_LENGTH = 2;

/**
 * Fields 1–16 of one integer-count histogram, in field order. The two oneof members (count,
 * zero count) are always written, zero included, as protobuf writes a set oneof; other zero
 * values are left out as proto3 does. A stale marker is the stale NaN as sum with count 0
 * (OTel spec §Staleness).
 */
export function writeHistogramFields(writer: ProtobufWriter, h: NativeHistogram): void {
  writer.uint(HISTOGRAM_COUNT_INT, h.count);
  if (h.stale) writer.rawDouble(HISTOGRAM_SUM, STALE_NAN_BYTES);
  else if (h.sum !== 0 || Object.is(h.sum, -0)) writer.double(HISTOGRAM_SUM, h.sum);
  if (h.schema !== 0) writer.sint(HISTOGRAM_SCHEMA, h.schema);
  if (h.zeroThreshold !== 0) writer.double(HISTOGRAM_ZERO_THRESHOLD, h.zeroThreshold);
  writer.uint(HISTOGRAM_ZERO_COUNT_INT, h.zeroCount);
  writeSpans(writer, HISTOGRAM_NEGATIVE_SPANS, h.negativeSpans);
  writer.packedSint(HISTOGRAM_NEGATIVE_DELTAS, h.negativeDeltas);
  writeSpans(writer, HISTOGRAM_POSITIVE_SPANS, h.positiveSpans);
  writer.packedSint(HISTOGRAM_POSITIVE_DELTAS, h.positiveDeltas);
  if (h.resetHint !== 0) writer.uint(HISTOGRAM_RESET_HINT, h.resetHint);
  if (h.timestampMs !== 0) writer.int64(HISTOGRAM_TIMESTAMP, h.timestampMs);
  if (h.customValues) writer.packedDouble(HISTOGRAM_CUSTOM_VALUES, h.customValues);
}

function writeSpans(writer: ProtobufWriter, field: number, spans: readonly BucketSpan[]): void {
  for (const span of spans) {
    const m = writer.begin(field);
    if (span.offset !== 0) writer.sint(SPAN_OFFSET, span.offset);
    if (span.length !== 0) writer.uint(SPAN_LENGTH, span.length);
    writer.end(m);
  }
}
