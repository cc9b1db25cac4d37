/**
 * Remote-Write 2.0 `io.prometheus.write.v2.Request` encoder, 2.0-rc.4 layout
 * (proto/write-v2.proto; spec digest §2.3, §2.4).
 *
 * Every string (label names and values, help, unit) is written once in `symbols`, with
 * `symbols[0] = ""`, and series refer to it by index; metadata travels inline on every series;
 * counters and cumulative histograms carry their start time in `start_timestamp`.
 */
import type {
  EncodedRun,
  LabelStringsOf,
  MetricFamilyMetadata,
  NativeHistogram,
  Sample,
  TimeSeries,
} from '../model.js';
import type { SeriesFrame } from './series-frame.js';
import {
  Int64FieldPair,
  packedLength,
  ProtobufWriter,
  varintLength,
  writesDouble,
  writeVarint,
} from './protobuf-writer.js';
import { STALE_NAN_BYTES, writeHistogramFields } from './rw1.js';
import { NEVER, runSteps } from '../steps.js';
import { CHUNK, type PlanSymbols, utf8Bytes } from './label-strings.js';
import { TemplateItems } from './template-items.js';

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
  /**
   * Which series it was made for, in order (TemplateItems); named again each time the template
   * is found to fit, so that the next export finds the very same frames and slots.
   */
  readonly items: TemplateItems;
  /** The families of the series with what their metadata was: a change of help or unit changes the symbols. */
  readonly families: ReadonlyArray<readonly [family: string, type: number, help: string, unit: string]>;
  /** What a body is written from; undefined while `body` holds it (TemplateFields). */
  fields: TemplateFields | undefined;
  /** The last export that used it. */
  usedIn: number;
  /**
   * A request made of frames only, or a new one of series of one sample each (BodyWriter): its
   * last body, patched in place by the next request of frames while the layout holds
   * (patchBody). It holds the symbols, refs and metadata too, so the fields are let go while it
   * is kept and read back from it when a body must be written again (fieldsOf).
   */
  body?: RequestBody;
}

/** A template's fields: the `symbols` fields as encoded, and per series its refs and metadata. */
interface TemplateFields {
  readonly symbols: Uint8Array;
  /** Per series i: its `labels_refs` field at `cuts[2i]`…`cuts[2i+1]`, its `metadata` field to `cuts[2i+2]`. */
  readonly parts: Uint8Array;
  readonly cuts: Int32Array;
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
  /** Refs of the label strings of an export's new series (TimeSeries.labelStrings), per request made. */
  private readonly stringRefs = new StringRefs();
  /** The label refs of the template being made, all its series' back to back. */
  private readonly labelRefs = new RefList();
  /** What BodyWriter copies into each series of one sample (encoded once, not per series). */
  private readonly sampleTimes = new Int64FieldPair(SAMPLE_TIMESTAMP, SAMPLE_START_TIMESTAMP);
  private readonly metadataFields = new MetadataFields();

  constructor(private readonly writer: ProtobufWriter = new ProtobufWriter()) {}

  /**
   * One request: `series`, and the series of `runs` (frames, wire/series-frame.ts, built with
   * keys) each placed before `series[run.at]`. The result is a view into the writer, valid until
   * its next use.
   */
  encode(
    series: readonly TimeSeries[],
    metadata: ReadonlyMap<string, MetricFamilyMetadata>,
    runs: readonly EncodedRun[] = NO_RUNS,
  ): Buffer {
    return runSteps(this.encodeSteps(series, metadata, runs, NEVER));
  }

  /**
   * The same in steps: making a template and writing a body from it pause every few hundred
   * series when `due()` says so. A request's first template is the costliest work of a first
   * export, and runs before V8 has optimized it (2,000 series took 18–70 ms in one go). Nothing
   * else may use this encoder, nor its writer, between two steps.
   */
  *encodeSteps(
    series: readonly TimeSeries[],
    metadata: ReadonlyMap<string, MetricFamilyMetadata>,
    runs: readonly EncodedRun[],
    due: () => boolean,
  ): Generator<void, Buffer, void> {
    const first = firstKey(series, runs);
    if (first === undefined) return encodeRequestV2(series, metadata, this.writer);
    let template = this.templates.get(first);
    if (template !== undefined && fits(template, series, runs, metadata)) {
      template.usedIn = this.exportNumber;
      const last = template.body;
      if (last !== undefined && series.length === 0 && patchBody(last, runs, template.items.sameSlots))
        return last.bytes;
      // A template's fields are let go only while it holds a body.
      template.fields ??= yield* this.fieldsOf((last as RequestBody).bytes, due);
    } else {
      template = yield* this.makeTemplate(series, runs, metadata, due);
      this.templates.set(first, template);
      if (template.body !== undefined) return template.body.bytes;
    }
    const body = yield* this.fromTemplate(template.fields as TemplateFields, series, runs, due);
    if (series.length === 0) {
      template.body = bodyOf(body, template.items.count);
      template.fields = undefined;
    } else template.body = undefined;
    return body;
  }

