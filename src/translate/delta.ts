/**
 * Delta → cumulative. Prometheus counters and classic histograms are cumulative; a delta point
 * sent as a counter would be read as a reset every interval. The OTel spec allows a converter
 * to accumulate deltas into cumulative values (§Sums, §Histograms), which is what this does,
 * per stream (scope + metric + attributes), keeping the first start time.
 *
 * Every stream seen once is reported on every later export, as a cumulative SDK would: a delta
 * reader leaves out streams with no new measurement, and that must not look like a series
 * that vanished. Memory is therefore one entry per stream ever seen, like a cumulative SDK.
 *
 * Observable instruments are the exception. The exporter asks the SDK for their deltas
 * (exporter.ts `selectAggregationTemporality`) because only then does a collection leave out
 * the attribute sets their callback stopped reporting; under cumulative temporality the SDK
 * repeats every set it ever saw, so such a series would never go stale. Their streams are
 * reported only in the exports where the callback reported them, so the series state sends one
 * stale marker when one goes missing (OTel spec, Prometheus compatibility §Staleness: a scraped
 * target's series would go stale too). Their totals are kept, as the SDK keeps its own memo, so a
 * set that comes back resumes from the same value the cumulative SDK would report.
 *
 * Exponential histograms add up bucket by bucket at the coarser of the two scales (a bucket at
 * scale s is exactly two buckets at scale s + 1), as the SDK does when it merges; their start
 * time is kept too, so they become cumulative native histograms.
 */
