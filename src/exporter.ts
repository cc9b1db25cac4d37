/**
 * PrometheusRemoteWriteExporter: the `PushMetricExporter` glue between the OTel SDK and the
 * pipeline translate → batch → encode → compress → deliver (queue, retries, spool).
 */
import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
  AggregationTemporality,
  type InstrumentType,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { MetricFamilyMetadata, TimeSeries } from './model.js';
import {
  InvalidOptionError,
  resolveOptions,
  type PrometheusRemoteWriteExporterOptions,
  type ResolvedOptions,
} from './options.js';
import { DeltaAccumulator } from './translate/delta.js';
import { CachedSeries, describe, SeriesState } from './translate/series-state.js';
import { translate, type TranslateState } from './translate/translate.js';
import { splitIntoChunks } from './deliver/batching.js';
import { DeliveryQueue, type OutgoingRequest, type RequestResult } from './deliver/queue.js';
import { RemoteWriteError, Sender, type SenderOptions, type WireProtocol } from './deliver/sender.js';
import { Spool } from './deliver/spool.js';
import { copyStats, emptyStats, type DeliveryStats } from './deliver/stats.js';
import { recordSelfMetrics } from './self-metrics.js';
import { formatDebugText } from './wire/debug-text.js';
import { ProtobufWriter } from './wire/protobuf-writer.js';
import { encodeWriteRequest } from './wire/rw1.js';
import { encodeRequestV2 } from './wire/rw2.js';
import { snappyCompress } from './wire/snappy.js';
import { USER_AGENT } from './version.js';

/**
 * Seams for the benchmark (bench/), not part of the public API: a sink instead of HTTP, and a
 * profile that adds up where `export()` spends its time.
 * @internal
 */
export interface ExporterInternals {
  readonly post?: SenderOptions['post'];
  readonly profile?: ExportProfile;
}

/** @internal Milliseconds and bytes summed over exports (performance.now() around each phase). */
export interface ExportProfile {
  translateMs: number;
  batchMs: number;
  encodeMs: number;
  compressMs: number;
  rawBytes: number;
  compressedBytes: number;
  requests: number;
  /** Sees each uncompressed body (a view, valid only during the call). */
  onBody?: (raw: Uint8Array) => void;
}

export class PrometheusRemoteWriteExporter implements PushMetricExporter {
  private readonly options: ResolvedOptions;
  private readonly sender: Sender;
  private readonly seriesState = new SeriesState();
  private readonly state: TranslateState = {
    deltas: new DeltaAccumulator(),
    warned: new Set(),
    series: this.seriesState,
  };
  private readonly writer = new ProtobufWriter();
  private readonly counters: DeliveryStats = emptyStats();
  private readonly queue: DeliveryQueue;
  private shutdownPromise: Promise<void> | undefined;
  private requestSeq = 0;
  private readonly profile: ExportProfile | undefined;

  constructor(options: PrometheusRemoteWriteExporterOptions, internals: ExporterInternals = {}) {
    this.options = resolveOptions(options);
    this.profile = internals.profile;
    const o = this.options;
    this.sender = new Sender({
      url: o.url,
      headers: o.headers,
      userAgent: USER_AGENT,
      timeoutMillis: o.timeoutMillis,
      agent: o.agent,
      post: internals.post,
    });
    const spool = o.spoolDir === undefined ? undefined : this.openSpool(o.spoolDir);
    this.queue = new DeliveryQueue({
      sender: this.sender,
      protocol: o.protocol,
      shards: o.maxConcurrentRequests,
      capacity: o.queueCapacity,
      minBackoffMillis: o.minBackoffMillis,
      maxBackoffMillis: o.maxBackoffMillis,
      maxRetryElapsedMillis: o.maxRetryElapsedMillis,
      shutdownTimeoutMillis: o.shutdownTimeoutMillis,
      stats: this.counters,
      spool,
    });
    // What an earlier process could not deliver goes first.
    if (spool) this.queue.loadSpool(spool.pending(Date.now()));
    if (o.meter) recordSelfMetrics(o.meter, () => this.stats());
  }

