/**
 * Remote-Write 2.0 `io.prometheus.write.v2.Request` encoder, 2.0-rc.4 layout
 * (proto/write-v2.proto; spec digest §2.3, §2.4).
 *
 * Every string (label names and values, help, unit) is written once in `symbols`, with
 * `symbols[0] = ""`, and series refer to it by index; metadata travels inline on every series;
 * counters and cumulative histograms carry their start time in `start_timestamp`.
 */
import type { MetricFamilyMetadata, NativeHistogram, Sample, TimeSeries } from '../model.js';
import { ProtobufWriter, varintLength, writesDouble } from './protobuf-writer.js';
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
 * What a request of the same series as an earlier one can reuse: its symbol table and, per
 * series, its `labels_refs` and `metadata` fields, which depend only on the series' labels and
 * its family's metadata. A cumulative SDK reports the same series in the same order at every
 * collection, so batching makes the same requests, and in steady state only the samples are new.
 */
interface RequestTemplate {
  /** The series' keys (their encoded labels: TimeSeries.key), in order. */
  readonly keys: readonly string[];
  /** The families of the series with what their metadata was: a change of help or unit changes the symbols. */
  readonly families: ReadonlyArray<readonly [family: string, type: number, help: string, unit: string]>;
  /** The `symbols` fields, as encoded. */
  readonly symbols: Buffer;
  /** Per series i: its `labels_refs` field at `cuts[2i]`…`cuts[2i+1]`, its `metadata` field to `cuts[2i+2]`. */
  readonly parts: Buffer;
  readonly cuts: Int32Array;
  /** The last export that used it. */
  usedIn: number;
}

/** Exports in a row a template may go unused and still be kept: series come and go, memory must not. */
const TEMPLATE_EXPORTS = 4;

/**
 * Encodes RW 2.0 requests, remembering each request's symbols and per-series label and metadata
 * fields by its series (RequestTemplate): a request of the same series as one of the last exports
 * copies them and only writes the samples. The bytes are those of `encodeRequestV2`.
 */
export class RequestV2Encoder {
  /** By the key of the request's first series. */
  private readonly templates = new Map<string, RequestTemplate>();
  private exportNumber = 0;
  private readonly parts = new ProtobufWriter(16 * 1024);

  constructor(private readonly writer: ProtobufWriter = new ProtobufWriter()) {}

  /** One request; the result is a view into the writer, valid until its next use. */
  encode(series: readonly TimeSeries[], metadata: ReadonlyMap<string, MetricFamilyMetadata>): Buffer {
    if (series.length === 0) return encodeRequestV2(series, metadata, this.writer);
    const first = (series[0] as TimeSeries).key;
    const template = this.templates.get(first);
    if (template !== undefined && fits(template, series, metadata)) {
      template.usedIn = this.exportNumber;
      return this.fromTemplate(template, series);
    }
    const made = this.makeTemplate(series, metadata);
    this.templates.set(first, made);
    return this.fromTemplate(made, series);
  }

  /** Called after each export: a template unused in more than TEMPLATE_EXPORTS exports in a row is forgotten. */
  endExport(): void {
    for (const [key, t] of this.templates)
      if (this.exportNumber - t.usedIn >= TEMPLATE_EXPORTS + 1) this.templates.delete(key);
    this.exportNumber++;
  }

  private fromTemplate(t: RequestTemplate, series: readonly TimeSeries[]): Buffer {
    const w = this.writer;
    const { parts, cuts } = t;
    w.reset();
    w.raw(t.symbols, 0, t.symbols.length);
    for (let i = 0; i < series.length; i++) {
      const s = series[i] as TimeSeries;
      const histograms = s.histograms ?? EMPTY_HISTOGRAMS;
      const refsFrom = cuts[2 * i] as number;
      const metaFrom = cuts[2 * i + 1] as number;
      const metaTo = cuts[2 * i + 2] as number;
      if (histograms.length === 0 && s.samples.length === 1) {
        // The steady state: one float sample, its sizes known, so no length is reserved and moved.
        const sample = s.samples[0] as Sample;
        const sampleLength = sampleSize(sample);
        w.header(REQUEST_TIMESERIES, metaTo - refsFrom + 1 + varintLength(sampleLength) + sampleLength);
        w.raw(parts, refsFrom, metaFrom);
        w.header(TIMESERIES_SAMPLES, sampleLength);
        writeSampleFields(w, sample);
        w.raw(parts, metaFrom, metaTo);
        continue;
      }
      // As encodeRequestV2: samples and histograms in separate TimeSeries.
      if (s.samples.length > 0 || histograms.length === 0) {
        const ts = w.begin(REQUEST_TIMESERIES);
        w.raw(parts, refsFrom, metaFrom);
        writeSamples(w, s.samples, EMPTY_HISTOGRAMS);
        w.raw(parts, metaFrom, metaTo);
        w.end(ts);
      }
      if (histograms.length > 0) {
        const ts = w.begin(REQUEST_TIMESERIES);
        w.raw(parts, refsFrom, metaFrom);
        writeSamples(w, EMPTY_SAMPLES, histograms);
        w.raw(parts, metaFrom, metaTo);
        w.end(ts);
      }
    }
    return w.view();
  }