import { diag, type HrTime } from '@opentelemetry/api';
import {
  DataPointType,
  type DataPoint,
  type ExponentialHistogram,
  type Histogram,
  type MetricData,
  type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';

type Scope = ScopeMetrics['scope'];
type NumberOrHistogramPoint = DataPoint<number> | DataPoint<Histogram> | DataPoint<ExponentialHistogram>;

interface Stream {
  total: NumberOrHistogramPoint;
  /** The collect() round in which the stream last had a point. */
  seenIn: number;
}

interface AccumulatedMetric {
  scope: Scope;
  metric: MetricData;
  streams: Map<string, Stream>;
  /** From an observable instrument: streams without a point in this export are left out. */
  observed: boolean;
}

export const OBSERVABLE_INSTRUMENTS: ReadonlySet<string> = new Set([
  'OBSERVABLE_COUNTER',
  'OBSERVABLE_UP_DOWN_COUNTER',
  'OBSERVABLE_GAUGE',
]);

/**
 * Whether a metric comes from an observable instrument. The SDK's MetricData carries its
 * instrument descriptor, whose `type` is there at run time though not in the declared type (SDK
 * 2.x and 3.x alike); data from elsewhere has no `type` and keeps the delta rules above.
 */
export function fromObservableInstrument(metric: MetricData): boolean {
  const type = (metric.descriptor as { type?: unknown }).type;
  return typeof type === 'string' && OBSERVABLE_INSTRUMENTS.has(type);
}

function streamKey(point: DataPoint<unknown>): string {
  const keys = Object.keys(point.attributes).sort();
  return JSON.stringify(keys.map((k) => [k, point.attributes[k]]));
}

function metricKey(scope: Scope, metric: MetricData): string {
  const d = metric.descriptor;
  return JSON.stringify([
    scope.name,
    scope.version ?? '',
    scope.schemaUrl ?? '',
    d.name,
    d.unit,
    metric.dataPointType,
  ]);
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function addHistograms(total: Histogram, delta: Histogram): Histogram {
  return {
    buckets: {
      boundaries: total.buckets.boundaries,
      counts: total.buckets.counts.map((c, i) => c + (delta.buckets.counts[i] ?? 0)),
    },
    count: total.count + delta.count,
    ...sumMinMax(total, delta),
  };
}

/** Sum (unknown if either is), min and max of two accumulations of one stream. */
function sumMinMax(
  total: { sum?: number; min?: number; max?: number },
  delta: { sum?: number; min?: number; max?: number },
): { sum?: number; min?: number; max?: number } {
  return {
    sum: total.sum === undefined || delta.sum === undefined ? undefined : total.sum + delta.sum,
    min:
      total.min === undefined || delta.min === undefined
        ? (total.min ?? delta.min)
        : Math.min(total.min, delta.min),
    max:
      total.max === undefined || delta.max === undefined
        ? (total.max ?? delta.max)
        : Math.max(total.max, delta.max),
  };
}

type Buckets = ExponentialHistogram['positive'];

/** The SDK's default maximum bucket count; a running total is kept within it by downscaling. */
const MAX_EXPONENTIAL_BUCKETS = 160;

/** `buckets` at scale `s − by`: each bucket i goes to i >> by (floor division by 2^by). */
export function downscaleBuckets(buckets: Buckets, by: number): Buckets {
  const n = buckets.bucketCounts.length;
  if (by === 0 || n === 0) return buckets;
  const offset = buckets.offset >> by;
  const counts = new Array<number>(((buckets.offset + n - 1) >> by) - offset + 1).fill(0);
  for (let i = 0; i < n; i++) {
    const j = ((buckets.offset + i) >> by) - offset;
    counts[j] = (counts[j] ?? 0) + (buckets.bucketCounts[i] ?? 0);
  }
  return { offset, bucketCounts: counts };
}

function addBuckets(a: Buckets, b: Buckets): Buckets {
  if (b.bucketCounts.length === 0) return a;
  if (a.bucketCounts.length === 0) return b;
  const offset = Math.min(a.offset, b.offset);
  const end = Math.max(a.offset + a.bucketCounts.length, b.offset + b.bucketCounts.length);
  const counts = new Array<number>(end - offset).fill(0);
  for (const x of [a, b]) {
    x.bucketCounts.forEach((c, i) => {
      const j = x.offset + i - offset;
      counts[j] = (counts[j] ?? 0) + c;
    });
  }
  return { offset, bucketCounts: counts };
}

/** How many buckets the sum of two bucket ranges spans. */
function span(a: Buckets, b: Buckets): number {
  if (a.bucketCounts.length === 0 || b.bucketCounts.length === 0)
    return Math.max(a.bucketCounts.length, b.bucketCounts.length);
  const end = Math.max(a.offset + a.bucketCounts.length, b.offset + b.bucketCounts.length);
  return end - Math.min(a.offset, b.offset);
}

export function addExponentialHistograms(
  total: ExponentialHistogram,
  delta: ExponentialHistogram,
): ExponentialHistogram {
  let scale = Math.min(total.scale, delta.scale);
  let tp = downscaleBuckets(total.positive, total.scale - scale);
  let dp = downscaleBuckets(delta.positive, delta.scale - scale);
  let tn = downscaleBuckets(total.negative, total.scale - scale);
  let dn = downscaleBuckets(delta.negative, delta.scale - scale);
  // Far-apart buckets (1e-300 then 1e300 at scale 20: indices ±1e9) would need one array spanning
  // both: coarser first, so that the sum is never larger than the bound below.
  while (span(tp, dp) > MAX_EXPONENTIAL_BUCKETS || span(tn, dn) > MAX_EXPONENTIAL_BUCKETS) {
    scale--;
    tp = downscaleBuckets(tp, 1);
    dp = downscaleBuckets(dp, 1);
    tn = downscaleBuckets(tn, 1);
    dn = downscaleBuckets(dn, 1);
  }
  let positive = addBuckets(tp, dp);
  let negative = addBuckets(tn, dn);
  // A running total whose values spread over time would otherwise grow without bound.
  while (Math.max(positive.bucketCounts.length, negative.bucketCounts.length) > MAX_EXPONENTIAL_BUCKETS) {
    scale--;
    positive = downscaleBuckets(positive, 1);
    negative = downscaleBuckets(negative, 1);
  }
  return {
    count: total.count + delta.count,
    scale,
    zeroCount: total.zeroCount + delta.zeroCount,
    positive,
    negative,
    ...sumMinMax(total, delta),
  };
}

export class DeltaAccumulator {
  private readonly metrics = new Map<string, AccumulatedMetric>();
  private round = 0;

  /** Folds one delta metric (Sum, Histogram or ExponentialHistogram) into the running totals. */
  add(scope: Scope, metric: MetricData): void {
    const key = metricKey(scope, metric);
    let acc = this.metrics.get(key);
    if (!acc) {
      acc = { scope, metric, streams: new Map(), observed: fromObservableInstrument(metric) };
      this.metrics.set(key, acc);
    }
    acc.metric = metric; // latest descriptor (description may change)
    for (const point of metric.dataPoints as NumberOrHistogramPoint[]) {
      const sKey = streamKey(point);
      const stream = acc.streams.get(sKey);
      if (stream === undefined) acc.streams.set(sKey, { total: point, seenIn: this.round });
      else {
        stream.total = this.fold(metric, stream.total, point);
        stream.seenIn = this.round;
      }
    }
  }

  private fold(
    metric: MetricData,
    total: NumberOrHistogramPoint,
    delta: NumberOrHistogramPoint,
  ): NumberOrHistogramPoint {
    if (metric.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) {
      return {
        ...delta,
        startTime: total.startTime,
        value: addExponentialHistograms(
          total.value as ExponentialHistogram,
          delta.value as ExponentialHistogram,
        ),
      };
    }
    if (metric.dataPointType !== DataPointType.HISTOGRAM) {
      return {
        ...delta,
        startTime: total.startTime,
        value: (total.value as number) + (delta.value as number),
      };
    }
    const t = total.value as Histogram;
    const d = delta.value as Histogram;
    if (!sameBounds(t.buckets.boundaries, d.buckets.boundaries)) {
      diag.warn(
        `prometheus remote write: histogram "${metric.descriptor.name}" changed its bucket boundaries; ` +
          'its cumulative series restart from this point',
      );
      return delta;
    }
    return { ...delta, startTime: total.startTime, value: addHistograms(t, d) };
  }

  /**
   * Every accumulated metric with all its streams, as cumulative data, and the start of a new
   * round. Streams that had no new point in this export are stamped `now`: their total is still
   * the value at that time. Streams of observable instruments without a point in this export
   * are left out (see the top of this file); a metric left with none is left out.
   */
  collect(now: HrTime): Array<{ scope: Scope; metric: MetricData }> {
    const out: Array<{ scope: Scope; metric: MetricData }> = [];
    for (const acc of this.metrics.values()) {
      const dataPoints: NumberOrHistogramPoint[] = [];
      for (const { total: p, seenIn } of acc.streams.values()) {
        if (acc.observed && seenIn !== this.round) continue;
        dataPoints.push(
          p.endTime[0] < now[0] || (p.endTime[0] === now[0] && p.endTime[1] < now[1])
            ? { ...p, endTime: now }
            : p,
        );
      }
      if (dataPoints.length > 0 || !acc.observed)
        out.push({ scope: acc.scope, metric: { ...acc.metric, dataPoints } as MetricData });
    }
    this.round++;
    return out;
  }

  get size(): number {
    return this.metrics.size;
  }
}
