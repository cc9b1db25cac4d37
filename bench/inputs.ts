/**
 * The benchmark's input: `ResourceMetrics` built by hand the way a cumulative OTel SDK hands them
 * to an exporter. Per stream the SDK keeps the same attributes object and start time across
 * collections, and builds new DataPoint objects at every collection, all sharing one end time.
 * So a pool holds what the SDK keeps per stream, and each `collect(k)` builds fresh points for
 * export k (values growing, end time 1 s later per export).
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  InstrumentType,
  type DataPoint,
  type Histogram,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';

/** Fixed, so that runs encode the same timestamps (same sizes). 2023-11-14T22:13:20Z. */
export const T0_MS = 1_700_000_000_000;

export function hr(ms: number): HrTime {
  return [Math.floor(ms / 1000), (ms % 1000) * 1e6];
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const ZONES = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'];

/** One resource and one scope for the whole process, as in an SDK. */
const resource = resourceFromAttributes({ 'service.name': 'bench', 'service.instance.id': 'i-1' });
const scope = { name: 'bench', version: '1.0.0' };

const counterDescriptor = {
  name: 'http.server.requests',
  unit: '{request}',
  description: 'Requests handled',
  type: InstrumentType.COUNTER,
  valueType: 1,
};
const histogramDescriptor = {
  name: 'http.server.duration',
  unit: 's',
  description: 'Request duration',
  type: InstrumentType.HISTOGRAM,
  valueType: 1,
};
/** One array for every point, as the SDK's aggregation config. */
const BOUNDARIES = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5];

function attributesFor(i: number, pod: number): Attributes {
  return {
    method: METHODS[i % METHODS.length],
    route: `/api/v1/resource${i % 100}`,
    status: String(200 + (i % 5)),
    pod: `pod-${pod.toString(36)}-${pod}`,
    zone: ZONES[i % ZONES.length],
  };
}

function wrap(metric: MetricData): ResourceMetrics {
  return { resource, scopeMetrics: [{ scope, metrics: [metric] }] };
}

/** What the SDK keeps per stream. */
export interface StreamPool {
  readonly attributes: Attributes[];
  readonly startTime: HrTime[];
  /** Export at which the stream appeared (its counter starts from 0 there). */
  readonly bornAt: number[];
}

export function streamPool(n: number): StreamPool {
  const pool: StreamPool = { attributes: new Array(n), startTime: new Array(n), bornAt: new Array(n) };
  const start = hr(T0_MS - 60_000);
  for (let i = 0; i < n; i++) {
    pool.attributes[i] = attributesFor(i, i);
    pool.startTime[i] = start;
    pool.bornAt[i] = 0;
  }
  return pool;
}

export function endTimeMs(exportIndex: number): number {
  return T0_MS + exportIndex * 1000;
}

/** Monotonic cumulative counter points of every stream of the pool, for export k. */
export function counterMetrics(pool: StreamPool, k: number): ResourceMetrics {
  const n = pool.attributes.length;
  const endTime = hr(endTimeMs(k));
  const dataPoints: DataPoint<number>[] = new Array(n);
  for (let i = 0; i < n; i++) {
    dataPoints[i] = {
      attributes: pool.attributes[i] as Attributes,
      startTime: pool.startTime[i] as HrTime,
      endTime,
      value: (k - (pool.bornAt[i] as number) + 1) * ((i % 17) + 1),
    };
  }
  return wrap({
    descriptor: counterDescriptor,
    dataPointType: DataPointType.SUM,
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    isMonotonic: true,
    dataPoints,
  });
}

/** Cumulative explicit-bucket histogram points (12 bounds) of every stream, for export k. */
export function histogramMetrics(pool: StreamPool, k: number): ResourceMetrics {
  const n = pool.attributes.length;
  const endTime = hr(endTimeMs(k));
  const dataPoints: DataPoint<Histogram>[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const counts = new Array<number>(BOUNDARIES.length + 1);
    let count = 0;
    for (let b = 0; b < counts.length; b++) {
      const c = ((i + b) % 7) * (k + 1);
      counts[b] = c;
      count += c;
    }
    dataPoints[i] = {
      attributes: pool.attributes[i] as Attributes,
      startTime: pool.startTime[i] as HrTime,
      endTime,
      value: {
        buckets: { boundaries: BOUNDARIES, counts },
        count,
        sum: count * 0.0375,
        min: 0.001,
        max: 7.5,
      },
    };
  }
  return wrap({
    descriptor: histogramDescriptor,
    dataPointType: DataPointType.HISTOGRAM,
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPoints,
  });
}

/**
 * Churn: before export k (k ≥ 1), `fraction` of the streams end and as many new ones start
 * (new `pod`, new attributes object, start time now), a different slice each time.
 */
export class ChurningPool {
  readonly pool: StreamPool;
  private nextPod: number;

  constructor(
    n: number,
    private readonly fraction: number,
  ) {
    this.pool = streamPool(n);
    this.nextPod = n;
  }

  advanceTo(k: number): void {
    if (k === 0) return;
    const n = this.pool.attributes.length;
    const replaced = Math.round(n * this.fraction);
    const from = ((k - 1) * replaced) % n;
    const start = hr(endTimeMs(k) - 1000);
    for (let j = 0; j < replaced; j++) {
      const i = (from + j) % n;
      this.pool.attributes[i] = attributesFor(i, this.nextPod++);
      this.pool.startTime[i] = start;
      this.pool.bornAt[i] = k;
    }
  }
}
