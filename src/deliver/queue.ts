/**
 * The delivery queue: requests wait here, go out one at a time per shard, are retried with
 * backoff within a time budget, and are given up on (counted, logged) when they cannot be
 * delivered. Pushing never waits for the receiver: the exporter's collection cadence does not
 * depend on the receiver's health.
 *
 * Ordering (RW1 §Ordering): the exporter puts every series in the shard its label hash picks, and
 * a shard has at most one request in flight, retried in place before the next one starts. So the
 * samples of one series are never in flight twice and never overtake each other, even when an
 * export arrives while an earlier request is still being retried.
 *
 * Memory: the compressed bodies held in memory are bounded by `maxBytes` (and, if set, by
 * `maxSamples`). Past it, the oldest waiting requests go to the spool, or without one are
 * dropped; never the one in flight nor the newest.
 *
 * Crash safety, with a spool: a request whose first attempt failed is written to disk before it
 * is retried, and so is every request that has to wait behind it; each is deleted once delivered.
 * A killed process loses at most what was in memory while the receiver was answering.
 *
 * Deadlines: `drain(until)` (forceFlush) and `close()` (shutdown) end by their deadline whatever
 * the receiver does, and both also end by the process-exit deadline (`setExitDeadline`), so that
 * what is left reaches the spool before a process that is exiting ends. No timer of the queue
 * keeps a process alive.
 *
 * Protocol negotiation (`auto`, RW2 §Content negotiation): the first requests go as 2.0, one at a
 * time; a 415, or a 2xx without any `X-Prometheus-Remote-Write-*-Written` header (a 1.x receiver
 * that read the 2.0 body as an empty 1.0 request), switches to 1.0 for good and the same request
 * is re-sent as 1.0. A 2xx with those headers settles on 2.0.
 *
 * Knows nothing of OTel: requests arrive encoded and compressed.
 */
import { diag } from '@opentelemetry/api';
import type { DeliveryLog } from './delivery-log.js';
import type { PostResult } from './http.js';
import { backoffDelay, classify } from './retry.js';
import { RemoteWriteError, type Sender, type WireProtocol } from './sender.js';
import type { Spool, SpoolEntry } from './spool.js';
import type { DeliveryStats, DropReason } from './stats.js';

export type ProtocolMode = 'v1' | 'v2' | 'auto';

/** One request, encoded and compressed. */
export interface OutgoingRequest {
  /** Samples plus native histograms. */
  readonly samples: number;
  readonly histograms: number;
  readonly protocol: WireProtocol;
  readonly body: Buffer;
  /** The same series encoded as RW 1.0 and compressed, for a fallback during negotiation. */
  readonly reencodeV1?: () => Buffer;
}

export interface RequestResult {
  readonly delivered: boolean;
  /** Why not, when not delivered (never holds credentials). */
  readonly error?: Error;
  readonly dropped?: DropReason;
  /** Not delivered, but kept in the spool for a later attempt or process. */
  readonly spooled?: boolean;
}

/** A pushed request: its final result, and whether it was already given up on (synchronously). */
export interface QueuedRequest {
  readonly result: Promise<RequestResult>;
  /** Set once the request is settled; set during `push` itself if it could not be queued. */
  readonly outcome: RequestResult | undefined;
}

export interface DeliveryOptions {
  readonly sender: Sender;
  readonly protocol: ProtocolMode;
  readonly shards: number;
  /** Compressed bytes held in memory (waiting or in flight), at most. */
  readonly maxBytes: number;
  /** Samples held in memory, at most (Infinity: no limit). */
  readonly maxSamples: number;
  readonly minBackoffMillis: number;
  readonly maxBackoffMillis: number;
  /** From a request's first attempt; no retry starts after it. */
  readonly maxRetryElapsedMillis: number;
  /** `close()` gives the queue this long; what is left is spooled or dropped. */
  readonly shutdownTimeoutMillis: number;
  readonly stats: DeliveryStats;
  readonly log: DeliveryLog;
  readonly spool?: Spool;
  readonly now?: () => number;
  readonly random?: () => number;
}

