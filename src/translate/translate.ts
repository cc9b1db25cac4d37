/**
 * OTel `ResourceMetrics` → series (model.ts). Type mapping per the OTel spec §Metric points:
 * monotonic Sum → counter; non-monotonic Sum and Gauge → gauge; explicit-bucket Histogram →
 * classic `_bucket`/`_sum`/`_count` (or, on request, a native histogram with custom buckets);
 * ExponentialHistogram → native histogram (native-histogram.ts). Delta points are accumulated
 * first (delta.ts).
 *
 * Counters and histograms carry the point's start time (`startTimestampMs`, spec digest §3.7),
 * which RW 2.0 sends as `start_timestamp`; gauges have none.
 */
import { diag, type Attributes, type HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  type DataPoint,
  type ExponentialHistogram,
  type Histogram,
  type MetricData,
  type ResourceMetrics,
  type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  MetricType,
  type EncodedSeriesBlock,
  type MetricFamilyMetadata,
  type NativeHistogram,
  type Sample,
  type SeriesBatch,
  type TimeSeries,
} from '../model.js';
import {
  attributesToLabels,
  isWellFormed,
  labelNamer,
  newLabelIssues,
  toWellFormed,
  type LabelIssues,
  type LabelMap,
  type LabelNamer,
} from './attributes.js';
import { decimalString } from './decimal.js';
import type { DeltaAccumulator } from './delta.js';
import { metricName, strategyOf, unitMetadata, type MetricNameOptions, type NameKind } from './names.js';
import {
  checkPointsSteps,
  exportProblem,
  metricProblem,
  quotedMetricName,
  quotedScopeName,
  scopeProblem,
  timeMillis,
} from './malformed.js';
import { explicitToCustomBuckets, exponentialToNative, MIN_SCHEMA } from './native-histogram.js';
import { resourceLabels, scopeLabels, type ResourceOptions } from './resource.js';
import {
  CachedSeries,
  describe,
  type HistogramRecords,
  type MetricStreams,
  type SeriesState,
} from '../steady-state/series-state.js';
import {
  isEvicted,
  keyOf,
  labelsOf,
  seenInExport,
  type SeriesRecord,
} from '../steady-state/series-record.js';
import type { SeriesFrame } from '../wire/series-frame.js';
import {
  addFramed,
  counterFrames,
  histogramFrames,
  sameBoundaries,
  type FrameFor,
  type LaterFrame,
  type Partition,
} from '../steady-state/frames.js';
import { hrTimeToMillis } from './time.js';
import { buildLabels, LabelPlans, labelOrder, type LabelOrder } from './series-labels.js';
import { NEVER, runSteps } from '../steps.js';
import type { LabelStrings } from '../wire/label-strings.js';

export { hrTimeToMillis };

export interface TranslateOptions extends MetricNameOptions, ResourceOptions {
  readonly withoutScopeInfo: boolean;
  readonly externalLabels: LabelMap;
  /**
   * Explicit-bucket histograms as native histograms with custom buckets (schema −53), one series
   * per point instead of `_bucket`/`_sum`/`_count`. Only RW 2.0 receivers accept them. Points
   * without a sum stay classic.
   */
  readonly explicitHistogramsAsNative?: boolean;
  /**
   * Leave out the points' start times: only RW 2.0 carries them, so an exporter that only ever
   * sends 1.0 saves reading them.
   */
  readonly withoutStartTimestamps?: boolean;
}

/** State that outlives one export. */
export interface TranslateState {
  readonly deltas: DeltaAccumulator;
  /** Per-series state and cache; translate starts an export on it, `admit` ends it. */
  readonly series: SeriesState;
  /** Metrics already warned about, so a warning is given once, not every interval. */
  readonly warned: Set<string>;
}

function millisToHrTime(ms: number): HrTime {
  return [Math.floor(ms / 1000), (ms % 1000) * 1e6];
}

/** Label maps merged in order of increasing precedence: done once per metric, not per series. */
function mergeLayers(layers: readonly LabelMap[]): LabelMap {
  const merged: LabelMap = new Map();
  for (const layer of layers) for (const [k, v] of layer) merged.set(k, v);
  return merged;
}

/**
 * Where translate puts series as it makes them, instead of collecting them: the exporter splits
 * them into requests and encodes each request as soon as it is full. `metadata` is filled as
 * families are met, always before their first series.
 */