  /** Called after each export: a template unused in more than TEMPLATE_EXPORTS exports in a row is forgotten. */
  endExport(): void {
    this.stringRefs.release();
    for (const [key, t] of this.templates)
      if (this.exportNumber - t.usedIn >= TEMPLATE_EXPORTS + 1) this.templates.delete(key);
    this.exportNumber++;
  }

  /**
   * A template's fields read back from a body it wrote from frames (writeFramed): the symbols
   * fields before the first series, then per TimeSeries its `labels_refs` field and what follows
   * its one Sample (the `metadata` field). Only the samples differ from one body to the next.
   */
  private *fieldsOf(body: Buffer, due: () => boolean): Generator<void, TemplateFields, void> {
    let pos = 0;
    while (body[pos] === REQUEST_SYMBOLS_KEY) pos = skipLengthDelimited(body, pos);
    const symbols = body.subarray(0, pos);
    const w = this.parts;
    w.reset();
    const cuts: number[] = [0];
    while (pos < body.length) {
      if ((cuts.length & (2 * STEP_MASK + 1)) === 2 * STEP_MASK + 1 && due()) yield;
      const seriesEnd = skipLengthDelimited(body, pos);
      const refsFrom = skipVarint(body, pos + 1);
      const refsTo = body[refsFrom] === LABELS_REFS_KEY ? skipLengthDelimited(body, refsFrom) : refsFrom;
      w.raw(body, refsFrom, refsTo);
      cuts.push(w.length);
      w.raw(body, skipLengthDelimited(body, refsTo), seriesEnd);
      cuts.push(w.length);
      pos = seriesEnd;
    }
    return { symbols, parts: Buffer.from(w.view()), cuts: Int32Array.from(cuts) };
  }

