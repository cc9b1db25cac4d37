/**
 * RemoteWriteClient: counters, gauges and histograms pushed from scripts, cron jobs and
 * serverless functions without a MeterProvider. It is a producer of `ResourceMetrics` with the
 * timestamps its caller chose, fed to a `PrometheusRemoteWriteExporter`, so names, wire format,
 * retries and batching are the exporter's own.
 */
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import {
  AggregationTemporality,
  DataPointType,
  InstrumentType,
  type DataPoint,
  type Histogram,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { inspect, type InspectOptions } from 'node:util';
import { flushOnExit, type FlushOnExitOptions } from '../exit.js';
import { PrometheusRemoteWriteExporter } from '../exporter.js';
import { resolveNaming, type PrometheusRemoteWriteExporterOptions } from '../options.js';
import { inspectAs } from '../redact.js';
import { metricName, type MetricNameOptions, type NameKind } from '../translate/names.js';
import { loadState, saveState, type SeriesState } from './state-file.js';
import {
  RemoteWriteClientError,
  checkBuckets,
  checkLabels,
  checkMetricName,
  checkTimestamp,
  seriesId,
  show,
  type Labels,
  type Timestamp,
} from './validate.js';

/** The Python client's bounds; +Inf is always added. */
export const DEFAULT_BUCKETS: readonly number[] = [0.5, 1, 2.5, 5, 10];

export interface RemoteWriteClientOptions extends PrometheusRemoteWriteExporterOptions {
  /**
   * Hold every value until `flush()`/`close()` and send them in as few requests as the limits
   * allow. Default false: each `counterInc`, `gaugeSet` and `histogramFlush` sends one request.
   */
  batch?: boolean;
  /** A JSON file keeping counter totals and histogram counts across runs of the same job. */
  stateFile?: string;
  /** Bucket bounds per histogram name, e.g. `{ job_duration_seconds: [1, 5, 30] }`. */
  buckets?: Readonly<Record<string, readonly number[]>>;
  /** Bounds of histograms without an entry in `buckets`. Default 0.5, 1, 2.5, 5, 10. */
  defaultBuckets?: readonly number[];
  /** A `job` label on every series (the resource's `service.name`). Default none. */
  job?: string;
  /** An `instance` label on every series (the resource's `service.instance.id`). Default none. */
  instance?: string;
  /** Resource attributes (`target_info`, `promoteResourceAttributes`). Default none. */
  resource?: Attributes;
  /** Flush and close at process exit if `close()` was not called. Default true. */
  flushOnExit?: boolean | FlushOnExitOptions;
}

type Kind = NameKind;

interface Series {
  readonly kind: Kind;
  /** The name as the caller gave it; the exporter turns it into the Prometheus name. */
  readonly name: string;
  /** Prometheus name and labels, `billing_orders_total{queue="a"}`: identity, messages, state key. */
  readonly id: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** Newest timestamp recorded for the series, sent or waiting. */
  lastMs: number;
  startMs: number;
  /** Counter: the running total. */
  total: number;
  /** Histogram: cumulative state as OpenTelemetry counts it (per bucket, +Inf last). */
  bounds: readonly number[];
  counts: number[];
  sum: number;
  count: number;
  queued: Queued | undefined;
}

/** Observations queued for a histogram series since its last flush. */
interface Queued {
  counts: number[];
  sum: number;
  count: number;
  minMs: number;
  maxMs: number;
}

interface Point {
  readonly series: Series;
  readonly timeMs: number;
  readonly startMs: number;
  readonly value: number | Histogram;
}

const SCOPE = { name: 'opentelemetry-exporter-prometheus-remote-write/client' };

export class RemoteWriteClient {
  private readonly exporter: PrometheusRemoteWriteExporter;
  private readonly batch: boolean;
  private readonly stateFile: string | undefined;
  private readonly saved: Map<string, SeriesState>;
  private readonly buckets = new Map<string, readonly number[]>();
  private readonly defaultBuckets: readonly number[];
  private readonly nameOptions: MetricNameOptions;
  private readonly resource: ResourceMetrics['resource'];
  private readonly series = new Map<string, Series>();
  /** Prometheus family name → kind, so one name is never sent as two types. */
  private readonly kinds = new Map<string, Kind>();
  private pending: Point[] = [];
  private readonly inflight = new Set<Promise<unknown>>();
  private removeExitHook: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private stateDirty = false;

  constructor(options: RemoteWriteClientOptions) {
    if (options === null || typeof options !== 'object') {
      throw new RemoteWriteClientError(
        `options must be an object with at least { url }, got ${show(options)}`,
      );
    }
    const {
      batch,
      stateFile,
      buckets,
      defaultBuckets,
      job,
      instance,
      resource,
      flushOnExit: exitOption,
      ...exporterOptions
    } = options;
    const flag = (name: string, value: unknown, fallback: boolean): boolean => {
      if (value === undefined) return fallback;
      if (typeof value !== 'boolean') {
        throw new RemoteWriteClientError(`option "${name}" must be true or false, got ${show(value)}`);
      }
      return value;
    };
    const text = (name: string, value: unknown): string | undefined => {
      if (value === undefined) return undefined;
      if (typeof value !== 'string' || value === '') {
        throw new RemoteWriteClientError(`option "${name}" must be a non-empty string, got ${show(value)}`);
      }
      return value;
    };
    this.batch = flag('batch', batch, false);
    this.stateFile = text('stateFile', stateFile);
    this.defaultBuckets = checkBuckets('option "defaultBuckets"', defaultBuckets ?? DEFAULT_BUCKETS);
    if (buckets !== undefined) {
      if (buckets === null || typeof buckets !== 'object' || Array.isArray(buckets)) {
        throw new RemoteWriteClientError(
          `option "buckets" must be an object of name → bounds, got ${show(buckets)}`,
        );
      }
      for (const [name, bounds] of Object.entries(buckets)) {
        this.buckets.set(name, checkBuckets(`option "buckets.${name}"`, bounds));
      }
    }
    if (resource !== undefined && (resource === null || typeof resource !== 'object')) {
      throw new RemoteWriteClientError(
        `option "resource" must be an object of attributes, got ${show(resource)}`,
      );
    }
    const attributes: Attributes = { ...resource };
    const jobName = text('job', job);
    const instanceName = text('instance', instance);
    if (jobName !== undefined) attributes['service.name'] = jobName;
    if (instanceName !== undefined) attributes['service.instance.id'] = instanceName;
    this.resource = plainResource(attributes);
    // Named as the exporter names them (same strategy and namespace), to find a family's type.
    this.nameOptions = resolveNaming(exporterOptions);

    const exit = exitOption ?? true;
    if (exit !== true && exit !== false && (exit === null || typeof exit !== 'object')) {
      throw new RemoteWriteClientError(
        `option "flushOnExit" must be true, false or { timeoutMillis, signals }, got ${show(exit)}`,
      );
    }
    this.saved = this.stateFile === undefined ? new Map() : loadState(this.stateFile);

    // The caller's series exactly, unless asked otherwise.
    this.exporter = new PrometheusRemoteWriteExporter({
      withoutTargetInfo: true,
      withoutScopeInfo: true,
      ...exporterOptions,
      // Each call sends only the series it touched: a series missing from a request has not ended.
      markStaleWhenMissing: false,
    });
    if (exit !== false) {
      this.removeExitHook = flushOnExit({ shutdown: () => this.closeAtExit() }, exit === true ? {} : exit);
    }
  }

  /**
   * Adds `value` (≥ 0) to the counter `name` with these labels and sends its running total as
   * `<name>_total`. Resolves once the receiver answered (in batch mode: at once).
   */
  async counterInc(name: string, value: number, labels?: Labels, timestamp?: Timestamp): Promise<void> {
    const method = 'counterInc';
    this.assertOpen(method);
    checkMetricName(method, name);
    const attributes = checkLabels(method, name, labels);
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new RemoteWriteClientError(
        `${method}(${JSON.stringify(name)}): the increment must be a finite number, got ${show(value)}`,
      );
    }
    if (value < 0) {
      throw new RemoteWriteClientError(
        `${method}(${JSON.stringify(name)}): the increment must not be negative (counters only go up), got ${value}`,
      );
    }
    const [series, explicit] = this.lookup(method, 'counter', name, attributes, timestamp);
    const ms = this.nextTimestamp(method, series, explicit);
    this.commit(series, ms);
    series.total += value;
    this.stateDirty = true;
    await this.dispatch({ series, timeMs: ms, startMs: series.startMs, value: series.total });
  }

  /** Sets the gauge `name` with these labels to `value`. Resolves once the receiver answered (in batch mode: at once). */
  async gaugeSet(name: string, value: number, labels?: Labels, timestamp?: Timestamp): Promise<void> {
    const method = 'gaugeSet';
    this.assertOpen(method);
    checkMetricName(method, name);
    const attributes = checkLabels(method, name, labels);
    if (typeof value !== 'number') {
      throw new RemoteWriteClientError(
        `${method}(${JSON.stringify(name)}): the value must be a number, got ${show(value)}`,
      );
    }
    const [series, explicit] = this.lookup(method, 'gauge', name, attributes, timestamp);
    const ms = this.nextTimestamp(method, series, explicit);
    this.commit(series, ms);
    await this.dispatch({ series, timeMs: ms, startMs: ms, value });
  }

  /**
   * Records one observation of the histogram `name` locally; nothing is sent until
   * `histogramFlush` (or `flush()`/`close()`). Without a timestamp the observation counts as now.
   */
  histogramQueue(name: string, value: number, labels?: Labels, timestamp?: Timestamp): void {
    const method = 'histogramQueue';
    this.assertOpen(method);
    checkMetricName(method, name);
    const attributes = checkLabels(method, name, labels, ['le']);
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new RemoteWriteClientError(
        `${method}(${JSON.stringify(name)}): the observed value must be a finite number, got ${show(value)}`,
      );
    }
    const [series, explicit] = this.lookup(method, 'histogram', name, attributes, timestamp);
    if (explicit !== undefined && explicit <= series.lastMs) throw outOfOrder(method, series, explicit);
    const ms = explicit ?? Date.now();
    const q = (series.queued ??= {
      counts: new Array<number>(series.bounds.length + 1).fill(0),
      sum: 0,
      count: 0,
      minMs: ms,
      maxMs: ms,
    });
    const bucket = series.bounds.findIndex((b) => value <= b);
    (q.counts[bucket < 0 ? series.bounds.length : bucket] as number)++;
    q.sum += value;
    q.count++;
    q.minMs = Math.min(q.minMs, ms);
    q.maxMs = Math.max(q.maxMs, ms);
  }

  /**
   * Adds the queued observations of this series to its cumulative buckets and sends `_bucket`
   * (with `+Inf`), `_count` and `_sum`, stamped with the newest queued timestamp (or now).
   * Counts keep growing across flushes. A series with nothing queued sends its current counts.
   */
  async histogramFlush(name: string, labels?: Labels): Promise<void> {
    const method = 'histogramFlush';
    this.assertOpen(method);
    checkMetricName(method, name);
    const attributes = checkLabels(method, name, labels, ['le']);
    const [series] = this.lookup(method, 'histogram', name, attributes, undefined);
    await this.dispatch(this.histogramPoint(series));
  }

  /**
   * Defines the bucket bounds of histogram `name` before its first observation. Changing the
   * bounds of a histogram that already has counts is refused: its buckets would not add up.
   */
  setBuckets(name: string, bounds: readonly number[]): void {
    checkMetricName('setBuckets', name);
    const checked = checkBuckets(`setBuckets(${JSON.stringify(name)})`, bounds);
    for (const s of this.series.values()) {
      if (s.kind === 'histogram' && s.name === name && !sameBounds(s.bounds, checked)) {
        throw new RemoteWriteClientError(
          `setBuckets(${JSON.stringify(name)}): ${s.id} already counts with buckets [${s.bounds.join(', ')}]`,
        );
      }
    }
    this.buckets.set(name, checked);
  }

  /**
   * Sends everything waiting: in batch mode all recorded values, and in both modes the
   * histogram series with queued observations. Resolves when every request was answered and the
   * `stateFile` is written; rejects if any of them failed.
   */
  async flush(): Promise<void> {
    await this.settle(this.sendWaiting(), () => this.exporter.forceFlush());
  }

  /** Queues everything waiting (batch points, queued histogram observations); the sends' outcomes. */
  private sendWaiting(): { sends: Promise<unknown>[]; failures: Error[] } {
    const points: Point[] = [];
    for (const s of this.series.values()) if (s.queued) points.push(this.histogramPoint(s));
    const waiting = this.pending.concat(points);
    this.pending = [];
    const failures: Error[] = [];
    const sends = rounds(waiting).map((round) =>
      this.send(round).catch((err: unknown) => void failures.push(err as Error)),
    );
    return { sends, failures };
  }

  /**
   * Waits for `sent` and every call still in flight, with `bound` (forceFlush or shutdown) giving
   * delivery its deadline; then writes the state file and reports the failures.
   */
  private async settle(
    { sends, failures }: { sends: Promise<unknown>[]; failures: Error[] },
    bound: () => Promise<void>,
  ): Promise<void> {
    await bound();
    await Promise.all(sends);
    await Promise.allSettled([...this.inflight]);
    if (this.stateFile !== undefined && this.stateDirty) {
      this.stateDirty = false;
      await saveState(this.stateFile, this.snapshot());
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) {
      throw new RemoteWriteClientError(
        `${failures.length} of ${sends.length} sends failed: ${failures.map((f) => f.message).join('; ')}`,
        { cause: failures[0] },
      );
    }
  }

  /** `flush()`, then shuts the exporter down. Later calls fail. Safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.removeExitHook?.();
      this.removeExitHook = undefined;
      // Everything is queued first; then shutdown() bounds the wait (shutdownTimeoutMillis) and
      // settles every call still waiting: delivered, spooled or dropped.
      await this.settle(this.sendWaiting(), () => this.exporter.shutdown());
    })();
    return this.closing;
  }

  /** What `util.inspect` and `console.log` show: no header value, credential or URL query (redact.ts). */
  [inspect.custom](_depth: number, options: InspectOptions): string {
    return inspectAs('RemoteWriteClient', this.toJSON(), options);
  }

  /** `JSON.stringify(client)`: the same redacted summary. */
  toJSON(): Record<string, unknown> {
    return {
      batch: this.batch,
      stateFile: this.stateFile,
      series: this.series.size,
      closed: this.closing !== undefined,
      exporter: this.exporter.toJSON(),
    };
  }

  /** The same as `close()`, so the client can be handed to `flushOnExit` or anything that shuts down. */
  shutdown(): Promise<void> {
    return this.close();
  }

  private async closeAtExit(): Promise<void> {
    try {
      await this.close();
    } catch (err) {
      // Nobody awaits this: say it, and make the exit status of the job show it.
      console.error(`${(err as Error).message} (at process exit)`);
      if (!process.exitCode) process.exitCode = 1;
    }
  }

  private assertOpen(method: string): void {
    if (this.closing) throw new RemoteWriteClientError(`${method}: the client is closed`);
  }

  /**
   * The series of these labels, created on first use, and the caller's timestamp in ms. Refuses
   * a name already used with another type, and a malformed timestamp before anything is created.
   */
  private lookup(
    method: string,
    kind: Kind,
    name: string,
    attributes: Record<string, string>,
    timestamp: Timestamp | undefined,
  ): [Series, number | undefined] {
    const family = metricName(name, '', kind, this.nameOptions);
    if (family === undefined)
      throw new RemoteWriteClientError(`${method}: invalid metric name ${JSON.stringify(name)}`);
    const known = this.kinds.get(family);
    if (known !== undefined && known !== kind) {
      throw new RemoteWriteClientError(
        `${method}(${JSON.stringify(name)}): "${family}" is already a ${known}; one name cannot have two types`,
      );
    }
    const id = seriesId(family, attributes);
    const explicit = checkTimestamp(method, id, timestamp);
    let series = this.series.get(id);
    if (series) {
      if (kind === 'histogram') {
        const bounds = this.buckets.get(name) ?? this.defaultBuckets;
        if (!sameBounds(series.bounds, bounds)) {
          throw new RemoteWriteClientError(
            `${method}: ${id} counts with buckets [${series.bounds.join(', ')}], not [${bounds.join(', ')}]`,
          );
        }
      }
      return [series, explicit];
    }
    series = {
      kind,
      name,
      id,
      attributes,
      lastMs: -Infinity,
      startMs: NaN,
      total: 0,
      bounds: kind === 'histogram' ? (this.buckets.get(name) ?? this.defaultBuckets) : [],
      counts: [],
      sum: 0,
      count: 0,
      queued: undefined,
    };
    if (kind === 'histogram') series.counts = new Array<number>(series.bounds.length + 1).fill(0);
    const saved = this.saved.get(id);
    if (saved && saved.kind !== kind) {
      throw new RemoteWriteClientError(
        `${method}: stateFile ${this.stateFile} holds ${id} as a ${saved.kind}, not a ${kind}`,
      );
    }
    if (saved?.kind === 'counter') {
      series.total = saved.total;
      series.startMs = saved.startMs;
      series.lastMs = saved.lastMs;
    } else if (saved?.kind === 'histogram') {
      if (!sameBounds(saved.bounds, series.bounds)) {
        throw new RemoteWriteClientError(
          `${method}: stateFile ${this.stateFile} holds ${id} with buckets [${saved.bounds.join(', ')}], ` +
            `now [${series.bounds.join(', ')}]; remove its entry from the file to start it again`,
        );
      }
      series.counts = saved.counts.slice();
      series.sum = saved.sum;
      series.count = saved.count;
      series.startMs = saved.startMs;
      series.lastMs = saved.lastMs;
    }
    this.series.set(id, series);
    this.kinds.set(family, kind);
    return [series, explicit];
  }

  /**
   * The timestamp of the next sample of `series`. A timestamp the caller chose must be later
   * than the series' last one (Prometheus rejects the whole request otherwise). Without one it
   * is now, or 1 ms after the last sample when two calls land in the same millisecond.
   */
  private nextTimestamp(method: string, series: Series, explicit: number | undefined): number {
    if (explicit === undefined) return Math.max(Date.now(), series.lastMs + 1);
    if (explicit <= series.lastMs) throw outOfOrder(method, series, explicit);
    return explicit;
  }

  private commit(series: Series, ms: number): void {
    // Counters and histograms start 1 ms before their first sample: the first value was counted before it.
    if (Number.isNaN(series.startMs)) series.startMs = ms - 1;
    series.lastMs = ms;
  }

  private histogramPoint(series: Series): Point {
    const q = series.queued;
    series.queued = undefined;
    let ms = q ? q.maxMs : Date.now();
    if (ms <= series.lastMs) ms = series.lastMs + 1; // only for timestamps the caller did not choose
    if (Number.isNaN(series.startMs)) series.startMs = Math.min(q?.minMs ?? ms, ms) - 1;
    series.lastMs = ms;
    if (q) {
      for (let i = 0; i < series.counts.length; i++)
        series.counts[i] = (series.counts[i] ?? 0) + (q.counts[i] ?? 0);
      series.sum += q.sum;
      series.count += q.count;
    }
    this.stateDirty = true;
    const value: Histogram = {
      buckets: { boundaries: series.bounds.slice(), counts: series.counts.slice() },
      sum: series.sum,
      count: series.count,
    };
    return { series, timeMs: ms, startMs: series.startMs, value };
  }

  private dispatch(point: Point): Promise<void> {
    if (this.batch) {
      this.pending.push(point);
      return Promise.resolve();
    }
    const sent = this.send([point]);
    const tracked = sent.catch(() => undefined);
    this.inflight.add(tracked);
    void tracked.then(() => this.inflight.delete(tracked));
    return sent;
  }

  /** One export of points with distinct series; resolves when all its requests were answered. */
  private send(points: readonly Point[]): Promise<void> {
    const what = points.length === 1 ? (points[0] as Point).series.id : `${points.length} series`;
    return this.exporter.exportAndWait(this.resourceMetrics(points)).then((result) => {
      if (result.code === ExportResultCode.SUCCESS) return;
      const cause = result.error;
      throw new RemoteWriteClientError(`sending ${what} failed: ${cause?.message ?? 'unknown error'}`, {
        cause,
      });
    });
  }

  private resourceMetrics(points: readonly Point[]): ResourceMetrics {
    const metrics = new Map<string, MetricData>();
    for (const p of points) {
      const { kind, name } = p.series;
      const key = `${kind}\u0000${name}`;
      let metric = metrics.get(key);
      if (!metric) {
        metric = metricData(kind, name);
        metrics.set(key, metric);
      }
      (metric.dataPoints as DataPoint<unknown>[]).push({
        attributes: p.series.attributes,
        startTime: hrTime(p.startMs),
        endTime: hrTime(p.timeMs),
        value: p.value,
      });
    }
    return { resource: this.resource, scopeMetrics: [{ scope: SCOPE, metrics: [...metrics.values()] }] };
  }

  private snapshot(): Map<string, SeriesState> {
    const state = new Map(this.saved);
    for (const s of this.series.values()) {
      if (Number.isNaN(s.startMs)) continue;
      const labels = { ...s.attributes };
      const family = s.id.replace(/\{.*$/, '');
      if (s.kind === 'counter') {
        state.set(s.id, {
          kind: 'counter',
          name: family,
          labels,
          total: s.total,
          startMs: s.startMs,
          lastMs: s.lastMs,
        });
      } else if (s.kind === 'histogram') {
        state.set(s.id, {
          kind: 'histogram',
          name: family,
          labels,
          bounds: s.bounds.slice(),
          counts: s.counts.slice(),
          sum: s.sum,
          count: s.count,
          startMs: s.startMs,
          lastMs: s.lastMs,
        });
      }
    }
    return state;
  }
}