export interface SeriesSink {
  readonly metadata: Map<string, MetricFamilyMetadata>;
  add(series: TimeSeries): void;
  /**
   * Series `from`…`to` (exclusive) of an encoded block, valid until the export ends, in groups of
   * `group` series never to be split (a classic-histogram point). A sink that has it takes RW 1.0
   * bytes as they are: counters, gauges and classic histograms are then framed (SeriesFrame).
   */
  addRun?(block: EncodedSeriesBlock, from: number, to: number, group?: number): void;
  /** Set when the sink writes its runs as RW 2.0 only: frames then keep their values apart (FrameExtras.valuesApart). */
  readonly runsAsV2?: boolean;
  /** How the sink splits series between shards, when it does: frames keep each shard's together. */
  readonly partition?: Partition;
  /**
   * For a sink that may write RW 2.0: new series keep their labels' strings here
   * (TimeSeries.labelStrings), which its symbol tables are made from.
   */
  readonly labelStrings?: LabelStrings;
}

/** When translation in steps should pause (translateSteps): asked between pieces of work. */
export interface Budget {
  due(): boolean;
}

/** Never pauses: translation in one go. */
export const NEVER_DUE: Budget = { due: NEVER };

class BatchBuilder {
  readonly series: TimeSeries[] = [];
  readonly metadata: Map<string, MetricFamilyMetadata>;
  maxTimestampMs = -Infinity;
  /** Whether any series was produced (the sink keeps none). */
  produced = false;
  /** Scopes, metrics and points that could not be read, one message each (see guarded). */
  readonly problems: string[] = [];
  /** Samples (or points) left out, by reason: SeriesBatch.dropped. */
  readonly dropped = { malformed: 0, unsupported: 0, duplicate_series: 0 };
  /** The first series refused as a duplicate, for the export's error. */
  firstDuplicate: string | undefined = undefined;
  attributesDropped = 0;
  /** Frames of metrics seen for the first time, to build after the export (frames.ts LaterFrame). */
  readonly laterFrames: LaterFrame[] = [];
  private readonly exportNumber: number;

  constructor(
    private readonly warned: Set<string>,
    readonly state: SeriesState,
    private readonly sink: SeriesSink | undefined,
    readonly budget: Budget = NEVER_DUE,
  ) {
    this.exportNumber = state.begin();
    this.metadata = sink ? sink.metadata : new Map();
  }

  get partition(): Partition | undefined {
    return this.sink?.partition;
  }

  /** Whether the sink takes encoded runs (SeriesSink.addRun). */
  get framing(): boolean {
    return this.sink?.addRun !== undefined;
  }

  get runsAsV2(): boolean {
    return this.sink?.runsAsV2 === true;
  }

  later(build: LaterFrame): void {
    this.laterFrames.push(build);
  }

  addRun(frame: SeriesFrame, from: number, to: number, group: number): void {
    this.produced = true;
    if (frame.timestampMs > this.maxTimestampMs) this.maxTimestampMs = frame.timestampMs;
    (this.sink as Required<SeriesSink>).addRun(frame, from, to, group);
  }

  private push(series: TimeSeries): void {
    this.produced = true;
    if (this.sink) this.sink.add(series);
    else this.series.push(series);
  }

  family(meta: MetricFamilyMetadata): boolean {
    const existing = this.metadata.get(meta.familyName);
    if (!existing) {
      this.metadata.set(meta.familyName, meta);
      return true;
    }
    if (existing.type === meta.type) return true;
    warnOnce(
      this.warned,
      `type:${meta.familyName}`,
      `prometheus remote write: two metrics map to the Prometheus name "${meta.familyName}" with different types; ` +
        'the second one is not sent (rename one of them)',
    );
    return false;
  }

  /** Numbers the series groups of classic-histogram points (TimeSeries.group). */
  nextGroup = 0;

  get labelStrings(): LabelStrings | undefined {
    return this.sink?.labelStrings;
  }