  private *fromTemplate(
    t: TemplateFields,
    series: readonly TimeSeries[],
    runs: readonly EncodedRun[],
    due: () => boolean,
  ): Generator<void, Buffer, void> {
    const w = this.writer;
    const { parts, cuts } = t;
    w.reset();
    w.raw(t.symbols, 0, t.symbols.length);
    yield* eachItem(
      series,
      runs,
      due,
      (frame, slot, item) =>
        writeFramed(
          w,
          parts,
          cuts[2 * item] as number,
          cuts[2 * item + 1] as number,
          cuts[2 * item + 2] as number,
          frame,
          slot,
        ),
      (s, item) => {
        const histograms = s.histograms ?? EMPTY_HISTOGRAMS;
        const refsFrom = cuts[2 * item] as number;
        const metaFrom = cuts[2 * item + 1] as number;
        const metaTo = cuts[2 * item + 2] as number;
        if (histograms.length === 0 && s.samples.length === 1) {
          // The steady state: one float sample, its sizes known, so no length is reserved and moved.
          const sample = s.samples[0] as Sample;
          const sampleLength = sampleSize(sample);
          w.header(REQUEST_TIMESERIES, metaTo - refsFrom + 1 + varintLength(sampleLength) + sampleLength);
          w.raw(parts, refsFrom, metaFrom);
          w.header(TIMESERIES_SAMPLES, sampleLength);
          writeSampleFields(w, sample);
          w.raw(parts, metaFrom, metaTo);
          return;
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
      },
    );
    return w.view();
  }

  private *makeTemplate(
    series: readonly TimeSeries[],
    runs: readonly EncodedRun[],
    metadata: ReadonlyMap<string, MetricFamilyMetadata>,
    due: () => boolean,
  ): Generator<void, RequestTemplate, void> {
    // Symbols are kept as their UTF-8 bytes (a latin1 string, one character a byte): read from
    // the series' encoded labels as they are, none of them decoded (wire/label-fields.ts).
    const { symbols, ref } = symbolList();
    // Made when a series has no label strings to read (most of a first export's have).
    let labels: LabelRefReader | undefined;
    const stringRefs = this.stringRefs;
    stringRefs.start(ref);
    const labelRefs = this.labelRefs;
    labelRefs.length = 0;
    const familyRefs = new Map<string, MetadataRefs>();
    // The series of one family are adjacent: each family is looked up once in a row.
    let lastFamily: string | undefined;
    let lastRefs = UNSPECIFIED;
    /** Appends the refs of a series' labels to `labelRefs`: from its label strings, else its bytes, else its labels. */
    const readSeries = (s: TimeSeries): void => {
      const strings = s.labelStrings;
      if (strings !== undefined && stringRefs.read(strings, s.labelStringsAt as number, labelRefs)) return;
      const encoded = s.encodedLabels;
      if (encoded !== undefined) (labels ??= new LabelRefReader(ref)).read(encoded, labelRefs);
      else for (const l of s.labels) labelRefs.push2(ref(utf8Bytes(l.name)), ref(utf8Bytes(l.value)));
    };
    /** The same for a frame's slot: from the label strings its export kept (SeriesFrame.labelStrings), else its bytes. */
    const readSlot = (frame: SeriesFrame, slot: number): void => {
      const strings = frame.labelStrings;
      if (
        strings === undefined ||
        !stringRefs.read(strings, (frame.labelStringsAt as Int32Array)[slot] as number, labelRefs)
      )
        (labels ??= new LabelRefReader(ref)).read(frame.encodedLabelsOf(slot), labelRefs);
    };
    /** The metadata refs of a series of `family`, after its labels' refs. */
    const familyOf = (family: string): MetadataRefs => {
      if (family === lastFamily) return lastRefs;
      lastFamily = family;
      let refs = familyRefs.get(family);
      if (refs === undefined) {
        // As symbolTable: a family's help and unit right after the labels of its first series.
        const meta = metadata.get(family);
        refs = meta
          ? { type: meta.type, helpRef: ref(utf8Bytes(meta.help)), unitRef: ref(utf8Bytes(meta.unit)) }
          : UNSPECIFIED;
        familyRefs.set(family, refs);
      }
      lastRefs = refs;
      return refs;
    };
    const items = new TemplateItems(series, runs);
    const families = (): Array<readonly [string, number, string, string]> =>
      [...familyRefs.keys()].map((family) => {
        const m = metadata.get(family);
        return [family, m?.type ?? 0, m?.help ?? '', m?.unit ?? ''] as const;
      });
    if (series.every(oneSample)) {
      // Its body is what the next export patches (patchBody), written as the refs are read.
      const body = new BodyWriter(this.parts, this.sampleTimes, this.metadataFields, items.count);
      yield* eachItem(
        series,
        runs,
        due,
        (frame, slot, item) => {
          labelRefs.length = 0;
          readSlot(frame, slot);
          // Its value read back from the frame (SeriesFrame.valueAt).
          body.sample(
            item,
            labelRefs,
            familyOf(frame.family),
            frame.valueAt(slot),
            frame.timestampMs,
            startOf(frame, slot),
          );
        },
        (s, item) => {
          labelRefs.length = 0;
          readSeries(s);
          const meta = familyOf(s.family);
          const sample = s.samples[0] as Sample;
          if (sample.stale) body.stale(item, labelRefs, meta, sample);
          else
            body.sample(
              item,
              labelRefs,
              meta,
              sample.value,
              sample.timestampMs,
              startTimestampToWrite(sample.startTimestampMs, sample.timestampMs),
            );
        },
      );
      return {
        items,
        families: families(),
        fields: undefined,
        usedIn: this.exportNumber,
        body: body.done(this.writer, symbols),
      };
    }
    // Every series' refs back to back (series i's end at refsEnds[i]), for the fields below.
    const itemMetadata: MetadataRefs[] = [];
    const refsEnds: number[] = [];
    const ended = (family: string): void => {
      refsEnds.push(labelRefs.length);
      itemMetadata.push(familyOf(family));
    };
    const count = yield* eachItem(
      series,
      runs,
      due,
      (frame, slot) => (readSlot(frame, slot), ended(frame.family)),
      (s) => (readSeries(s), ended(s.family)),
    );
    const w = this.parts;
    w.reset();
    writeSymbols(w, symbols);
    const symbolBytes = Buffer.from(w.view());
    w.reset();
    const cuts = new Int32Array(2 * count + 1);
    let refsAt = 0;
    for (let i = 0; i < count; i++) {
      if ((i & STEP_MASK) === STEP_MASK && due()) yield;
      const refsEnd = refsEnds[i] as number;
      w.packedInt32(TIMESERIES_LABELS_REFS, labelRefs.values, refsAt, refsEnd);
      cuts[2 * i + 1] = w.length;
      writeMetadata(w, itemMetadata[i] as MetadataRefs);
      cuts[2 * i + 2] = w.length;
      refsAt = refsEnd;
    }
    return {
      items,
      families: families(),
      fields: { symbols: symbolBytes, parts: Buffer.from(w.view()), cuts },
      usedIn: this.exportNumber,
    };
  }
}

/**
 * The body of a request whose series have one sample each, written series by series as their
 * label refs are read (RequestV2Encoder.makeTemplate), and kept with where each Sample is
 * (RequestBody): byte for byte what fromTemplate would write from the template's fields. The
 * series go into `parts` first; the symbols, known once the last series is read, go before them
 * in `done`.
 */
class BodyWriter {
  private readonly sampleAt: Int32Array;

  constructor(
    private readonly parts: ProtobufWriter,
    /** What each series of one sample copies (encoded once, not per series). */
    private readonly times: Int64FieldPair,
    private readonly fields: MetadataFields,
    count: number,
  ) {
    parts.reset();
    this.sampleAt = new Int32Array(count);
  }

