/**
 * Checks of the data handed to `export()` before any of it is translated. A producer other than
 * the SDK (a bridge, a hand-made `ResourceMetrics`, a bug) can hand over anything; what cannot be
 * read, or would make a receiver refuse the whole request it travels in, is left out here so
 * that it never takes the rest of the export with it. Each check returns why a thing is
 * malformed, or `undefined` when it is fine: the message goes into the export's error.
 *
 * What is required follows the OTLP data model (opentelemetry-proto metrics.proto):
 * explicit bounds strictly increasing, `bucket_counts` one longer than the bounds (or both
 * empty), counts non-negative integers; for exponential histograms, a scale within the OTel
 * range (−10…20), integer bucket indices, and a count not below the buckets' total (Prometheus'
 * ValidateHistogram refuses a native histogram whose buckets hold more than its count).
 */
import type { DataPoint, MetricData } from '@opentelemetry/sdk-metrics';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import { NEVER, runSteps } from '../steps.js';

/** The largest OTel exponential scale (OTel spec, data model §Exponential Histogram). */
const MAX_SCALE = 20;
/** The smallest: scales below Prometheus' −4 are still valid data, dropped later as unsupported. */
const MIN_SCALE = -10;
/** Bucket indices must stay 32-bit integers (native-histogram.ts shifts them). */
const MAX_INDEX = 2 ** 31 - 1;
/** The last millisecond a JavaScript Date can hold (ECMA-262 §21.4.1.1); later is no time. */
const MAX_TIME_MS = 8.64e15;

/**
 * What the export as a whole must be: without a readable resource nothing can be labelled, and
 * without a `scopeMetrics` array there is nothing to read.
 */
export function exportProblem(resourceMetrics: unknown): string | undefined {
  if (typeof resourceMetrics !== 'object' || resourceMetrics === null)
    return `the ResourceMetrics is ${typeName(resourceMetrics)}`;
  const { resource, scopeMetrics } = resourceMetrics as { resource?: unknown; scopeMetrics?: unknown };
  if (typeof resource !== 'object' || resource === null) return `its resource is ${typeName(resource)}`;
  const attributes = (resource as { attributes?: unknown }).attributes;
  if (typeof attributes !== 'object' || attributes === null)
    return `its resource attributes is ${typeName(attributes)}`;
  if (!Array.isArray(scopeMetrics)) return `its scopeMetrics is ${typeName(scopeMetrics)}, not an array`;
  return undefined;
}

/** What every scope entry must be before its metrics are looked at. */
export function scopeProblem(scopeMetrics: unknown): string | undefined {
  if (typeof scopeMetrics !== 'object' || scopeMetrics === null) return 'is not an object';
  const { scope, metrics } = scopeMetrics as { scope?: unknown; metrics?: unknown };
  if (!Array.isArray(metrics)) return `its metrics is ${typeName(metrics)}, not an array`;
  if (typeof scope !== 'object' || scope === null) return `its scope is ${typeName(scope)}`;
  const { name, version, schemaUrl, attributes } = scope as Record<string, unknown>;
  if (typeof name !== 'string') return `its scope name is ${typeName(name)}, not a string`;
  if (version !== undefined && typeof version !== 'string') return 'its scope version is not a string';
  if (schemaUrl !== undefined && typeof schemaUrl !== 'string') return 'its scope schemaUrl is not a string';
  if (attributes !== undefined && (typeof attributes !== 'object' || attributes === null))
    return 'its scope attributes is not an object';
  return undefined;
}

/** How a scope entry is named in messages. */
export function quotedScopeName(scopeMetrics: unknown): string {
  const name = (scopeMetrics as { scope?: { name?: unknown } } | null)?.scope?.name;
  return typeof name === 'string' ? JSON.stringify(name) : '(no name)';
}

const POINT_TYPES: ReadonlySet<unknown> = new Set([
  DataPointType.SUM,
  DataPointType.GAUGE,
  DataPointType.HISTOGRAM,
  DataPointType.EXPONENTIAL_HISTOGRAM,
]);

