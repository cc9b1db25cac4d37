/**
 * PrometheusRemoteWriteExporter: the `PushMetricExporter` glue between the OTel SDK and the
 * pipeline translate → batch → encode → compress → deliver (queue, retries, spool).
 * `export()` calls back once its requests are queued: delivery goes on in the background, so the
 * SDK's collections never wait for the receiver.
 */
import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
  AggregationTemporality,
  type InstrumentType,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { EncodedRun, Label, MetricFamilyMetadata, SeriesBatch, TimeSeries } from './model.js';
import {
  InvalidOptionError,
  resolveOptions,
  type PrometheusRemoteWriteExporterOptions,
  type ResolvedOptions,
} from './options.js';
import { DeltaAccumulator, OBSERVABLE_INSTRUMENTS } from './translate/delta.js';
import { exportProblem } from './translate/malformed.js';
import { CachedSeries, describe, SeriesState } from './steady-state/series-state.js';
import { isEncoded, keyOf, labelsOf, shardHashOf, type SeriesRecord } from './steady-state/series-record.js';
import type { LaterFrame } from './steady-state/frames.js';
import {
  translateSteps,
  type SeriesSink,
  type TranslateOptions,
  type TranslateState,
} from './translate/translate.js';
import { Chunker, type Chunk } from './deliver/batching.js';
import { addShardedRun, shardHashOfKey, shardHashOfLabels } from './deliver/shards.js';
import { DeliveryLog } from './deliver/delivery-log.js';
import {
  DeliveryQueue,
  type OutgoingRequest,
  type QueuedRequest,
  type RequestResult,
} from './deliver/queue.js';
import { RemoteWriteError, Sender, type SenderOptions, type WireProtocol } from './deliver/sender.js';
import { Spool } from './deliver/spool.js';
import { copyStats, emptyStats, type DeliveryStats } from './deliver/stats.js';
import { joinExit, type ExitParticipant, type ExitReport } from './exit.js';
import { recordSelfMetrics } from './self-metrics.js';
import { formatDebugText } from './wire/debug-text.js';
import { ProtobufWriter } from './wire/protobuf-writer.js';
import { encodeWriteRequestSteps } from './wire/rw1.js';
import { RequestV2Encoder } from './wire/rw2.js';
import { LabelStrings } from './wire/label-strings.js';
import {
  nativeSnappyProblem,
  snappy,
  snappyCodec,
  type Compression,
  type SnappyCodec,
} from './wire/snappy.js';
import { fetchPost } from './deliver/fetch-post.js';
import { RUNTIME, type Transport } from './runtime.js';
import { USER_AGENT } from './version.js';
import { inspect, type InspectOptions } from 'node:util';
import { concealOptions, inspectAs, optionsSummary } from './redact.js';
import { NEVER, runSteps } from './steps.js';

/**
 * Seams for the benchmark (bench/), not part of the public API: a sink instead of HTTP, and a
 * profile that adds up where `export()` spends its time.
 * @internal
 */
export interface ExporterInternals {
  readonly post?: SenderOptions['post'];
  /** Tests and bench: this encoder instead of the one chosen at load (wire/snappy.ts). */
  readonly compression?: Compression;
  /** Tests: send with `fetch` where node:http is there too. */
  readonly transport?: Transport;
  readonly profile?: ExportProfile;
}

/**
 * @internal Milliseconds and bytes summed over exports (performance.now() around each phase).
 * Requests are encoded while the export is translated, so `translateMs` is the export's time
 * minus the time spent making requests: translation, per-series state and splitting.
 */
export interface ExportProfile {
  translateMs: number;
  encodeMs: number;
  compressMs: number;
  /** Per-request metadata and debug text (the queue's own bookkeeping is not timed). */
  queueMs: number;
  rawBytes: number;
  compressedBytes: number;
  requests: number;
  /** Frames built or checked between exports (steady-state/frames.ts LaterFrame), and the time spent on those steps. */
  framesBuilt?: number;
  framesBuiltMs?: number;
  /** Sees each uncompressed body (a view, valid only during the call). */
  onBody?: (raw: Uint8Array) => void;
}

/** @internal A profile with every figure at zero, for the `profile` hook (bench, tests). */
export function emptyProfile(): ExportProfile {
  return {
    translateMs: 0,
    encodeMs: 0,
    compressMs: 0,
    queueMs: 0,
    rawBytes: 0,
    compressedBytes: 0,
    requests: 0,
  };
}