interface Entry extends QueuedRequest {
  readonly seq: number;
  readonly shard: number;
  samples: number;
  histograms: number;
  protocol: WireProtocol;
  /** In memory: the compressed body. Undefined while it is only on disk (`spooled`). */
  body: Buffer | undefined;
  reencodeV1: (() => Buffer) | undefined;
  /** On disk, in the spool. */
  spooled: SpoolEntry | undefined;
  /** Read from the spool at start: written by an earlier process. */
  readonly earlier: boolean;
  readonly enqueuedMs: number;
  outcome: RequestResult | undefined;
  readonly settle: (result: RequestResult) => void;
}

interface Waiter {
  readonly until: number;
  readonly resolve: (idle: boolean) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class DeliveryQueue {
  private readonly queues: Entry[][];
  private readonly running: boolean[];
  private readonly inFlight: (Entry | undefined)[];
  /** The shard's request in flight has failed at least once: what waits behind it goes to disk. */
  private readonly failing: boolean[];
  private readonly now: () => number;
  private seq = 0;
  /** Compressed bytes and samples of the bodies held in memory. */
  private memBytes = 0;
  private memSamples = 0;
  /** Spooled entries by file, so that a file the spool drops (size, age) leaves the queue too. */
  private readonly byPath = new Map<string, Entry>();
  private protocolNow: WireProtocol;
  private settled: boolean;
  /** Held by the single request allowed out while the protocol is being negotiated. */
  private negotiating: Promise<void> | undefined;
  /** Requests read from the spool go before anything else, in every shard. */
  private backlog: Promise<void> = Promise.resolve();
  private waiters: Waiter[] = [];
  private closing = false;
  private deadline = Infinity;
  private exitDeadline = Infinity;
  private abortTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly options: DeliveryOptions) {
    this.queues = Array.from({ length: options.shards }, () => []);
    this.running = new Array<boolean>(options.shards).fill(false);
    this.inFlight = new Array<Entry | undefined>(options.shards).fill(undefined);
    this.failing = new Array<boolean>(options.shards).fill(false);
    this.now = options.now ?? Date.now;
    this.protocolNow = options.protocol === 'v1' ? 'v1' : 'v2';
    this.settled = options.protocol !== 'auto';
  }

  /** The protocol new requests should be encoded in. */
  get protocol(): WireProtocol {
    return this.protocolNow;
  }

  /** False while `auto` has not yet heard a receiver's answer to 2.0: requests need a 1.0 fallback. */
  get protocolSettled(): boolean {
    return this.settled;
  }

  /**
   * Queues one request on `shard` and returns at once. Its `result` settles when it is
   * delivered, refused, or given up on (dropped or left in the spool).
   */
  push(shard: number, request: OutgoingRequest): QueuedRequest {
    if (this.closing) {
      const outcome: RequestResult = {
        delivered: false,
        dropped: 'shutdown',
        error: plainError('the exporter is shutting down'),
      };
      this.options.stats.samplesDropped.shutdown += request.samples;
      this.options.log.drop('shutdown', request.samples);
      return { result: Promise.resolve(outcome), outcome };
    }
    const entry = this.entry(shard, request.samples, request.histograms, false, (e) => {
      e.protocol = request.protocol;
      e.body = request.body;
      e.reencodeV1 = request.reencodeV1;
    });
    this.queues[shard]!.push(entry);
    this.hold(entry);
    this.options.stats.samplesPending += entry.samples;
    // Behind a request that is failing: on disk at once, so that a crash does not lose it.
    if (this.failing[shard]) this.toDisk(entry);
    this.enforceCapacity(entry);
    this.start(shard);
    return entry;
  }