/**
 * Splits points into consecutive exports in which each series appears at most once: the
 * exporter keeps only the first of two points of one series in one export.
 */
function rounds(points: readonly Point[]): Point[][] {
  const out: Point[][] = [];
  const seen = new Map<Series, number>();
  for (const p of points) {
    const r = seen.get(p.series) ?? 0;
    (out[r] ??= []).push(p);
    seen.set(p.series, r + 1);
  }
  return out;
}

function metricData(kind: Kind, name: string): MetricData {
  const descriptor = { name, description: '', unit: '', valueType: ValueType.DOUBLE };
  if (kind === 'counter') {
    return {
      descriptor: { ...descriptor, type: InstrumentType.COUNTER },
      dataPointType: DataPointType.SUM,
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      isMonotonic: true,
      dataPoints: [],
    } as MetricData;
  }
  if (kind === 'gauge') {
    return {
      descriptor: { ...descriptor, type: InstrumentType.GAUGE },
      dataPointType: DataPointType.GAUGE,
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPoints: [],
    } as MetricData;
  }
  return {
    descriptor: { ...descriptor, type: InstrumentType.HISTOGRAM },
    dataPointType: DataPointType.HISTOGRAM,
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPoints: [],
  } as MetricData;
}

function hrTime(ms: number): HrTime {
  return [Math.floor(ms / 1000), (ms % 1000) * 1e6];
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function outOfOrder(method: string, series: Series, ms: number): RemoteWriteClientError {
  const what = ms === series.lastMs ? 'the same as' : 'before';
  return new RemoteWriteClientError(
    `${method} ${series.id}: timestamp ${ms} is ${what} this series' last one (${series.lastMs}); ` +
      'Prometheus rejects out-of-order and duplicate samples, so nothing was sent',
  );
}

/** A resource with exactly these attributes: no SDK default `service.name`, so no `job` unless asked. */
function plainResource(attributes: Attributes): ResourceMetrics['resource'] {
  const resource = {
    attributes,
    asyncAttributesPending: false,
    waitForAsyncAttributes: () => Promise.resolve(),
    getRawAttributes: () => Object.entries(attributes),
    merge: (other: ResourceMetrics['resource'] | null) => other ?? resource,
  };
  return resource as unknown as ResourceMetrics['resource'];
}
