/**
 * Splits the series of one export into requests, only between series, and never between the
 * `_bucket`/`_sum`/`_count` series of one classic-histogram point (TimeSeries.group), so that a
 * receiver never stores half a histogram. Limits as Prometheus (`max_samples_per_send`, 2000)
 * and the Collector (`max_batch_size_bytes`, 3,000,000 uncompressed) (spec-digest §1.6).
 */
import type { EncodedRun, EncodedSeriesBlock, Label, TimeSeries } from '../model.js';
import { sampleFieldSize, varintSize } from '../wire/rw1.js';

export interface BatchLimits {
  /** Samples plus native histograms per request. */
  readonly maxSamples: number;
  /** Uncompressed bytes of series per request (RW 1.0 size, the larger of the two encodings). */
  readonly maxBytes: number;
}

export interface Chunk {
  readonly series: TimeSeries[];
  /** Runs of encoded series, each placed among `series` by its `at`. */
  readonly runs: EncodedRun[];
  /** Samples plus native histograms. */
  readonly samples: number;
  readonly bytes: number;
}

/** A group (or series) over a limit: the labels of its first series and how many others it has. */
type OnOversize = (labels: readonly Label[], others: number, samples: number, bytes: number) => void;

/**
 * Greedy, in order: a request is closed when the next group would cross a limit. A group that
 * alone crosses a limit goes in a request of its own and is reported through `onOversize`
 * (it is still sent: the receiver decides, and nothing is dropped silently).
 * Series are added one at a time and each request is handed to `onChunk` as soon as it is
 * closed, so an export of a million series is encoded and compressed while it is translated,
 * never held whole (DESIGN.md, performance principles).
 */
export class Chunker {
  private current: TimeSeries[] = [];
  private runs: EncodedRun[] = [];
  private samples = 0;
  private bytes = 0;
  /** The group being collected: adjacent series with one `group` number, or a lone series. */
  private group: TimeSeries[] = [];
  private groupId: number | undefined;
  private groupSamples = 0;
  private groupBytes = 0;

  constructor(
    private readonly limits: BatchLimits,
    private readonly onChunk: (chunk: Chunk) => void,
    private readonly onOversize: OnOversize = () => {},
  ) {}

  add(s: TimeSeries): void {
    if (s.group === undefined && this.group.length === 0) {
      // A lone series (counters, gauges): no group to collect.
      const samples = s.samples.length + (s.histograms?.length ?? 0);
      const bytes = seriesSize(s);
      const { limits } = this;
      if (this.samples + samples > limits.maxSamples || this.bytes + bytes > limits.maxBytes)
        this.closeChunk();
      if (samples > limits.maxSamples || bytes > limits.maxBytes)
        this.onOversize(s.labels, 0, samples, bytes);
      this.current.push(s);
      this.samples += samples;
      this.bytes += bytes;
      return;
    }
    if (this.group.length > 0 && (s.group === undefined || s.group !== this.groupId)) this.closeGroup();
    this.group.push(s);
    this.groupId = s.group;
    this.groupSamples += s.samples.length + (s.histograms?.length ?? 0);
    this.groupBytes += seriesSize(s);
  }

  /**
   * Series `from`…`to` of an encoded block (one sample each), in groups of `group` series (the
   * series of one histogram point; `to − from` a multiple of it), split between groups where the
   * limits fall, as `add` would split the same series one by one.
   */
  addRun(block: EncodedSeriesBlock, from: number, to: number, group = 1): void {
    if (this.group.length > 0) this.closeGroup();
    const { maxSamples, maxBytes } = this.limits;
    const ends = block.ends;
    const bytesTo = (start: number, groups: number): number =>
      (ends[from + groups * group - 1] as number) - start;
    while (from < to) {
      const start = from === 0 ? 0 : (ends[from - 1] as number);
      const roomBytes = maxBytes - this.bytes;
      // The most groups that fit: by samples, then by bytes (ends grow: binary search).
      let groups = Math.floor(Math.min(to - from, Math.max(0, maxSamples - this.samples)) / group);
      if (groups > 0 && bytesTo(start, groups) > roomBytes) {
        let lo = 0; // lo groups fit
        let hi = groups; // hi groups do not
        while (hi - lo > 1) {
          const mid = (lo + hi) >>> 1;
          if (bytesTo(start, mid) <= roomBytes) lo = mid;
          else hi = mid;
        }
        groups = lo;
      }
      if (groups === 0) {
        if (this.current.length > 0 || this.runs.length > 0) {
          this.closeChunk();
          continue;
        }
        // One group alone over a limit: sent alone, reported.
        groups = 1;
        this.onOversize(block.labelsOf(from), group - 1, group, bytesTo(start, 1));
      }
      const fit = from + groups * group;
      this.runs.push({ block, from, to: fit, at: this.current.length });
      this.samples += fit - from;
      this.bytes += (ends[fit - 1] as number) - start;
      from = fit;
      if (from < to) this.closeChunk();
    }
  }