export class PrometheusRemoteWriteExporter implements PushMetricExporter, ExitParticipant {
  private readonly options: ResolvedOptions;
  private readonly sender: Sender;
  /**
   * Per producer (resource): the series state (ordering, staleness, caches) and delta sums. Several
   * MeterProviders may share one exporter; each export carries one provider's series, and must
   * not end the others' (stale markers) nor reorder them.
   */
  private readonly producers = new Map<string, TranslateState>();
  private readonly warned = new Set<string>();
  private readonly writer = new ProtobufWriter();
  /**
   * RW 2.0 requests, reusing the symbols of a request of the same series as before. Its own
   * writer: a 2.0 request is encoded in steps, between which a 1.0 one may be (`auto`).
   */
  private readonly v2 = new RequestV2Encoder();
  private readonly counters: DeliveryStats = emptyStats();
  private readonly log = new DeliveryLog();
  private readonly queue: DeliveryQueue;
  private shutdownPromise: Promise<void> | undefined;
  /** Exports waiting to be translated, in call order, and the one being translated (enqueue). */
  private readonly exportsWaiting: Array<{ metrics: ResourceMetrics; done: (queued: Queued) => void }> = [];
  /**
   * Frames of a first export, to build between exports once its requests are delivered
   * (steady-state/frames.ts LaterFrame): they go before any export still waiting.
   */
  private readonly framesWaiting: LaterFrame[] = [];
  /**
   * First exports whose frames wait for their requests to be delivered, by the promise of that.
   * An export of the same producer that begins first lets them go (with the points they hold).
   */
  private readonly framesAwaitingDelivery = new Map<
    Promise<void>,
    { readonly state: TranslateState; frames: readonly LaterFrame[] | undefined }
  >();
  /** The export or frame build being translated, in steps. */
  private current:
    | {
        steps: Generator<void, unknown, void>;
        /** Called with what the steps returned, or what they threw, and the time spent in them. */
        finish: (value: unknown, busyMs: number) => void;
        /** Time spent in its steps, pauses left out (the profile). */
        busyMs: number;
      }
    | undefined;
  private translating = false;
  private readonly translatedWaiters: Array<() => void> = [];
  private sliceEndsAt = 0;
  private readonly budget = { due: (): boolean => performance.now() > this.sliceEndsAt };
  private requestSeq = 0;
  private readonly profile: ExportProfile | undefined;
  private readonly translateOptions: TranslateOptions;
  private readonly codec: SnappyCodec;
  /** How requests are sent: `'node:http'` in the Node.js build (Node, Bun, Deno), `'fetch'` in the Workers build. */
  readonly transport: Transport;

  constructor(options: PrometheusRemoteWriteExporterOptions, internals: ExporterInternals = {}) {
    this.options = resolveOptions(options);
    this.profile = internals.profile;
    this.codec = internals.compression ? snappyCodec(internals.compression) : snappy;
    this.transport = internals.transport ?? RUNTIME.transport;
    announceRuntime(this.codec, this.transport);
    this.translateOptions = { ...this.options, withoutStartTimestamps: this.options.protocol === 'v1' };
    const o = this.options;
    this.sender = new Sender({
      url: o.url,
      headers: o.headers,
      authorizers: o.authorizers,
      userAgent: USER_AGENT,
      timeoutMillis: o.timeoutMillis,
      agent: o.agent,
      tls: o.tls,
      proxy: o.proxy,
      post: internals.post ?? (this.transport === 'fetch' ? fetchPost : undefined),
    });
    concealOptions(o, this.sender.target);
    const spool = o.spoolDir === undefined ? undefined : this.openSpool(o.spoolDir);
    this.queue = new DeliveryQueue({
      sender: this.sender,
      protocol: o.protocol,
      shards: o.maxConcurrentRequests,
      maxBytes: o.maxQueueBytes,
      maxSamples: o.queueCapacity,
      minBackoffMillis: o.minBackoffMillis,
      maxBackoffMillis: o.maxBackoffMillis,
      maxRetryElapsedMillis: o.maxRetryElapsedMillis,
      shutdownTimeoutMillis: o.shutdownTimeoutMillis,
      stats: this.counters,
      log: this.log,
      spool,
    });
    // What an earlier process could not deliver goes first.
    if (spool) this.queue.loadSpool(spool.pending(Date.now()));
    if (o.meter) recordSelfMetrics(o.meter, () => this.stats());
    joinExit(this);
  }

