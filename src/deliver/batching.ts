/**
 * Splits the series of one export into requests, only between series, and never between the
 * `_bucket`/`_sum`/`_count` series of one classic-histogram point (TimeSeries.group), so that a
 * receiver never stores half a histogram. Limits as Prometheus (`max_samples_per_send`, 2000)
 * and the Collector (`max_batch_size_bytes`, 3,000,000 uncompressed) (spec-digest §1.6).
 */
import type { Label, TimeSeries } from '../model.js';
import { sampleFieldSize, varintSize } from '../wire/rw1.js';

export interface BatchLimits {
  /** Samples plus native histograms per request. */
  readonly maxSamples: number;
  /** Uncompressed bytes of series per request (RW 1.0 size, the larger of the two encodings). */
  readonly maxBytes: number;
}

export interface Chunk {
  readonly series: TimeSeries[];
  /** Samples plus native histograms. */
  readonly samples: number;
  readonly bytes: number;
}

/**
 * Greedy, in order: a request is closed when the next group would cross a limit. A group that
 * alone crosses a limit goes in a request of its own and is reported through `onOversize`
 * (it is still sent: the receiver decides, and nothing is dropped silently).
 */
export function splitIntoChunks(
  series: readonly TimeSeries[],
  limits: BatchLimits,
  onOversize: (group: readonly TimeSeries[], samples: number, bytes: number) => void = () => {},
): Chunk[] {
  const chunks: Chunk[] = [];
  let current: TimeSeries[] = [];
  let samples = 0;
  let bytes = 0;
  const close = (): void => {
    if (current.length > 0) chunks.push({ series: current, samples, bytes });
    current = [];
    samples = 0;
    bytes = 0;
  };
  let i = 0;
  while (i < series.length) {
    // One group: a lone series, or the adjacent series sharing a `group` number.
    const first = series[i] as TimeSeries;
    let end = i + 1;
    if (first.group !== undefined) {
      while (end < series.length && (series[end] as TimeSeries).group === first.group) end++;
    }
    let groupSamples = 0;
    let groupBytes = 0;
    for (let j = i; j < end; j++) {
      const s = series[j] as TimeSeries;
      groupSamples += s.samples.length + (s.histograms?.length ?? 0);
      groupBytes += seriesSize(s);
    }
    if (samples + groupSamples > limits.maxSamples || bytes + groupBytes > limits.maxBytes) close();
    if (groupSamples > limits.maxSamples || groupBytes > limits.maxBytes) {
      onOversize(series.slice(i, end), groupSamples, groupBytes);
    }
    for (let j = i; j < end; j++) current.push(series[j] as TimeSeries);
    samples += groupSamples;
    bytes += groupBytes;
    i = end;
  }
  close();
  return chunks;
}

/**
 * Bytes of one `TimeSeries` in a RW 1.0 request, with its field key and length. Exact for labels
 * and samples; native histograms are counted at their largest possible size. RW 2.0 is smaller
 * (strings once per request), so the same limit holds for both.
 */
export function seriesSize(s: TimeSeries): number {
  let body = 0;
  if (s.encodedLabels !== undefined) body = s.encodedLabels.length;
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
