/**
 * The data model in the middle of the pipeline: what translate produces and what the wire
 * encoders (and, later, the debug text) consume. It knows nothing of OpenTelemetry or HTTP.
 */

export interface Label {
  readonly name: string;
  readonly value: string;
}

export interface Sample {
  readonly value: number;
  /** Milliseconds since the Unix epoch (RW1 §Protocol). */
  readonly timestampMs: number;
  /**
   * A Prometheus stale marker. Carried as a flag, not as a NaN value, because JavaScript may
   * change a NaN's bits; the encoder writes the marker's exact bytes (RW1 §Stale Markers).
   */
  readonly stale?: boolean;
}

export interface TimeSeries {
  /** Identity of the label set, stable across exports; also the key of the per-series state. */
  readonly key: string;
  /** Sorted by name in byte order, unique, no empty names or values, `__name__` included. */
  readonly labels: readonly Label[];
  readonly samples: Sample[];
  /** Name of the metric family this series belongs to (key of its metadata). */
  readonly family: string;
}

/** Values of `prometheus.MetricMetadata.MetricType` (proto/types.proto). */
export const MetricType = {
  UNKNOWN: 0,
  COUNTER: 1,
  GAUGE: 2,
  HISTOGRAM: 3,
  GAUGEHISTOGRAM: 4,
  SUMMARY: 5,
  INFO: 6,
  STATESET: 7,
} as const;
export type MetricType = (typeof MetricType)[keyof typeof MetricType];

export interface MetricFamilyMetadata {
  readonly type: MetricType;
  readonly familyName: string;
  readonly help: string;
  readonly unit: string;
}

/** Everything one export turns into: series plus one metadata entry per family. */
export interface SeriesBatch {
  readonly series: TimeSeries[];
  readonly metadata: Map<string, MetricFamilyMetadata>;
}

const KEY_SEPARATOR = '\u0000';

/** Labels (already sorted) → identity string. NUL cannot appear in a sanitized label name. */
export function seriesKey(labels: readonly Label[]): string {
  let key = '';
  for (const l of labels) key += l.name + KEY_SEPARATOR + l.value + KEY_SEPARATOR;
  return key;
}