  /**
   * Puts the spool's requests first: they are sent before any new request of any shard, oldest
   * first. One that cannot be delivered within the retry budget stays on disk for the next start.
   */
  loadSpool(files: readonly SpoolEntry[]): void {
    if (files.length === 0) return;
    const results: Promise<RequestResult>[] = [];
    for (const file of files) {
      const entry = this.entry(0, file.samples, 0, true, (e) => {
        e.spooled = file;
      });
      this.byPath.set(file.path, entry);
      this.options.stats.samplesPending += entry.samples;
      this.options.stats.samplesInSpool += entry.samples;
      this.queues[0]!.push(entry);
      results.push(entry.result);
    }
    this.backlog = Promise.all(results).then((all) => {
      const sent = all.filter((r) => r.delivered).length;
      diag.info(
        `prometheus remote write: ${sent} of ${all.length} spooled requests from an earlier run delivered`,
      );
    });
    this.start(0);
  }

  /**
   * Resolves true when nothing waits and nothing is in flight, or false at `untilMs` (or at the
   * process-exit deadline, if earlier) with the rest still queued.
   */
  drain(untilMs = Infinity): Promise<boolean> {
    if (this.idle()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter: Waiter = { until: untilMs, resolve, timer: undefined };
      this.waiters.push(waiter);
      this.arm(waiter);
    });
  }

  /**
   * Lets the queue work until `shutdownTimeoutMillis` from now (or the process-exit deadline, if
   * earlier); then a request in flight is aborted, and whatever is left is written to the spool,
   * or dropped without one.
   */
  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      this.deadline = Math.min(this.now() + this.options.shutdownTimeoutMillis, this.exitDeadline);
      this.armAbort();
    }
    if (await this.drain(this.deadline + 1000)) return;
    // Not reached in practice: after the abort every request settles at once. The last word on "ends".
    this.giveUpAll();
  }

  /** The process is exiting and must be done by `atMs`: every wait of the queue ends by then. */
  setExitDeadline(atMs: number): void {
    if (atMs >= this.exitDeadline) return;
    this.exitDeadline = atMs;
    for (const waiter of this.waiters) this.arm(waiter);
    if (this.closing && atMs < this.deadline) {
      this.deadline = atMs;
      this.armAbort();
    }
  }

  /** What waits now, for the backlog report: requests, samples, and since when the oldest waits. */
  waiting(): { requests: number; samples: number; oldestMs: number | undefined } {
    let requests = 0;
    let oldestMs: number | undefined;
    const consider = (e: Entry | undefined): void => {
      if (e === undefined || e.earlier) return;
      if (oldestMs === undefined || e.enqueuedMs < oldestMs) oldestMs = e.enqueuedMs;
    };
    for (let shard = 0; shard < this.queues.length; shard++) {
      const queue = this.queues[shard]!;
      requests += queue.length;
      consider(this.inFlight[shard]);
      consider(queue.find((e) => !e.earlier));
    }
    return { requests, samples: this.options.stats.samplesPending, oldestMs };
  }

  /**
   * The spool removed a file (over its size or age, or unreadable): counted and reported, and
   * that request leaves the queue.
   */
  spoolDropped(path: string, reason: DropReason, samples: number, detail: string): void {
    this.options.stats.samplesDropped[reason] += samples;
    this.options.log.drop(reason, samples, detail);
    const entry = this.byPath.get(path);
    if (entry === undefined) return;
    this.byPath.delete(path);
    entry.spooled = undefined;
    this.options.stats.samplesInSpool -= entry.samples;
    if (entry.body !== undefined || entry.outcome !== undefined) return; // still in memory, or done
    const queue = this.queues[entry.shard]!;
    const at = queue.indexOf(entry);
    if (at >= 0) queue.splice(at, 1);
    this.finish(entry, {
      delivered: false,
      dropped: reason,
      error: plainError(`removed from the spool (${reason})`),
    });
    this.wakeIfIdle();
  }

  private entry(
    shard: number,
    samples: number,
    histograms: number,
    earlier: boolean,
    fill: (e: Entry) => void,
  ): Entry {
    let settle!: (result: RequestResult) => void;
    const result = new Promise<RequestResult>((resolve) => (settle = resolve));
    const entry: Entry = {
      seq: this.seq++,
      shard,
      samples,
      histograms,
      protocol: 'v1',
      body: undefined,
      reencodeV1: undefined,
      spooled: undefined,
      earlier,
      enqueuedMs: this.now(),
      outcome: undefined,
      result,
      settle,
    };
    fill(entry);
    return entry;
  }

  private idle(): boolean {
    return this.running.every((r) => !r);
  }

  private start(shard: number): void {
    if (this.running[shard]) return;
    this.running[shard] = true;
    void this.run(shard);
  }

  private async run(shard: number): Promise<void> {
    const queue = this.queues[shard]!;
    try {
      for (let entry = queue.shift(); entry; entry = queue.shift()) {
        if (!entry.earlier) await this.backlog;
        this.inFlight[shard] = entry;
        try {
          await this.deliver(entry);
        } catch (err) {
          // A bug: never leave the caller waiting.
          if (entry.outcome === undefined) {
            this.options.stats.samplesDropped.internal += entry.samples;
            this.options.log.drop('internal', entry.samples, asError(err).message);
            this.finish(entry, { delivered: false, error: asError(err), dropped: 'internal' });
          }
        }
        this.inFlight[shard] = undefined;
      }
    } finally {
      this.running[shard] = false;
      this.wakeIfIdle();
    }
  }

  private wakeIfIdle(): void {
    if (!this.idle()) return;
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.resolve(true);
    }
  }

  private async deliver(entry: Entry): Promise<void> {
    if (entry.outcome !== undefined) return; // dropped while it waited
    if (entry.body === undefined && !this.load(entry)) return;
    const { stats, log } = this.options;
    const firstAttempt = this.now();
    let retry = 0;
    let lastError: Error | undefined;
    for (;;) {
      if (this.closing && this.now() >= this.deadline) return this.giveUp(entry, lastError, 'shutdown');
      if (entry.protocol === 'v2' && this.protocolNow === 'v1') this.toV1(entry);

      const release = await this.enterNegotiation();
      let answer: PostResult | RemoteWriteError;
      try {
        answer = await this.options.sender.attempt(entry.body!, entry.protocol, retry, this.abort.signal);
        stats.requestsSent++;
        if (retry > 0) {
          stats.samplesRetried += entry.samples;
          log.retried(entry.samples);
        }
        if (!(answer instanceof Error) && this.negotiate(entry, answer)) {
          stats.requestsFailed++;
          continue; // re-sent at once as 1.0: not a retry of a failure
        }
      } finally {
        release();
      }

      const verdict = classify(answer, this.now());
      if (verdict.kind === 'success') {
        const result = answer as PostResult;
        if (entry.protocol === 'v2' && !hasWrittenHeaders(result)) {
          // RW2 §Response: a 2xx without Written headers is a receiver that did not understand 2.0.
          stats.requestsFailed++;
          return this.rejected(
            entry,
            new RemoteWriteError(
              `remote write to ${this.options.sender.target} failed: HTTP ${result.status} without ` +
                'X-Prometheus-Remote-Write-*-Written headers: the receiver does not understand Remote-Write 2.0 ' +
                '(use protocol "v1" or "auto")',
              result.status,
            ),
          );
        }
        return this.delivered(entry, result);
      }
      stats.requestsFailed++;
      stats.samplesFailed += entry.samples;
      const error = answer instanceof Error ? answer : this.options.sender.httpError(answer);
      lastError = error;
      if (verdict.kind === 'permanent') return this.rejected(entry, error);

      log.failedAttempt(error);
      if (!this.failing[entry.shard]) {
        // Crash safety: this request and all that wait behind it go to disk before any retry.
        this.failing[entry.shard] = true;
        this.toDisk(entry);
        for (const waiting of this.queues[entry.shard]!) this.toDisk(waiting);
      }

      const delay =
        verdict.retryAfterMs ??
        backoffDelay(
          retry + 1,
          this.options.minBackoffMillis,
          this.options.maxBackoffMillis,
          this.options.random,
        );
      const budgetEnd = firstAttempt + this.options.maxRetryElapsedMillis;
      if (this.now() + delay > Math.min(budgetEnd, this.deadline)) {
        const reason: DropReason = this.now() + delay > budgetEnd ? 'retries_exhausted' : 'shutdown';
        return this.giveUp(entry, error, reason);
      }
      diag.debug(`prometheus remote write: retry ${retry + 1} in ${delay} ms after: ${error.message}`);
      await this.sleep(delay);
      retry++;
    }
  }

  /** Only one request is out while `auto` waits for its first answer to 2.0. */
  private async enterNegotiation(): Promise<() => void> {
    while (!this.settled && this.negotiating) await this.negotiating;
    if (this.settled) return () => {};
    let release!: () => void;
    this.negotiating = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.negotiating = undefined;
      release();
    };
  }

  /** True when the answer means "send this again as 1.0" (and switches for good). */
  private negotiate(entry: Entry, answer: PostResult): boolean {
    if (this.settled || entry.protocol !== 'v2') return false;
    const ok = answer.status >= 200 && answer.status < 300;
    if (ok && hasWrittenHeaders(answer)) {
      this.settled = true;
      diag.info('prometheus remote write: the receiver accepts Remote-Write 2.0');
      return false;
    }
    if (answer.status !== 415 && !ok) return false;
    this.protocolNow = 'v1';
    this.settled = true;
    diag.info(
      `prometheus remote write: the receiver does not accept Remote-Write 2.0 (${
        ok ? `HTTP ${answer.status} without X-Prometheus-Remote-Write-*-Written headers` : 'HTTP 415'
      }); using 1.0 from now on`,
    );
    return this.toV1(entry);
  }

  /** False when the request cannot be re-encoded (a spooled 2.0 body has no series left). */
  private toV1(entry: Entry): boolean {
    if (!entry.reencodeV1) return false;
    this.setBody(entry, entry.reencodeV1());
    entry.protocol = 'v1';
    entry.reencodeV1 = undefined;
    return true;
  }

  private delivered(entry: Entry, answer: PostResult): void {
    const { stats, log } = this.options;
    this.failing[entry.shard] = false;
    log.delivered();
    const shortfall = writtenShortfall(entry, answer);
    if (shortfall > 0) {
      stats.samplesDropped.partial_write += shortfall;
      log.drop(
        'partial_write',
        shortfall,
        `the receiver answered HTTP ${answer.status} but wrote ${entry.samples - shortfall} of ${entry.samples} ` +
          'samples and histograms sent (X-Prometheus-Remote-Write-*-Written)',
      );
    }
    stats.samplesSent += entry.samples - shortfall;
    this.unspool(entry);
    this.finish(entry, { delivered: true });
  }

  /** A 4xx other than 429: logged verbatim (at most 1 KB of body), this request only is dropped. */
  private rejected(entry: Entry, error: Error): void {
    // The receiver answered: whatever waits behind this request can be sent.
    this.failing[entry.shard] = false;
    this.options.stats.samplesDropped.rejected += entry.samples;
    this.options.log.drop('rejected', entry.samples, `${error.message} (not retried)`);
    this.unspool(entry);
    this.finish(entry, { delivered: false, error, dropped: 'rejected' });
  }

  /**
   * Out of time (retry budget spent, or shutdown ending): kept in the spool when there is one,
   * for the next process started with it to send first; else dropped and counted.
   */
  private giveUp(entry: Entry, error: Error | undefined, reason: 'retries_exhausted' | 'shutdown'): void {
    const { stats, spool, log } = this.options;
    const why =
      reason === 'shutdown'
        ? `not delivered before shutdown ended (shutdownTimeoutMillis ${this.options.shutdownTimeoutMillis})`
        : `still failing after maxRetryElapsedMillis (${this.options.maxRetryElapsedMillis} ms)`;
    const last = error ? `; last error: ${error.message}` : '';
    if (spool && !entry.spooled && entry.body) this.write(entry);
    if (entry.spooled) {
      // On disk: left there for the next start (deleted there once delivered).
      this.finish(entry, {
        delivered: false,
        spooled: true,
        error: plainError(`${why}; kept in the spool ${spool?.dir ?? ''}${last}`),
      });
      return;
    }
    stats.samplesDropped[reason] += entry.samples;
    const message = `prometheus remote write: ${entry.samples} samples dropped: ${why}${last}`;
    log.drop(reason, entry.samples);
    this.finish(entry, {
      delivered: false,
      dropped: reason,
      error: error
        ? new RemoteWriteError(message, (error as RemoteWriteError).status, undefined, { cause: error })
        : plainError(message),
    });
  }

  /** Everything still queued gives up now (the last resort of `close`). */
  private giveUpAll(): void {
    for (const queue of this.queues) {
      for (const entry of queue.splice(0)) this.giveUp(entry, undefined, 'shutdown');
    }
  }

  /** Reads a spooled body back into memory; false when the file is gone or unreadable. */
  private load(entry: Entry): boolean {
    const file = entry.spooled;
    const request = file ? this.options.spool?.read(file) : undefined;
    if (!request) {
      // Unreadable files were reported by the spool (spoolDropped); a file that is gone was sent
      // by another process sharing the directory.
      if (entry.outcome === undefined) {
        if (file) this.byPath.delete(file.path);
        entry.spooled = undefined;
        this.options.stats.samplesInSpool -= entry.samples;
        this.finish(entry, { delivered: false });
      }
      return false;
    }
    entry.protocol = request.protocol;
    entry.samples = request.samples + request.histograms;
    entry.histograms = request.histograms;
    this.setBody(entry, request.body);
    return true;
  }

  /**
   * Writes the request to the spool, if there is one and it is not there yet. A request that
   * waits then leaves memory (read back when its turn comes); the one in flight keeps its body.
   */
  private toDisk(entry: Entry): void {
    if (!this.options.spool || entry.outcome !== undefined) return;
    if (!entry.spooled && entry.body) {
      // Until `auto` has settled, what goes to disk is 1.0, which every receiver reads.
      if (entry.reencodeV1) this.toV1(entry);
      if (!this.write(entry)) return;
    }
    if (entry.spooled && this.inFlight[entry.shard] !== entry) this.setBody(entry, undefined);
  }

  private write(entry: Entry): boolean {
    const { spool, stats, log } = this.options;
    if (!spool || !entry.body) return false;
    try {
      entry.spooled = spool.write(
        { protocol: entry.protocol, body: entry.body, samples: entry.samples, histograms: entry.histograms },
        this.now(),
      );
    } catch (err) {
      diag.error(`prometheus remote write: cannot write to the spool ${spool.dir}: ${asError(err).message}`);
      return false;
    }
    entry.reencodeV1 = undefined;
    this.byPath.set(entry.spooled.path, entry);
    stats.samplesSpooled += entry.samples;
    stats.samplesInSpool += entry.samples;
    log.spooled(entry.samples, spool.dir);
    return true;
  }

  /** Delivered or refused: its spool file, if any, is deleted. */
  private unspool(entry: Entry): void {
    const file = entry.spooled;
    if (!file) return;
    entry.spooled = undefined;
    this.byPath.delete(file.path);
    this.options.stats.samplesInSpool -= entry.samples;
    this.options.spool?.remove(file);
  }

  /** Counts a body in or out of the memory bound. */
  private setBody(entry: Entry, body: Buffer | undefined): void {
    if (entry.body) {
      this.memBytes -= entry.body.length;
      this.memSamples -= entry.samples;
    }
    entry.body = body;
    this.hold(entry);
    this.options.stats.bytesInMemory = this.memBytes;
  }

  private hold(entry: Entry): void {
    if (!entry.body) return;
    this.memBytes += entry.body.length;
    this.memSamples += entry.samples;
    this.options.stats.bytesInMemory = this.memBytes;
  }

  /**
   * While over the memory bounds, the oldest waiting request held in memory goes to the spool,
   * or without one is dropped. Never the one in flight, nor the one just pushed (`newest`): for
   * cumulative data the newest values are the ones worth keeping.
   */
  private enforceCapacity(newest: Entry): void {
    const { stats, log, maxBytes, maxSamples, spool } = this.options;
    while (this.memBytes > maxBytes || this.memSamples > maxSamples) {
      let oldest: Entry | undefined;
      for (const queue of this.queues) {
        const head = queue.find((e) => e.body !== undefined);
        if (head && head !== newest && (!oldest || head.seq < oldest.seq)) oldest = head;
      }
      if (!oldest) return;
      if (spool) {
        this.toDisk(oldest);
        if (oldest.body === undefined) continue;
      }
      const queue = this.queues[oldest.shard]!;
      queue.splice(queue.indexOf(oldest), 1);
      stats.samplesDropped.queue_full += oldest.samples;
      const message =
        `prometheus remote write: ${oldest.samples} samples dropped: the queue is over ` +
        `maxQueueBytes (${maxBytes} bytes)${Number.isFinite(maxSamples) ? ` or queueCapacity (${maxSamples} samples)` : ''} ` +
        'while the receiver is slow or down';
      log.drop('queue_full', oldest.samples);
      this.finish(oldest, { delivered: false, dropped: 'queue_full', error: plainError(message) });
    }
  }

  private finish(entry: Entry, result: RequestResult): void {
    this.options.stats.samplesPending -= entry.samples;
    this.setBody(entry, undefined);
    entry.reencodeV1 = undefined;
    entry.outcome = result;
    entry.settle(result);
  }

  /** (Re)arms a waiter's timer for the earlier of its own deadline and the exit deadline. */
  private arm(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    const at = Math.min(waiter.until, this.exitDeadline);
    if (at === Infinity) return;
    waiter.timer = setTimeout(
      () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        waiter.resolve(this.idle());
      },
      Math.max(0, at - this.now()),
    );
    waiter.timer.unref?.();
  }

  private armAbort(): void {
    clearTimeout(this.abortTimer);
    this.abortTimer = setTimeout(() => this.abort.abort(), Math.max(0, this.deadline - this.now()));
    this.abortTimer.unref?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.abort.signal;
      if (signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      // A retry never keeps the process alive by itself: flushOnExit or shutdown() decide.
      timer.unref?.();
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

const WRITTEN_HEADERS = [
  'x-prometheus-remote-write-samples-written',
  'x-prometheus-remote-write-histograms-written',
  'x-prometheus-remote-write-exemplars-written',
];

function hasWrittenHeaders(answer: PostResult): boolean {
  return WRITTEN_HEADERS.some((h) => answer.headers[h] !== undefined);
}

/** Samples and histograms the receiver says it did not write; 0 when it says nothing (RW2 §Response). */
function writtenShortfall(entry: Entry, answer: PostResult): number {
  if (!hasWrittenHeaders(answer)) return 0;
  const samples = headerInt(answer, 'x-prometheus-remote-write-samples-written');
  const histograms = headerInt(answer, 'x-prometheus-remote-write-histograms-written');
  const missing =
    Math.max(0, entry.samples - entry.histograms - samples) + Math.max(0, entry.histograms - histograms);
  return missing;
}

function headerInt(answer: PostResult, name: string): number {
  const raw = answer.headers[name];
  const n = Number(Array.isArray(raw) ? raw[0] : raw);
  return Number.isFinite(n) ? n : 0;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : plainError(String(err));
}

/**
 * An Error without a stack trace. These errors describe what happened to a request, not where
 * in the code; and an unformatted V8 stack keeps its frames' arguments (whole batches of series)
 * alive for as long as the error lives.
 */
function plainError(message: string): Error {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new Error(message);
  } finally {
    Error.stackTraceLimit = limit;
  }
}