  /** `stringsAt`: where the record's label strings are in `labelStrings`, when it was made now (−1: none). */
  add(record: SeriesRecord, sample: Sample, group?: number, stringsAt = -1): void {
    if (!this.claim(record)) return;
    const series = new CachedSeries(
      record,
      [sample],
      undefined,
      group,
      stringsAt < 0 ? undefined : this.labelStrings,
      stringsAt,
    );
    this.state.place(record, series);
    this.push(series);
    if (sample.timestampMs > this.maxTimestampMs) this.maxTimestampMs = sample.timestampMs;
  }

  addHistogram(record: SeriesRecord, histogram: NativeHistogram): void {
    if (!this.claim(record)) return;
    const series = new CachedSeries(record, [], [histogram], undefined);
    this.state.place(record, series);
    this.push(series);
    if (histogram.timestampMs > this.maxTimestampMs) this.maxTimestampMs = histogram.timestampMs;
  }

  /** False (with a warning) if the export has that series already. */
  private claim(record: SeriesRecord): boolean {
    // Admitted already in this export (SeriesState.place): a second point for the series.
    if (seenInExport(record) === this.exportNumber) {
      // Two points for one series at one time are rejected by Prometheus with the whole request.
      const labels = labelsOf(record);
      this.dropped.duplicate_series++;
      this.firstDuplicate ??= describe(labels);
      warnOnce(
        this.warned,
        `dup:${keyOf(record)}`,
        `prometheus remote write: series ${describe(labels)} was produced twice in one export ` +
          '(two metrics or attribute sets map to the same labels); only the first is sent',
      );
      return false;
    }
    return true;
  }
}

/** A point's start time as samples carry it: 0 (none) when it is not a time. */
function startMillis(point: { readonly startTime: unknown }): number {
  return timeMillis(point.startTime) || 0;
}

/** A sample, with its start time when there is one (0: none). */
function makeSample(value: number, timestampMs: number, startTimestampMs: number): Sample {
  return startTimestampMs !== 0 ? { value, timestampMs, startTimestampMs } : { value, timestampMs };
}

function warnOnce(warned: Set<string>, key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  diag.warn(message);
}

/**
 * With a `sink`, series go there as they are made and the returned batch's `series` is empty;
 * without, they are collected in it. In one go: see translateSteps for the sliced form.
 */
export function translate(
  resourceMetrics: ResourceMetrics,
  options: TranslateOptions,
  state: TranslateState,
  sink?: SeriesSink,
): SeriesBatch {
  return runSteps(translateSteps(resourceMetrics, options, state, sink, NEVER_DUE));
}

/** A batch, with the frames to build once its export's requests are delivered (frames.ts LaterFrame). */
export interface TranslatedBatch extends SeriesBatch {
  readonly laterFrames?: readonly LaterFrame[];
}

/**
 * The same, as steps: it pauses (yields) whenever `budget` says its time slice is up, so that an
 * export of a million series never holds the event loop for long; the caller resumes it later.
 * Nothing else may use the state between two steps.
 */
