/**
 * Remote-Write 2.0 `io.prometheus.write.v2.Request` encoder, 2.0-rc.4 layout
 * (proto/write-v2.proto; spec digest §2.3, §2.4).
 *
 * Every string (label names and values, help, unit) is written once in `symbols`, with
 * `symbols[0] = ""`, and series refer to it by index; metadata travels inline on every series;
 * counters and cumulative histograms carry their start time in `start_timestamp`.
 */
import type { MetricFamilyMetadata, NativeHistogram, Sample, TimeSeries } from '../model.js';
import { ProtobufWriter, writesDouble } from './protobuf-writer.js';
import { STALE_NAN_BYTES, writeHistogramFields } from './rw1.js';

// Field numbers, as upstream io.prometheus.write.v2 (rc.4).
const REQUEST_SYMBOLS = 4;
const REQUEST_TIMESERIES = 5;
const TIMESERIES_LABELS_REFS = 1;
const TIMESERIES_SAMPLES = 2;
const TIMESERIES_HISTOGRAMS = 3;
const TIMESERIES_METADATA = 5;
const SAMPLE_VALUE = 1;
const SAMPLE_TIMESTAMP = 2;
const SAMPLE_START_TIMESTAMP = 3;
const HISTOGRAM_START_TIMESTAMP = 17;
const METADATA_TYPE = 1;
const METADATA_HELP_REF = 3;
const METADATA_UNIT_REF = 4;

interface MetadataRefs {
  readonly type: number;
  readonly helpRef: number;
  readonly unitRef: number;
}

const UNSPECIFIED: MetadataRefs = { type: 0, helpRef: 0, unitRef: 0 };

/**
 * The start timestamp to write, or 0 for "unset" (RW2 §2.4: 0 means unset). A start after the
 * sample is nonsense the receiver may reject; it is left out rather than clamped, since a start
 * equal to the sample time would claim the whole count arrived in that instant.
 */
export function startTimestampToWrite(startMs: number | undefined, timestampMs: number): number {
  if (startMs === undefined || startMs === 0 || startMs > timestampMs) return 0;
  return startMs;
}

/**
 * Encodes one request. `metadata` is looked up by `TimeSeries.family`; a series whose family has
 * no entry gets type UNSPECIFIED. `writer` is reused between calls; the result is a view into
 * it, valid until the writer's next use.
 */
export function encodeRequestV2(
  series: readonly TimeSeries[],
  metadata: ReadonlyMap<string, MetricFamilyMetadata>,
  writer: ProtobufWriter = new ProtobufWriter(),
): Buffer {
  // Pass 1: the symbol table, which precedes the series on the wire (field 4 before field 5).
  const symbolIndex = new Map<string, number>([['', 0]]);
  const symbols: string[] = [''];
  const ref = (s: string): number => {
    let r = symbolIndex.get(s);
    if (r === undefined) {
      r = symbols.length;
      symbolIndex.set(s, r);
      symbols.push(s);
    }
    return r;
  };
  const labelRefs: number[] = [];
  const familyRefs = new Map<string, MetadataRefs>();
  for (const s of series) {
    // Labels are sorted by name in the model already (model.ts), so the pairs are too.
    for (const label of s.labels) labelRefs.push(ref(label.name), ref(label.value));
    if (!familyRefs.has(s.family)) {
      const meta = metadata.get(s.family);
      familyRefs.set(
        s.family,
        meta ? { type: meta.type, helpRef: ref(meta.help), unitRef: ref(meta.unit) } : UNSPECIFIED,
      );
    }
  }

  // Pass 2: the bytes.
  writer.reset();
  for (const s of symbols) writer.string(REQUEST_SYMBOLS, s);
  let refsAt = 0;
  for (const s of series) {
    const refsEnd = refsAt + s.labels.length * 2;
    const meta = familyRefs.get(s.family) ?? UNSPECIFIED;
    const histograms = s.histograms ?? [];
    // Samples and histograms never share a TimeSeries (RW2 §TimeSeries); the model keeps them
    // apart already, and a series that broke the rule would still go out valid, as two.
    if (s.samples.length > 0 || histograms.length === 0) {
      writeSeries(writer, labelRefs, refsAt, refsEnd, meta, s.samples, []);
    }
    if (histograms.length > 0) writeSeries(writer, labelRefs, refsAt, refsEnd, meta, [], histograms);
    refsAt = refsEnd;
  }
  return writer.view();
}

function writeSeries(
  writer: ProtobufWriter,
  labelRefs: readonly number[],
  from: number,
  to: number,
  meta: MetadataRefs,
  samples: readonly Sample[],
  histograms: readonly NativeHistogram[],
): void {
  const ts = writer.begin(REQUEST_TIMESERIES);
  writer.packedUint(TIMESERIES_LABELS_REFS, labelRefs, from, to);
  for (const sample of samples) {
    const m = writer.begin(TIMESERIES_SAMPLES);
    // Zero values are left out as proto3 does; the stale marker is written as its exact bits.
    if (sample.stale) writer.rawDouble(SAMPLE_VALUE, STALE_NAN_BYTES);
    else if (writesDouble(sample.value)) writer.double(SAMPLE_VALUE, sample.value);
    if (sample.timestampMs !== 0) writer.int64(SAMPLE_TIMESTAMP, sample.timestampMs);
    const start = startTimestampToWrite(sample.startTimestampMs, sample.timestampMs);
    if (start !== 0) writer.int64(SAMPLE_START_TIMESTAMP, start);
    writer.end(m);
  }
  for (const h of histograms) {
    const m = writer.begin(TIMESERIES_HISTOGRAMS);
    writeHistogramFields(writer, h);
    const start = startTimestampToWrite(h.startTimestampMs, h.timestampMs);
    if (start !== 0) writer.int64(HISTOGRAM_START_TIMESTAMP, start);
    writer.end(m);
  }
  // Metadata is always present (RW2 §Metadata SHOULD), UNSPECIFIED when the family is unknown.
  const m = writer.begin(TIMESERIES_METADATA);
  if (meta.type !== 0) writer.uint(METADATA_TYPE, meta.type);
  if (meta.helpRef !== 0) writer.uint(METADATA_HELP_REF, meta.helpRef);
  if (meta.unitRef !== 0) writer.uint(METADATA_UNIT_REF, meta.unitRef);
  writer.end(m);
  writer.end(ts);
}