  private makeTemplate(
    series: readonly TimeSeries[],
    metadata: ReadonlyMap<string, MetricFamilyMetadata>,
  ): RequestTemplate {
    const { symbols, labelRefs, familyRefs } = symbolTable(series, metadata);
    const w = this.parts;
    w.reset();
    for (const s of symbols) w.string(REQUEST_SYMBOLS, s);
    const symbolBytes = Buffer.from(w.view());
    w.reset();
    const cuts = new Int32Array(2 * series.length + 1);
    let refsAt = 0;
    for (let i = 0; i < series.length; i++) {
      const s = series[i] as TimeSeries;
      const refsEnd = refsAt + s.labels.length * 2;
      w.packedUint(TIMESERIES_LABELS_REFS, labelRefs, refsAt, refsEnd);
      cuts[2 * i + 1] = w.view().length;
      writeMetadata(w, familyRefs.get(s.family) ?? UNSPECIFIED);
      cuts[2 * i + 2] = w.view().length;
      refsAt = refsEnd;
    }
    const families = [...familyRefs.keys()].map((family) => {
      const m = metadata.get(family);
      return [family, m?.type ?? 0, m?.help ?? '', m?.unit ?? ''] as const;
    });
    return {
      keys: series.map((s) => s.key),
      families,
      symbols: symbolBytes,
      parts: Buffer.from(w.view()),
      cuts,
      usedIn: this.exportNumber,
    };
  }
}

function fits(
  t: RequestTemplate,
  series: readonly TimeSeries[],
  metadata: ReadonlyMap<string, MetricFamilyMetadata>,
): boolean {
  const keys = t.keys;
  if (keys.length !== series.length) return false;
  for (let i = 0; i < keys.length; i++) if ((series[i] as TimeSeries).key !== keys[i]) return false;
  for (const [family, type, help, unit] of t.families) {
    const m = metadata.get(family);
    if ((m?.type ?? 0) !== type || (m?.help ?? '') !== help || (m?.unit ?? '') !== unit) return false;
  }
  return true;
}

const EMPTY_SAMPLES: readonly Sample[] = [];
const EMPTY_HISTOGRAMS: readonly NativeHistogram[] = [];

/** The symbols of a request (`symbols[0] = ""`), the label refs of its series in order, and each family's metadata refs. */
function symbolTable(
  series: readonly TimeSeries[],
  metadata: ReadonlyMap<string, MetricFamilyMetadata>,
): { symbols: string[]; labelRefs: number[]; familyRefs: Map<string, MetadataRefs> } {
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
  return { symbols, labelRefs, familyRefs };
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
  const { symbols, labelRefs, familyRefs } = symbolTable(series, metadata);

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
  writeSamples(writer, samples, histograms);
  writeMetadata(writer, meta);
  writer.end(ts);
}

/** The `samples` and `histograms` fields of one TimeSeries. */
function writeSamples(
  writer: ProtobufWriter,
  samples: readonly Sample[],
  histograms: readonly NativeHistogram[],
): void {
  for (const sample of samples) {
    const m = writer.begin(TIMESERIES_SAMPLES);
    writeSampleFields(writer, sample);
    writer.end(m);
  }
  for (const h of histograms) {
    const m = writer.begin(TIMESERIES_HISTOGRAMS);
    writeHistogramFields(writer, h);
    const start = startTimestampToWrite(h.startTimestampMs, h.timestampMs);
    if (start !== 0) writer.int64(HISTOGRAM_START_TIMESTAMP, start);
    writer.end(m);
  }
}

/** The fields of a `Sample` message. */
function writeSampleFields(writer: ProtobufWriter, sample: Sample): void {
  // Zero values are left out as proto3 does; the stale marker is written as its exact bits.
  if (sample.stale) writer.rawDouble(SAMPLE_VALUE, STALE_NAN_BYTES);
  else if (writesDouble(sample.value)) writer.double(SAMPLE_VALUE, sample.value);
  if (sample.timestampMs !== 0) writer.int64(SAMPLE_TIMESTAMP, sample.timestampMs);
  const start = startTimestampToWrite(sample.startTimestampMs, sample.timestampMs);
  if (start !== 0) writer.int64(SAMPLE_START_TIMESTAMP, start);
}

/** The size of what writeSampleFields writes. */
function sampleSize(sample: Sample): number {
  let size = sample.stale || writesDouble(sample.value) ? 9 : 0;
  if (sample.timestampMs !== 0) size += 1 + int64Length(sample.timestampMs);
  const start = startTimestampToWrite(sample.startTimestampMs, sample.timestampMs);
  if (start !== 0) size += 1 + int64Length(start);
  return size;
}

/** An int64 varint: negative values take 10 bytes (two's complement). */
function int64Length(value: number): number {
  return value >= 0 ? varintLength(value) : 10;
}

/** Metadata is always present (RW2 §Metadata SHOULD), UNSPECIFIED when the family is unknown. */
function writeMetadata(writer: ProtobufWriter, meta: MetadataRefs): void {
  const m = writer.begin(TIMESERIES_METADATA);
  if (meta.type !== 0) writer.uint(METADATA_TYPE, meta.type);
  if (meta.helpRef !== 0) writer.uint(METADATA_HELP_REF, meta.helpRef);
  if (meta.unitRef !== 0) writer.uint(METADATA_UNIT_REF, meta.unitRef);
  writer.end(m);
}