  /**
   * Never throws. The callback gets SUCCESS once every request of this export was accepted, or
   * FAILED with an Error saying what was not delivered and why (dropped, or kept in the spool).
   */
  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    if (this.shutdownPromise) {
      resultCallback({
        code: ExportResultCode.FAILED,
        error: new Error('PrometheusRemoteWriteExporter is shut down'),
      });
      return;
    }
    let pending: Promise<RequestResult>[];
    try {
      // Translated at call time, so that the per-series state sees exports in call order.
      const t0 = this.profile ? performance.now() : 0;
      const batch = translate(metrics, this.options, this.state);
      const stale = this.seriesState.admit(batch.series, Date.now(), batch.metadata);
      const series = this.options.markStaleWhenMissing ? batch.series.concat(stale) : batch.series;
      if (this.profile) this.profile.translateMs += performance.now() - t0;
      pending = this.enqueue(series, batch.metadata);
    } catch (err) {
      resultCallback({ code: ExportResultCode.FAILED, error: asError(err) });
      return;
    }
    void Promise.all(pending).then((results) => resultCallback(exportResult(results)));
  }

  /** Resolves once every request queued so far was delivered, dropped or spooled. */
  async forceFlush(): Promise<void> {
    await this.queue.drain();
  }

  /**
   * Sends the stale markers if `markStaleOnShutdown`, then keeps delivering for at most
   * `shutdownTimeoutMillis`; what is left goes to `spoolDir` or is dropped. Later exports fail at once.
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.doShutdown();
    return this.shutdownPromise;
  }

  /** The SDK is asked for cumulative data: Prometheus counters and histograms are cumulative. */
  selectAggregationTemporality(_instrumentType: InstrumentType): AggregationTemporality {
    return AggregationTemporality.CUMULATIVE;
  }

  /** A snapshot of the delivery counters (also recorded on `meter` when given). */
  stats(): DeliveryStats {
    return copyStats(this.counters);
  }

  private async doShutdown(): Promise<void> {
    if (this.options.markStaleOnShutdown) {
      const metadata = new Map<string, MetricFamilyMetadata>();
      const stale = this.seriesState.staleAll(Date.now(), metadata);
      void Promise.all(this.enqueue(stale, metadata)).then((results) => {
        const failed = results.find((r) => !r.delivered);
        if (failed?.error)
          diag.error(`prometheus remote write: stale markers at shutdown not sent: ${failed.error.message}`);
      });
    }
    await this.queue.close();
    this.sender.close();
  }

  private openSpool(dir: string): Spool {
    try {
      return new Spool(
        dir,
        { maxBytes: this.options.spoolMaxBytes, maxAgeMillis: this.options.spoolMaxAgeMillis },
        (reason, samples, detail) => {
          this.counters.samplesDropped[reason] += samples;
          diag.warn(
            `prometheus remote write: spooled request dropped (${reason}, ${samples} samples): ${detail}`,
          );
        },
      );
    } catch (err) {
      throw new InvalidOptionError('spoolDir', `must be a writable directory (${asError(err).message})`);
    }
  }

  /** Splits into requests (per shard, then by the size limits) and queues them. */
  private enqueue(
    series: TimeSeries[],
    metadata: Map<string, MetricFamilyMetadata>,
  ): Promise<RequestResult>[] {
    if (series.length === 0) return [];
    const shards = this.options.maxConcurrentRequests;
    const perShard = shards === 1 ? [series] : shardSeries(series, shards);
    const limits = { maxSamples: this.options.maxSamplesPerSend, maxBytes: this.options.maxRequestBytes };
    const results: Promise<RequestResult>[] = [];
    perShard.forEach((list, shard) => {
      const t0 = this.profile ? performance.now() : 0;
      const chunks = splitIntoChunks(list, limits, warnOversize);
      if (this.profile) this.profile.batchMs += performance.now() - t0;
      for (const chunk of chunks) {
        results.push(this.queue.push(shard, this.request(chunk.series, chunk.samples, metadata)));
      }
    });
    return results;
  }

  private request(
    series: TimeSeries[],
    samples: number,
    allMetadata: Map<string, MetricFamilyMetadata>,
  ): OutgoingRequest {
    const metadata = new Map<string, MetricFamilyMetadata>();
    let histograms = 0;
    let family: string | undefined;
    for (const s of series) {
      if (s.histograms !== undefined) histograms += s.histograms.length;
      // The series of one family are adjacent: look each family up once.
      if (s.family === family) continue;
      family = s.family;
      const meta = allMetadata.get(family);
      if (meta && !metadata.has(family)) metadata.set(family, meta);
    }
    if (this.options.debug) this.options.debug(formatDebugText(++this.requestSeq, series, metadata));
    const protocol = this.queue.protocol;
    return {
      samples,
      histograms,
      protocol,
      body: this.encode(series, metadata, protocol),
      // Until `auto` has heard the receiver, the series are kept to re-send the request as 1.0.
      reencodeV1:
        protocol === 'v2' && !this.queue.protocolSettled
          ? () => this.encode(series, metadata, 'v1')
          : undefined,
    };
  }

  private encode(
    series: readonly TimeSeries[],
    metadata: Map<string, MetricFamilyMetadata>,
    protocol: WireProtocol,
  ): Buffer {
    const profile = this.profile;
    const t0 = profile ? performance.now() : 0;
    // RW 2.0 always carries metadata (inline, per series); `sendMetadata` is about RW 1.0.
    const raw =
      protocol === 'v2'
        ? encodeRequestV2(series, metadata, this.writer)
        : encodeWriteRequest(series, this.options.sendMetadata ? [...metadata.values()] : [], this.writer);
    if (!profile) return snappyCompress(raw);
    const t1 = performance.now();
    profile.onBody?.(raw);
    const t2 = performance.now();
    const body = snappyCompress(raw);
    profile.encodeMs += t1 - t0;
    profile.compressMs += performance.now() - t2;
    profile.rawBytes += raw.length;
    profile.compressedBytes += body.length;
    profile.requests++;
    return body;
  }
}

