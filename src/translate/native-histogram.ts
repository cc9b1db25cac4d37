/**
 * OTel histograms → Prometheus native histograms (model `NativeHistogram`, integer counts).
 *
 * Exponential histograms (OTel spec §Exponential Histograms; spec digest §3.5): schema = scale,
 * scales above 8 are downscaled by merging neighbouring buckets, scales below −4 cannot be
 * represented. OTel bucket index i covers (base^i, base^(i+1)], Prometheus bucket index j covers
 * (base^(j−1), base^j], so j = i + 1. Buckets become spans and deltas as in client_golang.
 *
 * Explicit-bucket histograms can become native histograms with custom buckets (schema −53,
 * `custom_values` = the bounds without +Inf), which only RW 2.0 receivers understand.
 */
import type { ExponentialHistogram, Histogram } from '@opentelemetry/sdk-metrics';
import { ResetHint, type BucketSpan, type NativeHistogram } from '../model.js';

export const MAX_SCHEMA = 8;
export const MIN_SCHEMA = -4;
export const CUSTOM_BUCKETS_SCHEMA = -53;

/**
 * Zero threshold when the point has none. The JS SDK's points carry no threshold (only exact
 * zeros land in `zeroCount`); the OTel spec says to use the default 1e-128 then, as the
 * Collector's translator does, so that series from both merge in PromQL without the zero bucket
 * being widened.
 */
export const DEFAULT_ZERO_THRESHOLD = 1e-128;

/** A gap of more than this many empty buckets starts a new span (client_golang's constant). */
const MAX_FILLED_GAP = 2;

interface MutableSpan {
  offset: number;
  length: number;
}

/**
 * Spans and deltas for bucket counts `counts`, where `counts[i]` belongs to Prometheus bucket
 * `((offset + i) >> scaleDown) + indexShift`. Neighbours that map to one bucket are added up;
 * empty buckets are left out, except gaps of up to 2 inside a span, which cost less as zero
 * deltas than as a new span.
 */
export function bucketsToSpans(
  offset: number,
  counts: readonly number[],
  scaleDown = 0,
  indexShift = 1,
): { spans: BucketSpan[]; deltas: number[] } {
  const spans: MutableSpan[] = [];
  const deltas: number[] = [];
  let lastIndex = 0;
  let lastCount = 0;
  const append = (index: number, count: number): void => {
    if (count === 0) return;
    const span = spans[spans.length - 1];
    const gap = index - lastIndex - 1;
    if (span === undefined || gap > MAX_FILLED_GAP) {
      spans.push({ offset: span === undefined ? index : gap, length: 1 });
    } else {
      for (let g = 0; g < gap; g++) {
        deltas.push(0 - lastCount);
        lastCount = 0;
      }
      span.length += gap + 1;
    }
    deltas.push(count - lastCount);
    lastCount = count;
    lastIndex = index;
  };
  // Indices fit in 32 bits (|index| ≤ 1075·2^20 at the SDK's largest scale 20), so `>>` is
  // exact, and it rounds towards −∞ as merging requires.
  let index = 0;
  let count = 0;
  for (let i = 0; i < counts.length; i++) {
    const next = ((offset + i) >> scaleDown) + indexShift;
    if (i > 0 && next !== index) {
      append(index, count);
      count = 0;
    }
    index = next;
    count += counts[i] ?? 0;
  }
  if (counts.length > 0) append(index, count);
  return { spans, deltas };
}

export type NativeResult =
  { readonly histogram: NativeHistogram } | { readonly dropped: 'scale' | 'sum'; readonly scale: number };

/**
 * One exponential point as a native histogram, or why it cannot be one: a scale below −4
 * (no schema that coarse), or no sum (the OTel spec says to drop such points: a native
 * histogram's sum is not optional, and 0 would be a wrong value).
 */
export function exponentialToNative(
  value: ExponentialHistogram,
  timestampMs: number,
  startTimestampMs?: number,
): NativeResult {
  if (value.scale < MIN_SCHEMA) return { dropped: 'scale', scale: value.scale };
  if (value.sum === undefined) return { dropped: 'sum', scale: value.scale };
  const scaleDown = Math.max(0, value.scale - MAX_SCHEMA);
  const positive = bucketsToSpans(value.positive.offset, value.positive.bucketCounts, scaleDown);
  const negative = bucketsToSpans(value.negative.offset, value.negative.bucketCounts, scaleDown);
  const threshold = (value as { zeroThreshold?: number }).zeroThreshold;
  const histogram: NativeHistogram = {
    count: value.count,
    sum: value.sum,
    schema: value.scale - scaleDown,
    zeroThreshold: typeof threshold === 'number' && threshold > 0 ? threshold : DEFAULT_ZERO_THRESHOLD,
    zeroCount: value.zeroCount,
    negativeSpans: negative.spans,
    negativeDeltas: negative.deltas,
    positiveSpans: positive.spans,
    positiveDeltas: positive.deltas,
    // Never NO: a wrong "no reset" corrupts rates; the receiver detects resets itself.
    resetHint: ResetHint.UNKNOWN,
    timestampMs,
  };
  return startTimestampMs ? { histogram: { ...histogram, startTimestampMs } } : { histogram };
}

/**
 * An explicit-bucket point as a native histogram with custom buckets (schema −53). Bucket i
 * (0-based, the last one being +Inf) is custom bucket index i: no +1 shift, no negative side.
 * Returns undefined for a point without sum, which stays a classic histogram.
 */
export function explicitToCustomBuckets(
  value: Histogram,
  timestampMs: number,
  startTimestampMs?: number,
): NativeHistogram | undefined {
  if (value.sum === undefined) return undefined;
  const { boundaries, counts } = value.buckets;
  let bounds = boundaries.length;
  while (bounds > 0 && boundaries[bounds - 1] === Infinity) bounds--;
  // Counts past a +Inf bound (an SDK would not produce them) fold into the +Inf bucket.
  const bucketCounts = counts.slice(0, bounds + 1);
  for (let i = bounds + 1; i < counts.length; i++) {
    bucketCounts[bounds] = (bucketCounts[bounds] ?? 0) + (counts[i] ?? 0);
  }
  const positive = bucketsToSpans(0, bucketCounts, 0, 0);
  const histogram: NativeHistogram = {
    count: value.count,
    sum: value.sum,
    schema: CUSTOM_BUCKETS_SCHEMA,
    zeroThreshold: 0,
    zeroCount: 0,
    negativeSpans: [],
    negativeDeltas: [],
    positiveSpans: positive.spans,
    positiveDeltas: positive.deltas,
    resetHint: ResetHint.UNKNOWN,
    timestampMs,
    customValues: boundaries.slice(0, bounds),
  };
  return startTimestampMs ? { ...histogram, startTimestampMs } : histogram;
}

/** The stale marker of a native-histogram series: stale NaN as sum, count 0 (OTel spec §Staleness). */
export function staleNativeHistogram(timestampMs: number): NativeHistogram {
  return {
    count: 0,
    sum: NaN,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    negativeSpans: [],
    negativeDeltas: [],
    positiveSpans: [],
    positiveDeltas: [],
    resetHint: ResetHint.UNKNOWN,
    timestampMs,
    stale: true,
  };
}