  /**
   * A series of one float sample in one call: its timestamps (as writeSampleFields writes them)
   * and metadata copied as encoded once.
   */
  sample(
    item: number,
    refs: RefList,
    meta: MetadataRefs,
    value: number,
    timestampMs: number,
    startMs: number,
  ): void {
    const values = refs.values;
    const to = refs.length;
    this.sampleAt[item] = this.parts.packedAndDoubleMessage(
      REQUEST_TIMESERIES,
      TIMESERIES_LABELS_REFS,
      values,
      0,
      to,
      packedLength(values, 0, to),
      TIMESERIES_SAMPLES,
      value,
      this.times.of(timestampMs, startMs),
      this.fields.of(meta),
    );
  }

  /** A stale marker's series, the general way. */
  stale(item: number, refs: RefList, meta: MetadataRefs, sample: Sample): void {
    const w = this.parts;
    writeHead(w, refs.values, 0, refs.length, meta, sampleSize(sample));
    this.sampleAt[item] = w.length;
    writeSampleFields(w, sample);
    writeMetadata(w, meta);
  }

  /** The body: the symbols, then the series, in a buffer of its own. */
  done(w: ProtobufWriter, symbols: readonly string[]): RequestBody {
    w.reset();
    writeSymbols(w, symbols);
    const head = w.view();
    const parts = this.parts.view();
    const bytes = Buffer.allocUnsafe(head.length + parts.length);
    head.copy(bytes, 0);
    parts.copy(bytes, head.length);
    const sampleAt = this.sampleAt;
    for (let i = 0; i < sampleAt.length; i++) sampleAt[i] = (sampleAt[i] as number) + head.length;
    return { bytes, sampleAt };
  }
}

/**
 * A request's items in order, each numbered: the frame slots of each run, before `series[run.at]`,
 * and the series. Pauses before every STEP_MASK + 1-th item when `due()` says so. Returns the
 * number of items.
 */
function* eachItem(
  series: readonly TimeSeries[],
  runs: readonly EncodedRun[],
  due: () => boolean,
  slotItem: (frame: SeriesFrame, slot: number, item: number) => void,
  seriesItem: (s: TimeSeries, item: number) => void,
): Generator<void, number, void> {
  let item = 0;
  let r = 0;
  for (let i = 0; i <= series.length; i++) {
    while (r < runs.length && (runs[r] as EncodedRun).at === i) {
      const run = runs[r++] as EncodedRun;
      const frame = run.block as SeriesFrame;
      for (let slot = run.from; slot < run.to; slot++, item++) {
        if ((item & STEP_MASK) === STEP_MASK && due()) yield;
        slotItem(frame, slot, item);
      }
    }
    if (i === series.length) break;
    if ((item & STEP_MASK) === STEP_MASK && due()) yield;
    seriesItem(series[i] as TimeSeries, item++);
  }
  return item;
}

/** A series of one float sample: its TimeSeries has the layout a RequestBody is patched in. */
function oneSample(s: TimeSeries): boolean {
  return s.samples.length === 1 && (s.histograms === undefined || s.histograms.length === 0);
}

/** The request's `symbols` fields. */
function writeSymbols(w: ProtobufWriter, symbols: readonly string[]): void {
  for (const bytes of symbols) {
    w.header(REQUEST_SYMBOLS, bytes.length);
    w.latin1(bytes);
  }
}

/**
 * A TimeSeries of refs `from`…`to`, one Sample of `sampleLength` bytes and `meta`, up to the
 * Sample's content: its header, its `labels_refs` field and the Sample's key and length.
 */
function writeHead(
  w: ProtobufWriter,
  refs: Int32Array,
  from: number,
  to: number,
  meta: MetadataRefs,
  sampleLength: number,
): void {
  const refsLength = packedLength(refs, from, to);
  const metaLength = metadataLength(meta);
  w.header(
    REQUEST_TIMESERIES,
    (refsLength > 0 ? 1 + varintLength(refsLength) + refsLength : 0) +
      (1 + varintLength(sampleLength) + sampleLength) +
      (1 + varintLength(metaLength) + metaLength),
  );
  w.packedInt32(TIMESERIES_LABELS_REFS, refs, from, to, refsLength);
  w.header(TIMESERIES_SAMPLES, sampleLength);
}

const NO_RUNS: readonly EncodedRun[] = [];
/** RequestV2Encoder.encodeSteps looks at `due()` every 256 series. */
const STEP_MASK = 255;

/**
 * The refs of the names and values of encoded labels (`repeated Label` fields of RW 1.0, as
 * wire/label-fields.ts keeps them), read as their bytes: each `Label` is a length-delimited
 * field holding `name` (field 1) and `value` (field 2), an empty one left out.
 * Series of a request mostly share most of their labels with the series before them (same
 * name, job, instance, route…): a label whose field has the bytes of the previous series' label
 * at the same place takes its refs without being cut out and looked up again; one whose value
 * alone differs (the usual case: the same attribute keys, other values) keeps the name's ref.
 */
class LabelRefReader {
  private previous = '';
  private labels = 0;
  /** Per label of the previous series (FIELDS ints each): see `read`. */
  private was = new Int32Array(FIELDS * 16);
  /** The same for the series being read (swapped with `was` after it). */
  private now = new Int32Array(FIELDS * 16);