export function* translateSteps(
  resourceMetrics: ResourceMetrics,
  options: TranslateOptions,
  state: TranslateState,
  sink: SeriesSink | undefined,
  budget: Budget,
): Generator<void, TranslatedBatch, void> {
  const unreadable = exportProblem(resourceMetrics);
  if (unreadable !== undefined) throw new Error(`nothing sent: ${unreadable}`);
  const builder = new BatchBuilder(state.warned, state.series, sink, budget);
  const resourceIssues = newLabelIssues();
  const resource = resourceLabels(
    resourceMetrics.resource.attributes,
    options,
    labelNamer(strategyOf(options)),
    resourceIssues,
  );
  reportLabelIssues(builder, state.warned, 'the resource', resourceIssues);
  // Lowest precedence first: external labels never override data (as in Prometheus), and
  // job/instance from the resource win over point attributes of the same name.
  const low = mergeLayers([options.externalLabels, resource.promoted]);

  let latestDeltaEnd: HrTime | undefined;
  for (const scopeMetrics of resourceMetrics.scopeMetrics) {
    // A scope that cannot be read is skipped whole and named; the other scopes still go.
    const badScope = scopeProblem(scopeMetrics);
    if (badScope !== undefined) {
      builder.problems.push(`scope ${quotedScopeName(scopeMetrics)} skipped: ${badScope}`);
      continue;
    }
    for (const given of scopeMetrics.metrics) {
      if (budget.due()) yield;
      const read = yield* readable(builder, given);
      if (read === undefined) continue;
      const metric = read.metric;
      if (isDelta(metric)) {
        guarded(builder, metric, () => {
          state.deltas.add(scopeMetrics.scope, metric);
          for (const p of metric.dataPoints)
            if (!latestDeltaEnd || hrTimeToMillis(p.endTime) > hrTimeToMillis(latestDeltaEnd))
              latestDeltaEnd = p.endTime;
        });
        continue;
      }
      const check = read.checked ? undefined : () => pointsChecked(builder, metric);
      yield* guardedSteps(builder, metric, () =>
        addMetric(builder, scopeMetrics.scope, metric, low, resource.identity, options, state, check),
      );
    }
  }
  if (state.deltas.size > 0) {
    const now = latestDeltaEnd ?? millisToHrTime(Date.now());
    for (const { scope, metric } of state.deltas.collect(now)) {
      if (budget.due()) yield;
      yield* guardedSteps(builder, metric, () =>
        addMetric(builder, scope, metric, low, resource.identity, options, state),
      );
    }
  }

  if (resource.targetInfo && builder.produced) {
    // Named as a gauge `target_info` is: the namespace goes first under every strategy.
    const name = metricName('target_info', '', 'gauge', options) as string;
    if (builder.family({ type: MetricType.GAUGE, familyName: name, help: 'Target metadata', unit: '' })) {
      // One sample at the newest data timestamp of the export (as the Collector does).
      const labels = buildLabels(
        name,
        resource.targetInfo,
        options.externalLabels,
        resource.identity,
        labelOrder(strategyOf(options)),
      );
      builder.add(builder.state.record(labels, name), { value: 1, timestampMs: builder.maxTimestampMs });
    }
  }
  const { dropped } = builder;
  if (dropped.duplicate_series > 0) {
    builder.problems.push(
      `${dropped.duplicate_series} samples not sent: their series was produced twice in this export ` +
        `(two metrics or attribute sets map to the same labels; the first: ${builder.firstDuplicate})`,
    );
  }
  const batch: { -readonly [K in keyof TranslatedBatch]: TranslatedBatch[K] } = {
    series: builder.series,
    metadata: builder.metadata,
  };
  if (builder.problems.length > 0) batch.problems = builder.problems;
  if (dropped.malformed + dropped.unsupported + dropped.duplicate_series > 0) batch.dropped = { ...dropped };
  if (builder.attributesDropped > 0) batch.attributesDropped = builder.attributesDropped;
  if (builder.laterFrames.length > 0) batch.laterFrames = builder.laterFrames;
  return batch;
}

/**
 * The metric with the points that can be read, or undefined when none of it can: what is left
 * out is counted (`malformed`) and named in the export's error. The points of a counter or gauge
 * that a frame may take are left unchecked (`checked: false`): the frame checks them as it
 * patches, or has them checked (`pointsChecked`) when it cannot (frames.ts addFramed).
 */
function* readable(
  builder: BatchBuilder,
  metric: MetricData,
): Generator<void, { metric: MetricData; checked: boolean } | undefined, void> {
  let points: readonly DataPoint<unknown>[];
  try {
    const wrong = metricProblem(metric);
    if (wrong !== undefined) {
      builder.problems.push(`metric ${quotedMetricName(metric)} not sent: ${wrong}`);
      return undefined;
    }
    if (builder.framing && framedWhole(metric)) return { metric, checked: false };
    points = yield* pointsChecked(builder, metric);
  } catch (err) {
    // A getter that throws, a proxy: nothing of the metric can be trusted.
    builder.dropped.malformed += Array.isArray(metric?.dataPoints) ? metric.dataPoints.length : 0;
    builder.problems.push(`metric ${quotedMetricName(metric)} not sent: ${errorMessage(err)}`);
    return undefined;
  }
  // The same array when every point is readable.
  if (points === metric.dataPoints) return { metric, checked: true };
  return { metric: { ...metric, dataPoints: points } as MetricData, checked: true };
}

/** A cumulative counter or a gauge: the kinds whose frame can stand for the points' check. */
function framedWhole(metric: MetricData): boolean {
  return (
    metric.dataPointType === DataPointType.GAUGE ||
    (metric.dataPointType === DataPointType.SUM &&
      metric.aggregationTemporality !== AggregationTemporality.DELTA)
  );
}