/** What a metric must be before its points are looked at. */
export function metricProblem(metric: unknown): string | undefined {
  if (typeof metric !== 'object' || metric === null) return 'is not an object';
  const m = metric as Partial<Record<keyof MetricData, unknown>>;
  const d = m.descriptor as Record<string, unknown> | null | undefined;
  if (typeof d !== 'object' || d === null) return 'its descriptor is missing';
  if (typeof d['name'] !== 'string') return `its name is ${typeName(d['name'])}, not a string`;
  if (d['unit'] !== undefined && typeof d['unit'] !== 'string') return 'its unit is not a string';
  if (d['description'] !== undefined && typeof d['description'] !== 'string')
    return 'its description is not a string';
  if (!POINT_TYPES.has(m.dataPointType)) return 'its dataPointType is unknown';
  if (!Array.isArray(m.dataPoints)) return `its dataPoints is ${typeName(m.dataPoints)}, not an array`;
  return undefined;
}

/** A metric's name for messages, whatever it is. */
export function quotedMetricName(metric: unknown): string {
  const name = (metric as { descriptor?: { name?: unknown } } | null)?.descriptor?.name;
  return typeof name === 'string' ? JSON.stringify(name) : '(no name)';
}

/** Milliseconds of an OTel `HrTime`, or NaN when it is not one (or not a time a sample can have). */
export function timeMillis(time: unknown): number {
  if (!Array.isArray(time)) return NaN;
  const s: unknown = time[0];
  const ns: unknown = time[1];
  if (typeof s !== 'number' || typeof ns !== 'number') return NaN;
  const ms = s * 1000 + Math.floor(ns / 1e6);
  return Number.isSafeInteger(ms) && ms >= 0 && ms <= MAX_TIME_MS ? ms : NaN;
}

const NO_TIME = Symbol('no time');

export interface CheckedPoints {
  /** The readable points: the metric's own array when all of them are. */
  readonly points: readonly DataPoint<unknown>[];
  /** How many were left out. */
  readonly malformed: number;
  /** Why the first one was. */
  readonly reason?: string;
}

/**
 * The points of a metric that can be sent, in their order. Cheap for the usual case: the points
 * of one collection share their end-time array, which is checked once, and no array is made
 * unless a point is left out.
 */
export function checkPoints(metric: MetricData): CheckedPoints {
  return runSteps(checkPointsSteps(metric, NEVER));
}

/** The same in steps, pausing every few thousand points when `due()` says so. */
export function* checkPointsSteps(
  metric: MetricData,
  due: () => boolean,
): Generator<void, CheckedPoints, void> {
  const points = metric.dataPoints as readonly unknown[];
  const type = metric.dataPointType;
  const numeric = type === DataPointType.SUM || type === DataPointType.GAUGE;
  let kept: DataPoint<unknown>[] | undefined;
  let reason: string | undefined;
  let malformed = 0;
  let goodEnd: unknown = NO_TIME; // the last end time found valid (a missing one is not)
  for (let i = 0; i < points.length; i++) {
    if ((i & 4095) === 4095 && due()) yield;
    const p = points[i] as DataPoint<unknown> | null | undefined;
    let why: string | undefined;
    if (typeof p !== 'object' || p === null) why = 'a data point is not an object';
    else if (typeof p.attributes !== 'object' || p.attributes === null)
      why = `a data point's attributes is ${typeName(p.attributes)}`;
    else if (p.endTime !== goodEnd) {
      if (Number.isNaN(timeMillis(p.endTime))) why = "a data point's endTime is not a valid time";
      else goodEnd = p.endTime;
    }
    if (why === undefined && p) {
      if (numeric) {
        if (typeof p.value !== 'number') why = `a data point's value is ${typeName(p.value)}, not a number`;
      } else if (type === DataPointType.HISTOGRAM) why = histogramProblem(p.value);
      else why = exponentialProblem(p.value);
    }
    if (why === undefined) {
      kept?.push(p as DataPoint<unknown>);
      continue;
    }
    malformed++;
    reason ??= why;
    kept ??= points.slice(0, i) as DataPoint<unknown>[];
  }
  return kept === undefined
    ? { points: points as readonly DataPoint<unknown>[], malformed: 0 }
    : { points: kept, malformed, reason };
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** Why an explicit-bucket histogram value cannot be sent, if it cannot. */
export function histogramProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return `a histogram point's value is ${typeName(value)}`;
  const h = value as { buckets?: unknown; count?: unknown; sum?: unknown };
  const buckets = h.buckets as { boundaries?: unknown; counts?: unknown } | null | undefined;
  if (typeof buckets !== 'object' || buckets === null) return 'a histogram point has no buckets';
  const { boundaries, counts } = buckets;
  if (!Array.isArray(boundaries) || !Array.isArray(counts))
    return 'a histogram point has no boundaries or counts array';
  if (!isCount(h.count)) return "a histogram point's count is not a non-negative integer";
  if (h.sum !== undefined && typeof h.sum !== 'number') return "a histogram point's sum is not a number";
  let previous = -Infinity;
  for (let i = 0; i < boundaries.length; i++) {
    const b: unknown = boundaries[i];
    const last = i === boundaries.length - 1;
    if (typeof b !== 'number' || !(b > previous) || (b === Infinity && !last))
      return "a histogram point's bucket boundaries are not strictly increasing numbers";
    previous = b;
  }
  if (counts.length !== boundaries.length + 1 && !(counts.length === 0 && boundaries.length === 0))
    return `a histogram point has ${counts.length} bucket counts for ${boundaries.length} boundaries (must be one more)`;
  let total = 0;
  for (const c of counts) {
    if (!isCount(c)) return "a histogram point's bucket counts are not non-negative integers";
    total += c;
  }
  if (total > h.count) return "a histogram point's buckets hold more than its count";
  return undefined;
}