  constructor(private readonly ref: (bytes: string) => number) {}

  read(encoded: string, out: RefList): void {
    const previous = this.previous;
    const was = this.was;
    const ref = this.ref;
    let now = this.now;
    let pos = 0;
    let k = 0;
    while (pos < encoded.length) {
      const start = pos;
      pos++; // Label field key
      const length = varintAt(encoded, pos);
      pos += varintLength(length);
      const end = pos + length;
      const w = FIELDS * k;
      const known = k < this.labels;
      if (FIELDS * k + FIELDS > now.length) {
        const grown = new Int32Array(now.length * 2);
        grown.set(now);
        now = grown;
      }
      if (known && sameBytes(encoded, start, end, previous, was[w] as number, was[w + 1] as number)) {
        now[w] = start;
        now[w + 1] = end;
        for (let f = 2; f < FIELDS; f++) now[w + f] = was[w + f] as number;
      } else {
        // An empty name or value is left out of the field: "", ref 0.
        let nameFrom = pos;
        let nameTo = pos;
        let valueFrom = pos;
        let valueTo = pos;
        while (pos < end) {
          const field = encoded.charCodeAt(pos++) >> 3;
          const n = varintAt(encoded, pos);
          pos += varintLength(n);
          if (field === 1) {
            nameFrom = pos;
            nameTo = pos + n;
          } else {
            valueFrom = pos;
            valueTo = pos + n;
          }
          pos += n;
        }
        const nameAt = (was[w] as number) + (was[w + 2] as number); // in `previous`
        now[w] = start;
        now[w + 1] = end;
        now[w + 2] = nameFrom - start;
        now[w + 3] = nameTo - nameFrom;
        // The name's ref first, then the value's: the order of the symbols, as encodeRequestV2's.
        now[w + 4] =
          known && sameBytes(encoded, nameFrom, nameTo, previous, nameAt, nameAt + (was[w + 3] as number))
            ? (was[w + 4] as number)
            : ref(encoded.slice(nameFrom, nameTo));
        now[w + 5] = ref(encoded.slice(valueFrom, valueTo));
      }
      pos = end;
      out.push2(now[w + 4] as number, now[w + 5] as number);
      k++;
    }
    this.previous = encoded;
    this.labels = k;
    this.now = was.length >= now.length ? was : new Int32Array(now.length);
    this.was = now;
  }
}

/**
 * Per label read (LabelRefReader): its field's start and end, where its name starts (from the
 * field's start) and its length, the name's ref and the value's.
 */
const FIELDS = 6;

/** Refs appended to one growing Int32Array: a JS array of 40,000 refs a request cost more than the lookups. */
class RefList {
  values = new Int32Array(4096);
  length = 0;

  /** Room for `more` refs after `length`. */
  reserve(more: number): void {
    if (this.length + more <= this.values.length) return;
    const grown = new Int32Array(Math.max(this.length + more, 2 * this.values.length));
    grown.set(this.values.subarray(0, this.length));
    this.values = grown;
  }

  push2(a: number, b: number): void {
    this.reserve(2);
    this.values[this.length++] = a;
    this.values[this.length++] = b;
  }
}

/**
 * The refs in one request of the label strings of an export's new series (LabelStrings): each
 * series' labels in its plan's order, a name and then its value looked up (`ref`) as
 * encodeRequestV2 would, so that the symbols come out in its order. A plan's fixed labels and
 * label names are looked up at its first series in the request and kept (PlanSymbols), and a
 * value the same as the plan's last one at its slot (the series of one classic-histogram point)
 * keeps its ref: a varying value is looked up once.
 */
class StringRefs {
  private ref: (bytes: string) => number = () => 0;
  private strings: LabelStringsOf | undefined = undefined;
  /** The request being made, numbered across encoders: PlanSymbols' refs are valid for it. */
  private request = 0;

  /** A new request, whose symbols `ref` adds. */
  start(ref: (bytes: string) => number): void {
    this.ref = ref;
    this.strings = undefined;
    this.request = ++requests;
  }

  /** After an export: its strings are let go of. */
  release(): void {
    this.strings = undefined;
  }