/**
 * The readable points of a metric (the same array when all are), what is left out counted and
 * named. A getter that throws goes up to the caller: `readable`, or `guardedSteps` for points
 * that `readable` left unchecked, which counts and names the metric as `readable` does.
 */
function* pointsChecked(
  builder: BatchBuilder,
  metric: MetricData,
): Generator<void, readonly DataPoint<unknown>[], void> {
  const checked = yield* checkPointsSteps(metric, () => builder.budget.due());
  if (checked.malformed > 0) {
    builder.dropped.malformed += checked.malformed;
    builder.problems.push(
      `metric ${quotedMetricName(metric)}: ${checked.malformed} of ${metric.dataPoints.length} points not sent: ${checked.reason}`,
    );
  }
  return checked.points;
}

/**
 * One warning per metric (or for the resource) for attribute keys left out and for lone
 * surrogates replaced; the keys are counted (`attributesDropped`) each time labels are made
 * from them.
 */
function reportLabelIssues(
  builder: BatchBuilder,
  warned: Set<string>,
  what: string,
  issues: LabelIssues,
): void {
  if (issues.dropped > 0) {
    builder.attributesDropped += issues.dropped;
    warnOnce(
      warned,
      `keys:${what}`,
      `prometheus remote write: attributes of ${what} left out of its labels: nothing valid is left of the ` +
        `key as a label name, or its value cannot be written (the first: ${JSON.stringify(issues.firstDropped)})`,
    );
  }
  if (issues.replaced > 0) {
    warnOnce(
      warned,
      `surrogate:${what}`,
      `prometheus remote write: labels of ${what} held a lone surrogate (not valid UTF-8); it is sent as U+FFFD`,
    );
  }
}

/**
 * A metric that cannot be read (malformed data from a hand-made producer) is reported and
 * skipped; the other metrics of the export are still sent.
 */
function guarded(builder: BatchBuilder, metric: MetricData, add: () => void): void {
  try {
    add();
  } catch (err) {
    builder.dropped.malformed += metric.dataPoints.length;
    builder.problems.push(`metric ${quotedMetricName(metric)} not sent: ${errorMessage(err)}`);
  }
}