function bucketsProblem(side: string, buckets: unknown): { problem?: string; total: number } {
  if (typeof buckets !== 'object' || buckets === null) return { problem: `has no ${side} buckets`, total: 0 };
  const { offset, bucketCounts } = buckets as { offset?: unknown; bucketCounts?: unknown };
  if (!Array.isArray(bucketCounts)) return { problem: `has no ${side} bucketCounts array`, total: 0 };
  if (
    typeof offset !== 'number' ||
    !Number.isInteger(offset) ||
    Math.abs(offset) > MAX_INDEX ||
    Math.abs(offset + bucketCounts.length) > MAX_INDEX
  )
    return { problem: `has a ${side} offset that is not a 32-bit integer`, total: 0 };
  let total = 0;
  for (const c of bucketCounts) {
    if (!isCount(c))
      return { problem: `has ${side} bucket counts that are not non-negative integers`, total };
    total += c;
  }
  return { total };
}

/** Why an exponential-histogram value cannot be sent, if it cannot. */
export function exponentialProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null)
    return `an exponential histogram point's value is ${typeName(value)}`;
  const h = value as Record<string, unknown>;
  const what = 'an exponential histogram point';
  const scale = h['scale'];
  if (typeof scale !== 'number' || !Number.isInteger(scale) || scale < MIN_SCALE || scale > MAX_SCALE)
    return `${what} has a scale that is not an integer from ${MIN_SCALE} to ${MAX_SCALE}`;
  if (!isCount(h['count'])) return `${what} has a count that is not a non-negative integer`;
  if (!isCount(h['zeroCount'])) return `${what} has a zeroCount that is not a non-negative integer`;
  if (h['sum'] !== undefined && typeof h['sum'] !== 'number') return `${what} has a sum that is not a number`;
  const threshold = h['zeroThreshold'];
  if (
    threshold !== undefined &&
    (typeof threshold !== 'number' || !(threshold >= 0) || threshold === Infinity)
  )
    return `${what} has a zeroThreshold that is not a non-negative number`;
  const positive = bucketsProblem('positive', h['positive']);
  if (positive.problem) return `${what} ${positive.problem}`;
  const negative = bucketsProblem('negative', h['negative']);
  if (negative.problem) return `${what} ${negative.problem}`;
  if (positive.total + negative.total + (h['zeroCount'] as number) > (h['count'] as number))
    return `${what}'s buckets hold more than its count`;
  return undefined;
}

/** A short description of a value's type for messages: never the value itself. */
function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const t = typeof value;
  if (t === 'undefined') return 'undefined';
  if (t === 'number' && Number.isNaN(value)) return 'NaN';
  return t === 'object' ? 'an object' : `a ${t}`;
}
