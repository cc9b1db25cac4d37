/**
 * Hand-built `ResourceMetrics`, for tests that need exact timestamps, temporalities and shapes.
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
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

export const T0_MS = 1_700_000_000_000;

export function hr(ms: number): HrTime {
  return [Math.floor(ms / 1000), (ms % 1000) * 1e6];
}

export function point<T>(
  value: T,
  attributes: Attributes = {},
  endMs = T0_MS,
  startMs = T0_MS - 60_000,
): DataPoint<T> {
  return { value, attributes, startTime: hr(startMs), endTime: hr(endMs) };
}

interface MetricSpec {
  name: string;
  unit?: string;
  description?: string;
}

function descriptor(spec: MetricSpec, type: InstrumentType) {
  return { name: spec.name, unit: spec.unit ?? '', description: spec.description ?? '', type, valueType: 1 };
}

export function sum(
  spec: MetricSpec,
  points: DataPoint<number>[],
  opts: { monotonic?: boolean; temporality?: AggregationTemporality } = {},
): MetricData {
  const monotonic = opts.monotonic ?? true;
  return {
    descriptor: descriptor(spec, monotonic ? InstrumentType.COUNTER : InstrumentType.UP_DOWN_COUNTER),
    dataPointType: DataPointType.SUM,
    aggregationTemporality: opts.temporality ?? AggregationTemporality.CUMULATIVE,
    isMonotonic: monotonic,
    dataPoints: points,
  } as MetricData;
}

export function gauge(spec: MetricSpec, points: DataPoint<number>[]): MetricData {
  return {
    descriptor: descriptor(spec, InstrumentType.GAUGE),
    dataPointType: DataPointType.GAUGE,
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPoints: points,
  } as MetricData;
}

export function histogram(
  spec: MetricSpec,
  points: DataPoint<Histogram>[],
  temporality = AggregationTemporality.CUMULATIVE,
): MetricData {
  return {
    descriptor: descriptor(spec, InstrumentType.HISTOGRAM),
    dataPointType: DataPointType.HISTOGRAM,
    aggregationTemporality: temporality,
    dataPoints: points,
  } as MetricData;
}

export function histogramValue(boundaries: number[], counts: number[], sum?: number): Histogram {
  return { buckets: { boundaries, counts }, count: counts.reduce((a, b) => a + b, 0), sum };
}

export function exponentialHistogram(spec: MetricSpec): MetricData {
  return {
    descriptor: descriptor(spec, InstrumentType.HISTOGRAM),
    dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPoints: [
      point({
        count: 1,
        sum: 1,
        scale: 0,
        zeroCount: 0,
        positive: { offset: 0, bucketCounts: [1] },
        negative: { offset: 0, bucketCounts: [] },
      }),
    ],
  } as MetricData;
}

export function resourceMetrics(
  metrics: MetricData[],
  resource: Attributes = { 'service.name': 'shop', 'service.instance.id': 'i-1' },
  scope: { name: string; version?: string; schemaUrl?: string; attributes?: Attributes } = {
    name: 'test-scope',
    version: '1.2.3',
  },
): ResourceMetrics {
  return { resource: resourceFromAttributes(resource), scopeMetrics: [{ scope, metrics }] };
}

/** One `export()` call as a promise of its result: resolves once its requests are queued. */
export function exportQueued(
  exporter: { export(rm: ResourceMetrics, cb: (r: ExportResult) => void): void },
  rm: ResourceMetrics,
): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(rm, resolve));
}

/**
 * One export, resolved once the receiver answered all its requests (or they were given up on),
 * with the delivery result: `exportAndWait`, the path `RemoteWriteClient` uses. Tests of what
 * arrives use it; tests of `export()`'s own contract use `exportQueued`.
 */
export function exportOnce(
  exporter: { exportAndWait(rm: ResourceMetrics): Promise<ExportResult> },
  rm: ResourceMetrics,
): Promise<ExportResult> {
  return exporter.exportAndWait(rm);
}