/** One result for the SDK: the first failure says why, with how many requests it concerns. */
function exportResult(results: RequestResult[]): ExportResult {
  const failed = results.filter((r) => !r.delivered);
  if (failed.length === 0) return { code: ExportResultCode.SUCCESS };
  const first = failed[0]!.error ?? new Error('not delivered');
  if (results.length === 1) return { code: ExportResultCode.FAILED, error: first };
  const status = first instanceof RemoteWriteError ? first.status : undefined;
  const error = new RemoteWriteError(
    `${failed.length} of ${results.length} requests not delivered; the first: ${first.message}`,
    status,
    first instanceof RemoteWriteError ? first.responseBody : undefined,
    { cause: first },
  );
  return { code: ExportResultCode.FAILED, error };
}

function warnOversize(group: readonly TimeSeries[], samples: number, bytes: number): void {
  diag.warn(
    `prometheus remote write: ${describe(group[0]!.labels)}${group.length > 1 ? ` (with ${group.length - 1} more series of its histogram point)` : ''} ` +
      `has ${samples} samples, ${bytes} bytes: over maxSamplesPerSend or maxRequestBytes; sent in a request of its own`,
  );
}

/**
 * With several requests in flight, each series must always travel in the same shard, so that
 * its samples stay in order (RW1 §Ordering). The shard comes from the family and the labels
 * other than `__name__` and `le`, which all series of one histogram point share.
 */
function shardSeries(series: TimeSeries[], shards: number): TimeSeries[][] {
  const out: TimeSeries[][] = Array.from({ length: shards }, () => []);
  for (const s of series) out[shardOf(s, shards)]!.push(s);
  return out;
}

function shardOf(s: TimeSeries, shards: number): number {
  if (s instanceof CachedSeries) return (s.record.shardHash ??= shardHash(s)) % shards;
  return shardHash(s) % shards;
}

/** FNV-1a, 32 bits, of the family and the labels other than `__name__` and `le`. */
function shardHash(s: TimeSeries): number {
  let h = 0x811c9dc5;
  const mix = (text: string): void => {
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0, 0x01000193);
  };
  mix(s.family);
  for (const l of s.labels) {
    if (l.name === '__name__' || l.name === 'le') continue;
    mix(l.name);
    mix(l.value);
  }
  return h >>> 0;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