  /**
   * Never throws, and never waits for the receiver. The callback gets SUCCESS once every request
   * of this export is queued (delivery goes on in the background: see `stats()` and `diag`), or
   * FAILED with an Error saying what could not be read or queued, and why.
   */
  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    this.enqueue(metrics, (queued) =>
      resultCallback(
        queued.failure
          ? { code: ExportResultCode.FAILED, error: queued.failure }
          : queuedResult(queued.requests),
      ),
    );
  }

  /**
   * @internal The same as `export`, resolving once the receiver answered every request of this
   * export (or they were given up on): for `RemoteWriteClient`, whose calls resolve on delivery.
   */
  async exportAndWait(metrics: ResourceMetrics): Promise<ExportResult> {
    const queued = await new Promise<Queued>((resolve) => this.enqueue(metrics, resolve));
    const results = await Promise.all(queued.requests.map((r) => r.result));
    if (queued.failure) return { code: ExportResultCode.FAILED, error: queued.failure };
    return deliveredResult(results);
  }

  /**
   * Translates, batches, encodes and queues one export, then calls `done`; never throws. Exports
   * are translated one at a time in call order (the per-series state must see them so), each in
   * slices of at most SLICE_MILLIS between which the event loop runs: a first export of a million
   * series takes seconds, and must not hold a server's event loop for all of them. The first
   * slice runs at once, so an export that fits in it is queued before `export()` returns.
   */
  private enqueue(metrics: ResourceMetrics, done: (queued: Queued) => void): void {
    if (this.shutdownPromise) {
      done({ requests: [], failure: new Error('PrometheusRemoteWriteExporter is shut down') });
      return;
    }
    this.exportsWaiting.push({ metrics, done });
    if (!this.translating) this.translateWaiting();
  }

  /**
   * Runs the waiting exports' steps until the slice is up, then again after the event loop ran.
   * A slice that ran in its caller's turn (`export()`, a delivery settling) goes on after the
   * timers' next turn (`afterTimers`): with `setImmediate` the next slice would follow it before
   * any timer fires (the event loop's check phase comes before its next timers phase), and a
   * timer would wait for two slices (bench/blocks.ts, first export of 10k series: 12–19 ms
   * outside GC pauses). From the event loop (`fromLoop`), `setImmediate`: timers run between.
   */
  private translateWaiting(fromLoop = false): void {
    this.translating = true;
    this.sliceEndsAt = performance.now() + SLICE_MILLIS;
    for (;;) {
      let current = this.current;
      if (current === undefined) {
        current = this.current = this.nextWork();
        if (current === undefined) break;
      }
      const t0 = performance.now();
      let step: IteratorResult<void, unknown>;
      try {
        step = current.steps.next();
      } catch (err) {
        // enqueueSteps catches what translation throws; this is the last resort.
        step = { done: true, value: asError(err) };
      }
      current.busyMs += performance.now() - t0;
      if (step.done) {
        this.current = undefined;
        current.finish(step.value, current.busyMs);
      }
      if (this.budget.due()) {
        (fromLoop ? later : afterTimers)(() => this.translateWaiting(true));
        return;
      }
    }
    this.translating = false;
    for (const resolve of this.translatedWaiters.splice(0)) resolve();
  }

  /** Frames to build first, then the exports in call order. */
  private nextWork(): typeof this.current {
    const frame = this.framesWaiting.shift();
    if (frame !== undefined) {
      const profile = this.profile;
      return {
        steps: frame.steps(this.budget.due),
        finish: (value, busyMs) => {
          if (value instanceof Error)
            diag.error(`prometheus remote write: a frame could not be built: ${value.message}`);
          if (profile) {
            profile.framesBuiltMs = (profile.framesBuiltMs ?? 0) + busyMs;
            if (value === true) profile.framesBuilt = (profile.framesBuilt ?? 0) + 1;
          }
        },
        busyMs: 0,
      };
    }
    const next = this.exportsWaiting.shift();
    if (next === undefined) return undefined;
    return {
      steps: this.enqueueSteps(next.metrics),
      finish: (value, busyMs) => this.translatedOne(value, busyMs, next.done),
      busyMs: 0,
    };
  }

  /** An export's steps are done: its result goes to its caller, its frames wait for delivery. */
  private translatedOne(value: unknown, busyMs: number, done: (queued: Queued) => void): void {
    const queued: Queued & { innerMs?: number; later?: LaterFrames } =
      value instanceof Error ? { requests: [], failure: value } : (value as Queued);
    if (this.profile) this.profile.translateMs += busyMs - (queued.innerMs ?? 0);
    if (queued.later !== undefined) this.buildAfterDelivery(queued.requests, queued.later);
    try {
      done({ requests: queued.requests, ...(queued.failure && { failure: queued.failure }) });
    } catch (err) {
      // A result callback that throws must not stop the exports behind it (nor, called from
      // setImmediate, crash the process).
      diag.error(`prometheus remote write: an export's result callback threw: ${asError(err).message}`);
    }
  }

  /**
   * The frames of a first export are built once its requests are settled: the first export's
   * peak memory then never also holds them. If the next export of the producer begins first
   * (a slow receiver), they are not built; that export builds them at its end instead.
   */
  private buildAfterDelivery(requests: readonly QueuedRequest[], later: LaterFrames): void {
    const entry: { state: TranslateState; frames: readonly LaterFrame[] | undefined } = { ...later };
    const delivered: Promise<void> = Promise.allSettled(requests.map((r) => r.result)).then(() => {
      this.framesAwaitingDelivery.delete(delivered);
      if (this.shutdownPromise || entry.frames === undefined) return;
      this.framesWaiting.push(...entry.frames);
      if (!this.translating) this.translateWaiting();
    });
    this.framesAwaitingDelivery.set(delivered, entry);
  }

  /** An export of this producer begins: the frames still waiting for delivery are not built. */
  private letFramesGo(state: TranslateState): void {
    for (const entry of this.framesAwaitingDelivery.values())
      if (entry.state === state) entry.frames = undefined;
  }

  /**
   * @internal Resolves once every export called so far is translated and queued, and the frames
   * built after them (their requests delivered) are built: between the exports of a bench or a
   * test, what the interval of a periodic reader leaves time for.
   */
  async idle(): Promise<void> {
    for (;;) {
      await this.translated();
      if (this.framesAwaitingDelivery.size === 0) {
        if (!this.translating) return;
        continue;
      }
      await Promise.all(this.framesAwaitingDelivery.keys());
    }
  }

  /** Resolves once every export called so far is translated and queued. */
  private translated(): Promise<void> {
    if (!this.translating) return Promise.resolve();
    return new Promise((resolve) => this.translatedWaiters.push(resolve));
  }

  /** The steps of one export (translateSteps, then stale markers and the last requests). */
  private *enqueueSteps(
    metrics: ResourceMetrics,
  ): Generator<void, Queued & { innerMs: number; later?: LaterFrames }, void> {
    this.log.tick(this.queue.waiting());
    const profile = this.profile;
    const inner0 = profile ? profile.encodeMs + profile.compressMs + profile.queueMs : 0;
    const outlet = this.outlet(new Map());
    let failure: Error | undefined;
    let later: LaterFrames | undefined;
    try {
      // Each request is encoded, compressed and queued as soon as it is full.
      const unreadable = exportProblem(metrics);
      if (unreadable !== undefined) throw new Error(`prometheus remote write: nothing sent: ${unreadable}`);
      const state = this.producerState(metrics);
      this.letFramesGo(state);
      // Requests closed while translating are encoded at the start of the next slice.
      const steps = translateSteps(metrics, this.translateOptions, state, outlet, this.budget);
      let step = steps.next();
      while (!step.done) {
        yield;
        yield* outlet.encodeSteps(this.budget.due);
        step = steps.next();
      }
      const batch = step.value;
      countTranslation(this.counters, batch);
      if (batch.laterFrames) later = { state, frames: batch.laterFrames };
      if (batch.problems) failure = new Error(`prometheus remote write: ${batch.problems.join('; ')}`);
      const stale = yield* state.series.admitSteps([], Date.now(), outlet.metadata, this.budget.due);
      if (this.options.markStaleWhenMissing) for (const s of stale) outlet.add(s);
      yield* outlet.flushSteps(this.budget.due);
    } catch (err) {
      // Input that cannot be read at all. What was made of it before is still sent; the result
      // reports the failure.
      failure = asError(err);
      try {
        outlet.flush();
      } catch {
        // Nothing more can be sent from this export.
      }
    }
    this.v2.endExport();
    const innerMs = profile ? profile.encodeMs + profile.compressMs + profile.queueMs - inner0 : 0;
    return { requests: outlet.results, innerMs, ...(failure && { failure }), ...(later && { later }) };
  }

  /**
   * Waits until every request queued so far was delivered or given up on, but at most
   * `flushTimeoutMillis` (and never past the process-exit deadline of `flushOnExit`): then it
   * resolves, and what is left stays queued.
   */
  async forceFlush(): Promise<void> {
    const deadline = Date.now() + this.options.flushTimeoutMillis;
    await this.translated();
    const done = await this.queue.drain(deadline);
    const waiting = this.queue.waiting();
    this.log.tick(waiting);
    if (!done) {
      diag.debug(
        `prometheus remote write: forceFlush ended after flushTimeoutMillis with ${waiting.samples} samples still queued`,
      );
    }
  }

  /**
   * Sends the stale markers if `markStaleOnShutdown`, then keeps delivering for at most
   * `shutdownTimeoutMillis` (less if the process is exiting); what is left goes to `spoolDir`
   * or is dropped. Later exports fail at once.
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.doShutdown();
    return this.shutdownPromise;
  }

  /**
   * Cumulative data, as Prometheus counters and histograms are cumulative; but deltas for
   * observable instruments while `markStaleWhenMissing` is on. Under cumulative temporality the
   * SDK repeats every attribute set an observable callback ever reported; its deltas leave out
   * the sets the callback stopped reporting, so those series get their stale marker. The deltas
   * are added up again here with the SDK's own arithmetic (translate/delta.ts), so the values
   * sent are those a cumulative reader would give.
   */
  selectAggregationTemporality(instrumentType: InstrumentType): AggregationTemporality {
    return this.options.markStaleWhenMissing && OBSERVABLE_INSTRUMENTS.has(instrumentType)
      ? AggregationTemporality.DELTA
      : AggregationTemporality.CUMULATIVE;
  }

  /**
   * What `util.inspect` and `console.log` show: the target without user info or query string,
   * the options without header values or credentials, and the counters (redact.ts).
   */
  [inspect.custom](_depth: number, options: InspectOptions): string {
    return inspectAs('PrometheusRemoteWriteExporter', this.toJSON(), options);
  }

  /** `JSON.stringify(exporter)`: the same redacted summary. */
  toJSON(): { options: Record<string, unknown>; stats: DeliveryStats; shutDown: boolean } {
    return {
      options: optionsSummary(this.options, this.sender.target),
      stats: this.stats(),
      shutDown: this.shutdownPromise !== undefined,
    };
  }

  /**
   * The snappy encoder of the request bodies, chosen once at load: `'native'` (the `snappy`
   * addon) where it loads, else `'js'` (snappyjs, pure JavaScript: Workers, bundles, runtimes
   * without Node-API). Both write the same block format.
   */
  get compression(): Compression {
    return this.codec.kind;
  }

  /** A snapshot of the delivery counters (also recorded on `meter` when given). */
  stats(): DeliveryStats {
    return copyStats(this.counters);
  }

  /** @internal flushOnExit: the process must be done by `atMs`. */
  setExitDeadline(atMs: number): void {
    this.queue.setExitDeadline(atMs);
  }

  /** @internal flushOnExit: what was lost, and what is left in the spool. */
  exitReport(): ExitReport {
    return {
      lost: { ...this.counters.samplesDropped },
      inSpool: this.counters.samplesInSpool,
      spoolDir: this.options.spoolDir,
    };
  }

  /** The state of the producer of this export, found by its resource's attributes. */
  private producerState(metrics: ResourceMetrics): TranslateState {
    const key = resourceKey(metrics.resource);
    let state = this.producers.get(key);
    if (!state) {
      state = { deltas: new DeltaAccumulator(), warned: this.warned, series: new SeriesState() };
      this.producers.set(key, state);
    }
    return state;
  }

  private async doShutdown(): Promise<void> {
    // Frames serve later exports, and there will be none.
    this.framesWaiting.length = 0;
    // Exports called before shutdown are translated and queued first (later ones fail at once).
    await this.translated();
    if (this.options.markStaleOnShutdown) {
      const outlet = this.outlet(new Map());
      for (const state of this.producers.values())
        for (const s of state.series.staleAll(Date.now(), outlet.metadata)) outlet.add(s);
      outlet.flush();
    }
    await this.queue.close();
    this.log.tick(this.queue.waiting());
    this.sender.close();
  }

  private openSpool(dir: string): Spool {
    try {
      return new Spool(
        dir,
        { maxBytes: this.options.spoolMaxBytes, maxAgeMillis: this.options.spoolMaxAgeMillis },
        // The queue exists by the time the spool reports anything (pending() is read after it).
        (reason, samples, detail, path) => this.queue.spoolDropped(path, reason, samples, detail),
      );
    } catch (err) {
      throw new InvalidOptionError('spoolDir', `must be a writable directory (${asError(err).message})`);
    }
  }

  /**
   * Takes series one at a time: each goes to its shard's Chunker, and every request it closes is
   * kept until `encodeSteps` (or a flush) encodes, compresses and queues it, in the order the
   * requests were closed: in steps, since a process's first requests run before V8 has
   * optimized the encoders (2,000 series took 10 ms in 1.0, up to 70 ms in 2.0).
   */
  private outlet(metadata: Map<string, MetricFamilyMetadata>): Outlet {
    const shards = this.options.maxConcurrentRequests;
    const limits = { maxSamples: this.options.maxSamplesPerSend, maxBytes: this.options.maxRequestBytes };
    const results: QueuedRequest[] = [];
    const closed: Array<{ shard: number; chunk: Chunk }> = [];

    const chunkers = Array.from(
      { length: shards },
      (_, shard) => new Chunker(limits, (chunk) => void closed.push({ shard, chunk }), warnOversize),
    );
    const encodeSteps = (due: () => boolean): Generator<void, void, void> =>
      this.queueClosed(closed, results, metadata, due);
    const first = chunkers[0] as Chunker;
    const outlet: Outlet = {
      metadata,
      results,
      add: shards === 1 ? (s) => first.add(s) : (s) => (chunkers[shardOf(s, shards)] as Chunker).add(s),
      encodeSteps,
      flush: () => {
        for (const chunker of chunkers) chunker.flush();
        runSteps(encodeSteps(NEVER));
      },
      flushSteps: function* (due) {
        for (const chunker of chunkers) chunker.flush();
        yield* encodeSteps(due);
      },
      partition: shards === 1 ? undefined : { count: shards, of: (record) => shardOfRecord(record, shards) },
      // An export that is written as RW 2.0 (`auto` until it has fallen back to 1.0): its new
      // series' label strings, for the symbol tables.
      labelStrings: this.queue.protocol === 'v2' ? new LabelStrings() : undefined,
      // Frames (addRun, below) of a fixed 'v2' are never written as 1.0: no fallback to it.
      runsAsV2: this.options.protocol === 'v2',
    };
    // Encoded runs (frames, translate's steady state) need a fixed protocol (with `auto` a
    // request may be encoded again after the export, when its frames hold other values) and no
    // debug text, which is made from series.
    if (this.options.protocol !== 'auto' && !this.options.debug) {
      outlet.addRun =
        shards === 1
          ? (block, from, to, group) => first.addRun(block, from, to, group)
          : (block, from, to, group = 1) => addShardedRun(chunkers, block, from, to, group);
    }
    return outlet;
  }

  /** The requests closed and not yet queued, encoded and queued in the order they were closed. */
  private *queueClosed(
    closed: Array<{ shard: number; chunk: Chunk }>,
    results: QueuedRequest[],
    metadata: Map<string, MetricFamilyMetadata>,
    due: () => boolean,
  ): Generator<void, void, void> {
    for (let next = closed.shift(); next !== undefined; next = closed.shift()) {
      const { series, runs, samples } = next.chunk;
      const request = yield* this.requestSteps(series, runs, samples, metadata, due);
      results.push(this.queue.push(next.shard, request));
      // A request of runs takes no steps of its own (copies and compression): a look after each
      // but the last, so that a small export is still queued before export() returns.
      if (closed.length > 0 && due()) yield;
    }
  }

  private *requestSteps(
    series: TimeSeries[],
    runs: readonly EncodedRun[],
    samples: number,
    allMetadata: Map<string, MetricFamilyMetadata>,
    due: () => boolean,
  ): Generator<void, OutgoingRequest, void> {
    const t0 = this.profile ? performance.now() : 0;
    const metadata = new Map<string, MetricFamilyMetadata>();
    let histograms = 0;
    let family: string | undefined;
    const addFamily = (name: string): void => {
      // The series of one family are adjacent: look each family up once.
      if (name === family) return;
      family = name;
      const meta = allMetadata.get(name);
      if (meta && !metadata.has(name)) metadata.set(name, meta);
    };
    let nextRun = 0;
    for (let i = 0; i < series.length; i++) {
      while (nextRun < runs.length && runs[nextRun]!.at === i) addFamily(runs[nextRun++]!.block.family);
      const s = series[i] as TimeSeries;
      if (s.histograms !== undefined) histograms += s.histograms.length;
      addFamily(s.family);
    }
    while (nextRun < runs.length) addFamily(runs[nextRun++]!.block.family);
    if (this.options.debug) this.options.debug(formatDebugText(++this.requestSeq, series, metadata));
    const protocol = this.queue.protocol;
    if (this.profile) this.profile.queueMs += performance.now() - t0;
    return {
      samples,
      histograms,
      protocol,
      body: yield* this.encodeSteps(series, runs, metadata, protocol, due),
      // Until `auto` has heard the receiver, the series are kept to re-send the request as 1.0
      // (with a writer of its own: an export's request may be half encoded when it is asked).
      reencodeV1:
        protocol === 'v2' && !this.queue.protocolSettled
          ? () => runSteps(this.encodeSteps(series, runs, metadata, 'v1', NEVER, new ProtobufWriter()))
          : undefined,
    };
  }

  private *encodeSteps(
    series: readonly TimeSeries[],
    runs: readonly EncodedRun[],
    metadata: Map<string, MetricFamilyMetadata>,
    protocol: WireProtocol,
    due: () => boolean,
    writer = this.writer,
  ): Generator<void, Buffer, void> {
    const profile = this.profile;
    // RW 2.0 always carries metadata (inline, per series); `sendMetadata` is about RW 1.0. Runs
    // are made only when the protocol is fixed (outlet).
    const steps =
      protocol === 'v2'
        ? this.v2.encodeSteps(series, metadata, runs, due)
        : encodeWriteRequestSteps(
            series,
            this.options.sendMetadata ? [...metadata.values()] : [],
            writer,
            runs,
            due,
          );
    // The time of the steps only, not of the pauses between them.
    let encodeMs = 0;
    let raw: Buffer;
    for (;;) {
      const t0 = profile ? performance.now() : 0;
      const step = steps.next();
      if (profile) encodeMs += performance.now() - t0;
      if (step.done) {
        raw = step.value;
        break;
      }
      yield;
    }
    if (!profile) return this.codec.compress(raw);
    profile.onBody?.(raw);
    const t2 = performance.now();
    const body = this.codec.compress(raw);
    profile.encodeMs += encodeMs;
    profile.compressMs += performance.now() - t2;
    profile.rawBytes += raw.length;
    profile.compressedBytes += body.length;
    profile.requests++;
    return body;
  }
}

