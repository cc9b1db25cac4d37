/**
 * PrometheusRemoteWriteExporter: the `PushMetricExporter` glue between the OTel SDK and the
 * pipeline translate → encode → compress → send.
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
  resolveOptions,
  type PrometheusRemoteWriteExporterOptions,
  type ResolvedOptions,
} from './options.js';
import { DeltaAccumulator } from './translate/delta.js';
import { SeriesState } from './translate/series-state.js';
import { translate, type TranslateState } from './translate/translate.js';
import { Sender } from './deliver/sender.js';
import { ProtobufWriter } from './wire/protobuf-writer.js';
import { encodeWriteRequest } from './wire/rw1.js';
import { formatDebugText } from './wire/debug-text.js';
import { snappyCompress } from './wire/snappy.js';
import { USER_AGENT } from './version.js';

export class PrometheusRemoteWriteExporter implements PushMetricExporter {
  private readonly options: ResolvedOptions;
  private readonly sender: Sender;
  private readonly state: TranslateState = { deltas: new DeltaAccumulator(), warned: new Set() };
  private readonly seriesState = new SeriesState();
  private readonly writer = new ProtobufWriter();
  /** Requests go out one after another, in the order of export() calls, so no series is sent out of order. */
  private queue: Promise<void> = Promise.resolve();
  private shutdownPromise: Promise<void> | undefined;
  private requestSeq = 0;

  constructor(options: PrometheusRemoteWriteExporterOptions) {
    this.options = resolveOptions(options);
    this.sender = new Sender({
      url: this.options.url,
      headers: this.options.headers,
      userAgent: USER_AGENT,
      timeoutMillis: this.options.timeoutMillis,
      agent: this.options.agent,
    });
  }

  /** Never throws: every failure reaches `resultCallback` as FAILED with an Error saying why. */
  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    if (this.shutdownPromise) {
      resultCallback({
        code: ExportResultCode.FAILED,
        error: new Error('PrometheusRemoteWriteExporter is shut down'),
      });
      return;
    }
    let body: Buffer;
    try {
      // Translated at call time, so that the per-series state sees exports in call order.
      const batch = translate(metrics, this.options, this.state);
      const series = batch.series.concat(this.seriesState.admit(batch.series, Date.now()));
      if (series.length === 0) {
        resultCallback({ code: ExportResultCode.SUCCESS });
        return;
      }
      body = this.encode(series, batch.metadata);
    } catch (err) {
      resultCallback({ code: ExportResultCode.FAILED, error: asError(err) });
      return;
    }
    void this.enqueue(body).then(resultCallback);
  }

  /** Resolves once every request already started has finished. */
  async forceFlush(): Promise<void> {
    await this.queue;
  }

  /**
   * Sends the stale markers if `markStaleOnShutdown`, waits for every request already started,
   * then releases the connection pool. Later exports fail at once.
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.doShutdown();
    return this.shutdownPromise;
  }

  /** The SDK is asked for cumulative data: Prometheus counters and histograms are cumulative. */
  selectAggregationTemporality(_instrumentType: InstrumentType): AggregationTemporality {
    return AggregationTemporality.CUMULATIVE;
  }

  private async doShutdown(): Promise<void> {
    if (this.options.markStaleOnShutdown) {
      const stale = this.seriesState.staleAll(Date.now());
      if (stale.length > 0) {
        const result = await this.enqueue(this.encode(stale, new Map()));
        if (result.error)
          diag.error(`prometheus remote write: stale markers at shutdown not sent: ${result.error.message}`);
      }
    }
    await this.queue;
    this.sender.close();
  }

  private encode(series: TimeSeries[], metadata: Map<string, MetricFamilyMetadata>): Buffer {
    if (this.options.debug) this.options.debug(formatDebugText(++this.requestSeq, series, metadata));
    const meta = this.options.sendMetadata ? [...metadata.values()] : [];
    return snappyCompress(encodeWriteRequest(series, meta, this.writer));
  }

  /**
   * Failures are returned, not logged: the SDK's reader already reports a FAILED result through
   * the global error handler (diag), and logging here too would say everything twice.
   */
  private enqueue(body: Buffer): Promise<ExportResult> {
    const result = this.queue
      .then(() => this.sender.send(body))
      .then(
        (): ExportResult => ({ code: ExportResultCode.SUCCESS }),
        (err: unknown): ExportResult => ({ code: ExportResultCode.FAILED, error: asError(err) }),
      );
    this.queue = result.then(() => undefined);
    return result;
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