/** `guarded` for a metric translated in steps. */
function* guardedSteps(
  builder: BatchBuilder,
  metric: MetricData,
  add: () => Generator<void, void, void>,
): Generator<void, void, void> {
  try {
    yield* add();
  } catch (err) {
    builder.dropped.malformed += metric.dataPoints.length;
    builder.problems.push(`metric ${quotedMetricName(metric)} not sent: ${errorMessage(err)}`);
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isDelta(metric: MetricData): boolean {
  return (
    (metric.dataPointType === DataPointType.SUM ||
      metric.dataPointType === DataPointType.HISTOGRAM ||
      metric.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) &&
    metric.aggregationTemporality === AggregationTemporality.DELTA
  );
}

function kindOf(metric: MetricData): NameKind | undefined {
  switch (metric.dataPointType) {
    case DataPointType.SUM:
      return metric.isMonotonic ? 'counter' : 'gauge';
    case DataPointType.GAUGE:
      return 'gauge';
    case DataPointType.HISTOGRAM:
    case DataPointType.EXPONENTIAL_HISTOGRAM:
      return 'histogram';
    default:
      return undefined;
  }
}

const METADATA_TYPE: Record<NameKind, MetricType> = {
  counter: MetricType.COUNTER,
  gauge: MetricType.GAUGE,
  histogram: MetricType.HISTOGRAM,
};

function* addMetric(
  builder: BatchBuilder,
  scope: ScopeMetrics['scope'],
  metric: MetricData,
  low: LabelMap,
  identity: LabelMap,
  options: TranslateOptions,
  state: TranslateState,
  /** Given when `readable` left the points unchecked: checks them, for the readable ones. */
  check?: () => Generator<void, readonly DataPoint<unknown>[], void>,
): Generator<void, void, void> {
  const { name: otelName } = metric.descriptor;
  /** The readable points, checked now if they were not (a metric that goes no further). */
  const readablePoints = function* (): Generator<void, readonly DataPoint<unknown>[], void> {
    return check === undefined ? metric.dataPoints : yield* check();
  };
  // Optional for a producer other than the SDK (checked to be strings when given: malformed.ts).
  const unit = metric.descriptor.unit ?? '';
  const description = metric.descriptor.description ?? '';
  const kind = kindOf(metric);
  if (kind === undefined) {
    builder.dropped.unsupported += (yield* readablePoints()).length;
    warnOnce(
      state.warned,
      `skip:${otelName}`,
      `prometheus remote write: metric "${otelName}" is not sent: unknown data point type`,
    );
    return;
  }
  const issues = newLabelIssues();
  let name = metricName(otelName, unit, kind, options);
  // Under the UTF-8 strategies the name is sent as it is: a lone surrogate has no UTF-8 form.
  if (name !== undefined && !isWellFormed(name)) {
    name = toWellFormed(name);
    issues.replaced++;
  }
  if (name === undefined) {
    builder.dropped.unsupported += (yield* readablePoints()).length;
    warnOnce(
      state.warned,
      `name:${otelName}`,
      `prometheus remote write: metric "${otelName}" is not sent: its name has no character valid in a Prometheus name`,
    );
    return;
  }
  const family = name;
  // The strategy's decisions, once per metric: label naming and order.
  const strategy = strategyOf(options);
  const names = labelNamer(strategy);
  const order = labelOrder(strategy);
  if (
    !builder.family({
      type: METADATA_TYPE[kind],
      familyName: name,
      help: description,
      unit: unitMetadata(unit, strategy),
    })
  ) {
    builder.dropped.unsupported += (yield* readablePoints()).length;
    return;
  }

  const high = options.withoutScopeInfo
    ? identity
    : mergeLayers([scopeLabels(scope, names, issues), identity]);
  const what = `metric ${JSON.stringify(otelName)}`;
  const exponential = metric.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM;
  const classic = kind === 'histogram' && !exponential && !options.explicitHistogramsAsNative;
  const streams = builder.state.streamsFor(contextKey(kind, classic, name, otelName, scope, low, high));
  const series = builder.state;
  /** The one record of a counter, gauge or native-histogram point: from the cache, else built. */
  let built = 0;
  // A new series' labels, planned once for the metric's attribute keys (series-labels.ts).
  const labelStrings = builder.labelStrings;
  const plans = new LabelPlans(names, low, high, order, labelStrings);
  /** Where the label strings of the record recordOf returned last are (LabelStrings), −1 for none. */
  let stringsAt = -1;
  const recordOf = (index: number, attributes: Attributes): SeriesRecord => {
    stringsAt = -1;
    const cached = streams.get(index, attributes) as SeriesRecord | undefined;
    if (cached !== undefined && !isEvicted(cached)) return cached;
    built++;
    const encoded = plans.encode(family, attributes, Object.keys(attributes));
    if (encoded !== undefined && labelStrings !== undefined) stringsAt = labelStrings.lastAt;
    const record =
      encoded !== undefined
        ? series.recordOfKey(encoded, family, plans.lastHash)
        : series.record(
            buildLabels(family, attributesToLabels(attributes, names, undefined, issues), low, high, order),
            family,
          );
    streams.set(index, attributes, record);
    return record;
  };
  const seriesNames = { bucket: `${name}_bucket`, sum: `${name}_sum`, count: `${name}_count` };
  /** Per record of the last classic-histogram point, where its label strings are (−1: none; see stringsAt). */
  const histogramStrings: number[] = [];
  /** The `_bucket`…, `_sum`, `_count` series of one classic-histogram point. */
  const classicPoint = (index: number, attributes: Attributes, h: Histogram, ts: number, start: number) => {
    const { records } = histogramRecords(
      streams,
      index,
      series,
      attributes,
      h,
      name,
      low,
      high,
      names,
      order,
      () => built++,
      issues,
      plans,
      seriesNames,
      histogramStrings,
    );
    const group = builder.nextGroup++;
    let cumulative = 0;
    const { boundaries, counts } = h.buckets;
    let r = 0;
    for (let i = 0; i < boundaries.length; i++) {
      cumulative += counts[i] ?? 0;
      if (boundaries[i] === Infinity) break; // the +Inf bucket below is the count
      builder.add(
        records[r] as SeriesRecord,
        makeSample(cumulative, ts, start),
        group,
        histogramStrings[r++] ?? -1,
      );
    }
    builder.add(
      records[r] as SeriesRecord,
      makeSample(h.count, ts, start),
      group,
      histogramStrings[r++] ?? -1,
    );
    if (h.sum !== undefined)
      builder.add(
        records[r] as SeriesRecord,
        makeSample(h.sum, ts, start),
        group,
        histogramStrings[r++] ?? -1,
      );
    builder.add(records[r] as SeriesRecord, makeSample(h.count, ts, start), group, histogramStrings[r] ?? -1);
  };
  // Counters and histograms count from the point's start time; a gauge has none.
  const withStart = (kind === 'histogram' || kind === 'counter') && !options.withoutStartTimestamps;
  let points: readonly DataPoint<unknown>[] = metric.dataPoints;
  // Unchecked points (`check`) are only a hint here: `reserve` reads the first's attributes if any.
  streams.reserve(points.length, (points[0] as Partial<DataPoint<unknown>> | null | undefined)?.attributes);
  if (builder.framing && (kind !== 'histogram' || classic)) {
    // Frames that RW 2.0 is written from also keep start times (frames.ts FrameFor).
    const v2: FrameFor = { startOf: withStart ? startMillis : undefined, valuesApart: builder.runsAsV2 };
    const frames =
      kind === 'histogram' ? histogramFrames(streams, family, v2) : counterFrames(streams, family, v2);
    const readable = yield* addFramed(
      builder,
      streams,
      points,
      frames,
      (index, point) => {
        const before = built;
        const ts = hrTimeToMillis(point.endTime);
        const start = withStart ? startMillis(point) : 0;
        if (kind === 'histogram') classicPoint(index, point.attributes, point.value as Histogram, ts, start);
        else {
          const record = recordOf(index, point.attributes);
          builder.add(record, makeSample(point.value as number, ts, start), undefined, stringsAt);
        }
        return built === before;
      },
      check,
      // A counter's or gauge's new series go straight into its frame (frames.ts addNew).
      kind === 'histogram' ? undefined : plans,
    );
    streams.trim(readable);
    reportLabelIssues(builder, state.warned, what, issues);
    return;
  }
  // Not reached with `check` (readable leaves unchecked only what frames take); kept as the rule.
  points = yield* readablePoints();
  // The points of one collection usually share their end time (one array).
  let lastEnd: HrTime | undefined;
  let lastEndMs = 0;
  const budget = builder.budget;
  // About 32 series between two looks at the budget: a histogram point is a dozen or more.
  const every = kind === 'histogram' ? 1 : 32;
  for (let index = 0; index < points.length; index++) {
    if (index % every === every - 1 && budget.due()) yield;
    const point = points[index] as DataPoint<unknown>;
    if (point.endTime !== lastEnd) {
      lastEnd = point.endTime;
      lastEndMs = hrTimeToMillis(lastEnd);
    }
    const ts = lastEndMs;
    // A start time is optional: one that is not a time is left out rather than the point.
    const start = withStart ? startMillis(point) : 0;
    if (kind !== 'histogram') {
      const record = recordOf(index, point.attributes);
      builder.add(record, makeSample(point.value as number, ts, start), undefined, stringsAt);
      continue;
    }
    if (exponential) {
      // One series per point, named as the family: a native histogram has no suffix series.
      const result = exponentialToNative(
        (point as DataPoint<ExponentialHistogram>).value,
        ts,
        start !== 0 ? start : undefined,
      );
      if ('histogram' in result) {
        builder.addHistogram(recordOf(index, point.attributes), result.histogram);
      } else if (result.dropped === 'scale') {
        builder.dropped.unsupported++;
        warnOnce(
          state.warned,
          `scale:${otelName}`,
          `prometheus remote write: a point of exponential histogram "${otelName}" with scale ${result.scale} is not sent: ` +
            `native histograms go down to schema ${MIN_SCHEMA} only`,
        );
      } else {
        builder.dropped.unsupported++;
        warnOnce(
          state.warned,
          `nosum:${otelName}`,
          `prometheus remote write: a point of exponential histogram "${otelName}" without a sum is not sent ` +
            '(a native histogram needs one)',
        );
      }
      continue;
    }
    const h = (point as DataPoint<Histogram>).value;
    if (options.explicitHistogramsAsNative) {
      const native = explicitToCustomBuckets(h, ts, start !== 0 ? start : undefined);
      if (native) {
        builder.addHistogram(recordOf(index, point.attributes), native);
        continue;
      }
    }
    classicPoint(index, point.attributes, h, ts, start);
  }
  streams.trim(points.length);
  reportLabelIssues(builder, state.warned, what, issues);
}

/**
 * What the labels of a metric's series depend on besides the point's attributes: the cache of
 * records is per context, so a change of resource or scope labels starts a new one. The OTel name
 * and the scope are in it too, so that two metrics never share (and overwrite) one cache, even
 * when they map to one Prometheus name or the scope is not put in labels.
 */
function contextKey(
  kind: NameKind,
  classic: boolean,
  name: string,
  otelName: string,
  scope: ScopeMetrics['scope'],
  low: LabelMap,
  high: LabelMap,
): string {
  let key = `${kind}\u0000${classic ? 'c' : 'n'}\u0000${name}\u0000${otelName}\u0000`;
  key += `${scope.name}\u0000${scope.version ?? ''}\u0000${scope.schemaUrl ?? ''}\u0000`;
  for (const [k, v] of low) key += `${k}\u0000${v}\u0000`;
  key += '\u0001';
  for (const [k, v] of high) key += `${k}\u0000${v}\u0000`;
  return key;
}

/**
 * The `le` values of a classic histogram's buckets, `+Inf` last. Kept for the last boundaries
 * (a copy, compared by value): the points of one histogram share theirs.
 */
function leValues(boundaries: readonly number[]): readonly string[] {
  if (lastBoundaries !== undefined && sameBoundaries(lastBoundaries, boundaries)) return lastLes;
  const les: string[] = [];
  for (const bound of boundaries) {
    if (bound === Infinity) break;
    les.push(decimalString(bound));
  }
  les.push('+Inf');
  lastBoundaries = [...boundaries];
  lastLes = les;
  return les;
}
let lastBoundaries: readonly number[] | undefined;
let lastLes: readonly string[] = [];

/** The records of a classic-histogram point, from the cache while attributes and bounds stay. */
function histogramRecords(
  streams: MetricStreams,
  index: number,
  series: SeriesState,
  attributes: Attributes,
  h: Histogram,
  name: string,
  low: LabelMap,
  high: LabelMap,
  names: LabelNamer,
  order: LabelOrder,
  onBuilt: () => void,
  issues: LabelIssues,
  plans: LabelPlans,
  seriesNames: { readonly bucket: string; readonly sum: string; readonly count: string },
  /** Filled, per record made now, with where its label strings are (LabelStrings), −1 for none; emptied otherwise. */
  stringsOut: number[],
): HistogramRecords {
  stringsOut.length = 0;
  const boundaries = h.buckets.boundaries;
  const hasSum = h.sum !== undefined;
  const cached = streams.get(index, attributes) as HistogramRecords | undefined;
  if (
    cached !== undefined &&
    cached.hasSum === hasSum &&
    sameBoundaries(cached.boundaries, boundaries) &&
    cached.records.every((r) => !isEvicted(r))
  )
    return cached;
  onBuilt();
  const keys = Object.keys(attributes);
  let labels: LabelMap | undefined; // the full way, made once if a series needs it
  let samePoint = false;
  const recordOf = (seriesName: string, le?: string): SeriesRecord => {
    const encoded = plans.encode(seriesName, attributes, keys, le, samePoint);
    samePoint = true;
    stringsOut.push(encoded !== undefined ? (plans.labelStrings?.lastAt ?? -1) : -1);
    if (encoded !== undefined) return series.recordOfKey(encoded, name, plans.lastHash);
    labels ??= attributesToLabels(attributes, names, undefined, issues);
    const extra = le === undefined ? undefined : { name: 'le', value: le };
    return series.record(buildLabels(seriesName, labels, low, high, order, extra), name);
  };
  const records: SeriesRecord[] = [];
  const les = leValues(boundaries);
  for (const le of les) records.push(recordOf(seriesNames.bucket, le));
  if (hasSum) records.push(recordOf(seriesNames.sum));
  records.push(recordOf(seriesNames.count));
  const entry: HistogramRecords = { records, boundaries: [...boundaries], hasSum };
  streams.set(index, attributes, entry);
  return entry;
}