  /** Hands over the last request. */
  flush(): void {
    if (this.group.length > 0) this.closeGroup();
    this.closeChunk();
  }

  private closeGroup(): void {
    const { limits, groupSamples, groupBytes } = this;
    if (this.samples + groupSamples > limits.maxSamples || this.bytes + groupBytes > limits.maxBytes) {
      this.closeChunk();
    }
    if (groupSamples > limits.maxSamples || groupBytes > limits.maxBytes) {
      this.onOversize((this.group[0] as TimeSeries).labels, this.group.length - 1, groupSamples, groupBytes);
    }
    for (const s of this.group) this.current.push(s);
    this.samples += groupSamples;
    this.bytes += groupBytes;
    this.group = [];
    this.groupId = undefined;
    this.groupSamples = 0;
    this.groupBytes = 0;
  }

  private closeChunk(): void {
    if (this.current.length === 0 && this.runs.length === 0) return;
    const chunk = { series: this.current, runs: this.runs, samples: this.samples, bytes: this.bytes };
    this.current = [];
    this.runs = [];
    this.samples = 0;
    this.bytes = 0;
    this.onChunk(chunk);
  }
}

/** All the requests of a list of series at once (see Chunker). */
export function splitIntoChunks(
  series: readonly TimeSeries[],
  limits: BatchLimits,
  onOversize?: OnOversize,
): Chunk[] {
  const chunks: Chunk[] = [];
  const chunker = new Chunker(limits, (chunk) => chunks.push(chunk), onOversize);
  for (const s of series) chunker.add(s);
  chunker.flush();
  return chunks;
}

/**
 * Bytes of one `TimeSeries` in a RW 1.0 request, with its field key and length. Exact for labels
 * and samples; native histograms are counted at their largest possible size. RW 2.0 is smaller
 * (strings once per request), so the same limit holds for both.
 */
export function seriesSize(s: TimeSeries): number {
  let body = 0;
  if (s.labelsSize !== undefined) body = s.labelsSize;
  else if (s.encodedLabels !== undefined) body = s.encodedLabels.length;
  else for (const label of s.labels) body += fieldSize(labelSize(label));
  for (const sample of s.samples) body += sampleFieldSize(sample);
  if (s.histograms) {
    for (const h of s.histograms) {
      const spans = h.negativeSpans.length + h.positiveSpans.length;
      const buckets = h.negativeDeltas.length + h.positiveDeltas.length;
      // Scalars (count, sum, schema, zero threshold/count, reset hint, timestamp) ≤ 80 bytes;
      // a span ≤ 13 bytes, a delta ≤ 10, a custom bound 8.
      body += fieldSize(80 + spans * 13 + buckets * 10 + (h.customValues?.length ?? 0) * 8 + 10);
    }
  }
  return fieldSize(body);
}

function labelSize(label: Label): number {
  // Empty strings are proto3 defaults, left out by the encoder.
  return (
    (label.name ? fieldSize(utf8Length(label.name)) : 0) +
    (label.value ? fieldSize(utf8Length(label.value)) : 0)
  );
}

/** A length-delimited field: key (1 byte for fields < 16) + length varint + content. */
function fieldSize(length: number): number {
  return 1 + varintSize(length) + length;
}

export function utf8Length(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) length += 1;
    else if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      length += 2; // a surrogate pair: 4 bytes for 2 code units
      i++;
    } else length += 2; // lone surrogates become U+FFFD, 3 bytes
  }
  return length;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