interface Outlet extends SeriesSink {
  readonly results: QueuedRequest[];
  /** Encodes, compresses and queues the requests closed so far and not yet queued, in steps. */
  encodeSteps(due: () => boolean): Generator<void, void, void>;
  /** Closes the last requests and queues every one, at once. */
  flush(): void;
  /** The same in steps. */
  flushSteps(due: () => boolean): Generator<void, void, void>;
}

/**
 * Keys of resources by identity: a provider hands over the same Resource object at every
 * collection, so its key is computed once. The key is the attributes' content, so that a
 * producer that makes a new but equal Resource each time is still one producer.
 */
const resourceKeys = new WeakMap<object, string>();

function resourceKey(resource: ResourceMetrics['resource']): string {
  let key = resourceKeys.get(resource);
  if (key === undefined) {
    const entries = Object.entries(resource.attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    key = JSON.stringify(entries);
    resourceKeys.set(resource, key);
  }
  return key;
}

/** The result of `export()`: FAILED when some of its requests could not even be queued. */
function queuedResult(requests: readonly QueuedRequest[]): ExportResult {
  let first: RequestResult | undefined;
  let count = 0;
  for (const r of requests) {
    const outcome = r.outcome;
    if (outcome === undefined || outcome.delivered || outcome.spooled) continue;
    count++;
    first ??= outcome;
  }
  if (first === undefined) return { code: ExportResultCode.SUCCESS };
  const why = first.error?.message ?? first.dropped ?? 'not queued';
  return {
    code: ExportResultCode.FAILED,
    error: new Error(
      `prometheus remote write: ${count} of ${requests.length} requests could not be queued: ${why}`,
    ),
  };
}

/** One result once delivered: the first failure says why, with how many requests it concerns. */
function deliveredResult(results: RequestResult[]): ExportResult {
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

function warnOversize(labels: readonly Label[], others: number, samples: number, bytes: number): void {
  diag.warn(
    `prometheus remote write: ${describe(labels)}${others > 0 ? ` (with ${others} more series of its histogram point)` : ''} ` +
      `has ${samples} samples, ${bytes} bytes: over maxSamplesPerSend or maxRequestBytes; sent in a request of its own`,
  );
}

/**
 * With several requests in flight, each series must always travel in the same shard, so that
 * its samples stay in order (RW1 §Ordering). The shard comes from the family and the labels
 * other than `__name__` and `le`, which all series of one histogram point share.
 */
function shardOf(s: TimeSeries, shards: number): number {
  if (s instanceof CachedSeries) return shardOfRecord(s.record, shards);
  return shardHashOfLabels(s.family, s.labels) % shards;
}

/** Computed once per record, from its encoded labels when it has them. */
function shardOfRecord(record: SeriesRecord, shards: number): number {
  return shardHashOf(record, shardHashOfRecord) % shards;
}

function shardHashOfRecord(record: SeriesRecord): number {
  return isEncoded(record)
    ? shardHashOfKey(record.family, keyOf(record))
    : shardHashOfLabels(record.family, labelsOf(record));
}

/** What translation left out, into the exporter's counters: nothing is dropped without a count. */
function countTranslation(stats: DeliveryStats, batch: SeriesBatch): void {
  if (batch.dropped) {
    for (const reason of ['malformed', 'unsupported', 'duplicate_series'] as const)
      stats.samplesDropped[reason] += batch.dropped[reason];
  }
  if (batch.attributesDropped) stats.attributesDropped += batch.attributesDropped;
}

/**
 * After this long, a slice of translation pauses at its next look at the budget (looks come every
 * 32 series or so, every 1,024 in the cheap loops): a block is this, the overrun to that look,
 * and whatever V8 collects meanwhile.
 */
const SLICE_MILLIS = 5;

/** Runs `f` after the event loop has had its turn (I/O, timers); setTimeout where there is no setImmediate. */
const later: (f: () => void) => void =
  typeof setImmediate === 'function' ? (f) => void setImmediate(f) : (f) => void setTimeout(f, 0);

/** Runs `f` in the event loop's next turn of timers (about 1 ms later). */
const afterTimers = (f: () => void): void => void setTimeout(f, 0);

/** The frames of an export to build once it is delivered, and their producer's state. */
interface LaterFrames {
  readonly state: TranslateState;
  readonly frames: readonly LaterFrame[];
}

interface Queued {
  readonly requests: QueuedRequest[];
  readonly failure?: Error;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

let announced = false;

/** Once per process, how bodies are compressed and sent (debug on Node, where it is the default). */
function announceRuntime(codec: SnappyCodec, transport: Transport): void {
  if (announced) return;
  announced = true;
  const line =
    `prometheus remote write: snappy compression ${codec.kind === 'native' ? 'native (snappy addon)' : 'in JavaScript (snappyjs)'}` +
    (codec.kind === 'js' && nativeSnappyProblem
      ? ` because the native addon cannot be loaded: ${nativeSnappyProblem}`
      : '') +
    `; requests sent with ${transport}`;
  if (codec.kind === 'native' && transport === 'node:http') diag.debug(line);
  else diag.info(line);
}