  /** Appends the refs of the series at `at` to `out`; false for strings of another export than the request's first. */
  read(strings: LabelStringsOf, at: number, out: RefList): boolean {
    if (this.strings !== strings) {
      if (this.strings !== undefined) return false;
      this.strings = strings;
    }
    const chunk = strings.chunks[Math.floor(at / CHUNK)] as readonly unknown[];
    const from = at % CHUNK;
    const plan = chunk[from] as PlanSymbols;
    const names = plan.names;
    const slots = plan.slots;
    const nameRefs = plan.nameRefs;
    const valueRefs = plan.valueRefs;
    const lastValues = plan.lastValues;
    const lastRefs = plan.lastRefs;
    const ref = this.ref;
    // The plan's first series in this request: its fixed labels and names are looked up, in order.
    const first = plan.request !== this.request;
    if (first) {
      plan.request = this.request;
      lastValues.fill(undefined);
    }
    out.reserve(2 * names.length);
    const refs = out.values;
    let n = out.length;
    for (let l = 0; l < names.length; l++) {
      const slot = slots[l] as number;
      if (slot < 0) {
        if (first) {
          nameRefs[l] = ref(names[l] as string);
          valueRefs[l] = ref(plan.values[l] as string);
        }
        refs[n++] = nameRefs[l] as number;
        refs[n++] = valueRefs[l] as number;
        continue;
      }
      const value = chunk[from + 1 + slot] as string;
      // An empty varying value is no label (LabelFieldsPlan.writeAt): its name is looked up later.
      if (value === '') {
        if (first) nameRefs[l] = -1;
        continue;
      }
      let name = nameRefs[l] as number;
      if (first || name < 0) name = nameRefs[l] = ref(names[l] as string);
      refs[n++] = name;
      if (value === lastValues[slot]) refs[n++] = lastRefs[slot] as number;
      else {
        const valueRef = ref(value);
        lastValues[slot] = value;
        lastRefs[slot] = valueRef;
        refs[n++] = valueRef;
      }
    }
    out.length = n;
    return true;
  }
}

/** Requests made by every encoder so far (StringRefs.start). */
let requests = 0;

/**
 * The varint at `pos` of bytes held as a latin1 string. Our encoder writes them minimal, so it
 * takes `varintLength(value)` characters.
 */
function varintAt(text: string, pos: number): number {
  let value = 0;
  let scale = 1;
  let b: number;
  do {
    b = text.charCodeAt(pos++);
    value += (b & 0x7f) * scale;
    scale *= 128;
  } while (b >= 0x80);
  return value;
}

/** Whether a[aFrom, aTo) and b[bFrom, bTo) hold the same characters. */
function sameBytes(a: string, aFrom: number, aTo: number, b: string, bFrom: number, bTo: number): boolean {
  if (aTo - aFrom !== bTo - bFrom) return false;
  for (let i = aFrom, j = bFrom; i < aTo; i++, j++) if (a.charCodeAt(i) !== b.charCodeAt(j)) return false;
  return true;
}

// Field keys as patchBody and fieldsOf read them back (field number << 3 | wire type).
const REQUEST_SYMBOLS_KEY = 0x22; // Request.symbols = 4, length-delimited
const LABELS_REFS_KEY = 0x0a; // TimeSeries.labels_refs = 1, length-delimited (packed)
const VALUE_KEY = 0x09; // Sample.value = 1, fixed64
const TIMESTAMP_KEY = 0x10; // Sample.timestamp = 2, varint
const START_TIMESTAMP_KEY = 0x18; // Sample.start_timestamp = 3, varint
/** A Sample's value field (writeFramed): its key, then the 8 bytes of the value being written. */
const VALUE_FIELD = Uint8Array.of(VALUE_KEY, 0, 0, 0, 0, 0, 0, 0, 0);

/** The key of a request's first series, undefined for an empty request. */
function firstKey(series: readonly TimeSeries[], runs: readonly EncodedRun[]): string | undefined {
  const run = runs[0];
  if (run !== undefined && run.at === 0) return (run.block as SeriesFrame).encodedLabelsOf(run.from);
  return series[0]?.key;
}

function skipVarint(bytes: Uint8Array, pos: number): number {
  while ((bytes[pos] as number) >= 0x80) pos++;
  return pos + 1;
}

/** The position after the length-delimited field (key, length, content) at `pos`. */
function skipLengthDelimited(bytes: Uint8Array, pos: number): number {
  let p = pos + 1;
  let length = 0;
  let scale = 1;
  let b: number;
  do {
    b = bytes[p++] as number;
    length += (b & 0x7f) * scale;
    scale *= 128;
  } while (b >= 0x80);
  return p + length;
}

/**
 * The last body of a request of one-sample series (frames, or series when its template was
 * made), and where each series' Sample begins in it (its content, after its key and its
 * one-byte length: a Sample of a value, a timestamp and a start timestamp is under 128 bytes).
 * The next body differs only in the values' 8 bytes and the timestamps' bytes as long as every
 * value stays non-zero or zero, every timestamp keeps its varint length and every start time
 * stays (the frames' own rule, wire/series-frame.ts).
 */
interface RequestBody {
  readonly bytes: Buffer;
  readonly sampleAt: Int32Array;
}

/** A body just written from frames only (writeFramed), kept: each TimeSeries is key, length, `labels_refs`, Sample. */
function bodyOf(body: Uint8Array, count: number): RequestBody {
  const bytes = Buffer.from(body);
  const sampleAt = new Int32Array(count);
  let pos = 0;
  while (bytes[pos] === REQUEST_SYMBOLS_KEY) pos = skipLengthDelimited(bytes, pos);
  for (let item = 0; item < count; item++) {
    const seriesEnd = skipLengthDelimited(bytes, pos);
    let p = skipVarint(bytes, pos + 1);
    if (bytes[p] === LABELS_REFS_KEY) p = skipLengthDelimited(bytes, p);
    sampleAt[item] = skipVarint(bytes, p + 1);
    pos = seriesEnd;
  }
  return { bytes, sampleAt };
}

/**
 * Writes the frames' values and timestamps into the body; false (body half-written) when the
 * layout changed. The layout is read in the body itself: a value field or none, the timestamp's
 * varint length, the start timestamp's bytes (RequestBody).
 */
function patchBody(body: RequestBody, runs: readonly EncodedRun[], sameSlots: boolean): boolean {
  if (sameSlots) return patchSameSlots(body, runs);
  const { bytes, sampleAt } = body;
  let item = 0;
  let start = -1;
  let startLength = 0;
  for (const run of runs) {
    const frame = run.block as SeriesFrame;
    const ts = frame.timestampMs;
    const tsLength = writeVarint(TIMESTAMP_BYTES, 0, ts);
    if (item + run.to - run.from > sampleAt.length) return false;
    for (let slot = run.from; slot < run.to; slot++) {
      let p = sampleAt[item++] as number;
      const end = p + (bytes[p - 1] as number);
      const value = frame.hasValue(slot);
      if ((bytes[p] === VALUE_KEY) !== value) return false;
      if (value) {
        frame.copyValue(slot, bytes, p + 1);
        p += 9;
      }
      // The timestamp's varint ends at its first byte under 0x80.
      if (bytes[p] !== TIMESTAMP_KEY || (bytes[p + tsLength] as number) >= 0x80) return false;
      if (tsLength > 1 && (bytes[p + tsLength - 1] as number) < 0x80) return false;
      const tsAt = p + 1;
      p += 1 + tsLength;
      const s = startTimestampToWrite(frame.startAt(slot), ts);
      if (s === 0) {
        if (p !== end) return false;
      } else {
        if (s !== start) {
          start = s;
          startLength = writeVarint(START_BYTES, 0, s);
        }
        if (end - p !== 1 + startLength || bytes[p] !== START_TIMESTAMP_KEY) return false;
        for (let i = 0; i < startLength; i++) if (bytes[p + 1 + i] !== START_BYTES[i]) return false;
      }
      for (let i = 0; i < tsLength; i++) bytes[tsAt + i] = TIMESTAMP_BYTES[i] as number;
    }
  }
  return item === sampleAt.length;
}

/**
 * patchBody for a body written from these very frames and slots (TemplateItems.sameSlots). A
 * frame's layout never changes (wire/series-frame.ts: which slots are +0, the timestamp's
 * length and the start times are fixed for the frame's life; a change makes another frame), so
 * only whether a start is written can differ: it is left out while after the sample's time.
 */
function patchSameSlots(body: RequestBody, runs: readonly EncodedRun[]): boolean {
  const { bytes, sampleAt } = body;
  let item = 0;
  for (const run of runs) {
    const frame = run.block as SeriesFrame;
    const ts = frame.timestampMs;
    const tsLength = writeVarint(TIMESTAMP_BYTES, 0, ts);
    for (let slot = run.from; slot < run.to; slot++) {
      let p = sampleAt[item++] as number;
      const end = p + (bytes[p - 1] as number);
      if (frame.hasValue(slot)) {
        frame.copyValue(slot, bytes, p + 1);
        p += 9;
      }
      for (let i = 0; i < tsLength; i++) bytes[p + 1 + i] = TIMESTAMP_BYTES[i] as number;
      if ((p + 1 + tsLength !== end) !== (startTimestampToWrite(frame.startAt(slot), ts) !== 0)) return false;
    }
  }
  return true;
}

const START_BYTES = new Uint8Array(10);
const TIMESTAMP_BYTES = new Uint8Array(10);

/** One TimeSeries of a frame's slot: the template's refs and metadata around the frame's sample. */
function writeFramed(
  w: ProtobufWriter,
  parts: Uint8Array,
  refsFrom: number,
  metaFrom: number,
  metaTo: number,
  frame: SeriesFrame,
  slot: number,
): void {
  const start = startOf(frame, slot);
  const sampleLength = frameSampleLength(frame, slot, start);
  w.header(REQUEST_TIMESERIES, metaTo - refsFrom + 1 + varintLength(sampleLength) + sampleLength);
  w.raw(parts, refsFrom, metaFrom);
  w.header(TIMESERIES_SAMPLES, sampleLength);
  writeFrameSample(w, frame, slot, start);
  w.raw(parts, metaFrom, metaTo);
}

/** The start timestamp a frame's slot writes (0: none; startTimestampToWrite). */
function startOf(frame: SeriesFrame, slot: number): number {
  return startTimestampToWrite(frame.startAt(slot), frame.timestampMs);
}

/** The length of the Sample that writeFrameSample writes, with `start` from startOf. */
function frameSampleLength(frame: SeriesFrame, slot: number, start: number): number {
  const ts = frame.timestampMs;
  return (
    (frame.hasValue(slot) ? 9 : 0) +
    (ts !== 0 ? 1 + int64Length(ts) : 0) +
    (start !== 0 ? 1 + int64Length(start) : 0)
  );
}

/** The fields of the Sample of a frame's slot, with `start` from startOf. */
function writeFrameSample(w: ProtobufWriter, frame: SeriesFrame, slot: number, start: number): void {
  if (frame.hasValue(slot)) {
    // The value's bytes as the frame holds them: the double, little-endian, as RW 1.0 writes it.
    frame.copyValue(slot, VALUE_FIELD, 1);
    w.raw(VALUE_FIELD, 0, 9);
  }
  const ts = frame.timestampMs;
  if (ts !== 0) w.int64(SAMPLE_TIMESTAMP, ts);
  if (start !== 0) w.int64(SAMPLE_START_TIMESTAMP, start);
}

/** The same series (TemplateItems) and the same metadata of their families: then it names them as they are now. */
function fits(
  t: RequestTemplate,
  series: readonly TimeSeries[],
  runs: readonly EncodedRun[],
  metadata: ReadonlyMap<string, MetricFamilyMetadata>,
): boolean {
  if (!t.items.fits(series, runs)) return false;
  for (const [family, type, help, unit] of t.families) {
    const m = metadata.get(family);
    if ((m?.type ?? 0) !== type || (m?.help ?? '') !== help || (m?.unit ?? '') !== unit) return false;
  }
  if (!t.items.sameSlots) t.items.name(series, runs);
  return true;
}

const EMPTY_SAMPLES: readonly Sample[] = [];
const EMPTY_HISTOGRAMS: readonly NativeHistogram[] = [];

/** A request's symbols (`symbols[0] = ""`, RW2 §Symbols) and the ref of a string, added at its first use. */
function symbolList(): { symbols: string[]; ref: (text: string) => number } {
  const index = new Map<string, number>([['', 0]]);
  const symbols: string[] = [''];
  const ref = (text: string): number => {
    let r = index.get(text);
    if (r === undefined) {
      r = symbols.length;
      index.set(text, r);
      symbols.push(text);
    }
    return r;
  };
  return { symbols, ref };
}

/** The symbols of a request (`symbols[0] = ""`), the label refs of its series in order, and each family's metadata refs. */
function symbolTable(
  series: ReadonlyArray<Pick<TimeSeries, 'labels' | 'family'>>,
  metadata: ReadonlyMap<string, MetricFamilyMetadata>,
): { symbols: string[]; labelRefs: number[]; familyRefs: Map<string, MetadataRefs> } {
  const { symbols, ref } = symbolList();
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

/** The Metadata field (key, length, content) as writeMetadata writes it, for the last refs asked for. */
class MetadataFields {
  private readonly w = new ProtobufWriter(32);
  private meta: MetadataRefs | undefined = undefined;
  private bytes = new Uint8Array(0);

  of(meta: MetadataRefs): Uint8Array {
    if (meta !== this.meta) {
      this.w.reset();
      writeMetadata(this.w, meta);
      this.bytes = Uint8Array.from(this.w.view());
      this.meta = meta;
    }
    return this.bytes;
  }
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
  writer.header(TIMESERIES_METADATA, metadataLength(meta));
  if (meta.type !== 0) writer.uint(METADATA_TYPE, meta.type);
  if (meta.helpRef !== 0) writer.uint(METADATA_HELP_REF, meta.helpRef);
  if (meta.unitRef !== 0) writer.uint(METADATA_UNIT_REF, meta.unitRef);
}

/** The length of the Metadata message writeMetadata writes (each field a one-byte key and a varint). */
function metadataLength(meta: MetadataRefs): number {
  return (
    (meta.type !== 0 ? 1 + varintLength(meta.type) : 0) +
    (meta.helpRef !== 0 ? 1 + varintLength(meta.helpRef) : 0) +
    (meta.unitRef !== 0 ? 1 + varintLength(meta.unitRef) : 0)
  );
}
