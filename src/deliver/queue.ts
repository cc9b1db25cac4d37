/**
 * The delivery queue: requests wait here, go out one at a time per shard, are retried with
 * backoff within a time budget, and are dropped (counted, logged) when they cannot be delivered.
 *
 * Ordering (RW1 §Ordering): the exporter puts every series in the shard its label hash picks, and
 * a shard has at most one request in flight, retried in place before the next one starts. So the
 * samples of one series are never in flight twice and never overtake each other, even when an
 * export arrives while an earlier request is still being retried.
 *
 * Memory: the requests waiting (compressed bodies) are bounded by `capacity` samples; past it, the
 * oldest waiting requests are dropped, never the one in flight.
 *
 * Protocol negotiation (`auto`, RW2 §Content negotiation): the first requests go as 2.0, one at a
 * time; a 415, or a 2xx without any `X-Prometheus-Remote-Write-*-Written` header (a 1.x receiver
 * that read the 2.0 body as an empty 1.0 request), switches to 1.0 for good and the same request
 * is re-sent as 1.0. A 2xx with those headers settles on 2.0.
 *
 * Knows nothing of OTel: requests arrive encoded and compressed.
 */
import { diag } from '@opentelemetry/api';
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
}

export interface DeliveryOptions {
  readonly sender: Sender;
  readonly protocol: ProtocolMode;
  readonly shards: number;
  /** Samples waiting or in flight, at most. */
  readonly capacity: number;
  readonly minBackoffMillis: number;
  readonly maxBackoffMillis: number;
  /** From a request's first attempt; no retry starts after it. */
  readonly maxRetryElapsedMillis: number;
  /** `close()` gives the queue this long; what is left is spooled or dropped. */
  readonly shutdownTimeoutMillis: number;
  readonly stats: DeliveryStats;
  readonly spool?: Spool;
  readonly now?: () => number;
  readonly random?: () => number;
}

interface Entry {
  readonly seq: number;
  samples: number;
  histograms: number;
  protocol: WireProtocol;
  body: Buffer | undefined;
  reencodeV1: (() => Buffer) | undefined;
  /** A request read back from the spool: body loaded when its turn comes. */
  readonly spoolEntry?: SpoolEntry;
  readonly settle: (result: RequestResult) => void;
}

export class DeliveryQueue {
  private readonly queues: Entry[][];
  private readonly running: boolean[];
  private readonly inFlight: (Entry | undefined)[];
  private readonly now: () => number;
  private seq = 0;
  private protocolNow: WireProtocol;
  private settled: boolean;
  /** Held by the single request allowed out while the protocol is being negotiated. */
  private negotiating: Promise<void> | undefined;
  /** Requests read from the spool go before anything else, in every shard. */
  private backlog: Promise<void> = Promise.resolve();
  private idleWaiters: (() => void)[] = [];
  private closing = false;
  private deadline = Infinity;
  private readonly abort = new AbortController();

  constructor(private readonly options: DeliveryOptions) {
    this.queues = Array.from({ length: options.shards }, () => []);
    this.running = new Array<boolean>(options.shards).fill(false);
    this.inFlight = new Array<Entry | undefined>(options.shards).fill(undefined);
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

  /** Queues one request on `shard`; resolves when it is delivered, dropped or spooled. */
  push(shard: number, request: OutgoingRequest): Promise<RequestResult> {
    if (this.closing) {
      return Promise.resolve({ delivered: false, error: plainError('the exporter is shutting down') });
    }
    return new Promise<RequestResult>((settle) => {
      this.queues[shard]!.push({
        seq: this.seq++,
        samples: request.samples,
        histograms: request.histograms,
        protocol: request.protocol,
        body: request.body,
        reencodeV1: request.reencodeV1,
        settle,
      });
      this.options.stats.samplesPending += request.samples;
      this.enforceCapacity(this.seq - 1);
      this.start(shard);
    });
  }

  /**
   * Puts the spool's requests first: they are sent before any new request of any shard, oldest
   * first. One that cannot be delivered within the retry budget stays on disk for the next start.
   */
  loadSpool(entries: readonly SpoolEntry[]): void {
    if (entries.length === 0) return;
    const results: Promise<RequestResult>[] = [];
    for (const spoolEntry of entries) {
      results.push(
        new Promise<RequestResult>((settle) =>
          this.queues[0]!.push({
            seq: this.seq++,
            samples: 0,
            histograms: 0,
            protocol: 'v1',
            body: undefined,
            reencodeV1: undefined,
            spoolEntry,
            settle,
          }),
        ),
      );
    }
    this.backlog = Promise.all(results).then((all) => {
      const sent = all.filter((r) => r.delivered).length;
      diag.info(
        `prometheus remote write: ${sent} of ${all.length} spooled requests from an earlier run delivered`,
      );
    });
    this.start(0);
  }

  /** Resolves when nothing waits and nothing is in flight. */
  drain(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Lets the queue work for at most `shutdownTimeoutMillis` more; then a request in flight is
   * aborted, and whatever is left is written to the spool, or dropped without one.
   */
  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      this.deadline = this.now() + this.options.shutdownTimeoutMillis;
      const timer = setTimeout(() => this.abort.abort(), this.options.shutdownTimeoutMillis);
      void this.drain().then(() => clearTimeout(timer));
    }
    await this.drain();
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
        if (!entry.spoolEntry) await this.backlog;
        this.inFlight[shard] = entry;
        try {
          await this.deliver(entry);
        } catch (err) {
          // A bug, or the spool failing to write: never leave the caller waiting.
          this.finish(entry, { delivered: false, error: asError(err), dropped: 'internal' });
          diag.error(`prometheus remote write: request lost: ${asError(err).message}`);
        }
        this.inFlight[shard] = undefined;
      }
    } finally {
      this.running[shard] = false;
      if (this.idle()) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  private async deliver(entry: Entry): Promise<void> {
    if (entry.spoolEntry && !this.loadFromSpool(entry)) return;
    const { stats } = this.options;
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
        if (retry > 0) stats.samplesRetried += entry.samples;
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
    entry.body = entry.reencodeV1();
    entry.protocol = 'v1';
    entry.reencodeV1 = undefined;
    return true;
  }

  private delivered(entry: Entry, answer: PostResult): void {
    const { stats } = this.options;
    const shortfall = writtenShortfall(entry, answer);
    if (shortfall > 0) {
      stats.samplesDropped.partial_write += shortfall;
      diag.warn(
        `prometheus remote write: the receiver answered HTTP ${answer.status} but wrote ${
          entry.samples - shortfall
        } of ${entry.samples} samples and histograms sent (X-Prometheus-Remote-Write-*-Written)`,
      );
    }
    stats.samplesSent += entry.samples - shortfall;
    if (entry.spoolEntry) this.options.spool?.remove(entry.spoolEntry);
    this.finish(entry, { delivered: true });
  }

  /** A 4xx other than 429: logged verbatim (at most 1 KB of body), this request only is dropped. */
  private rejected(entry: Entry, error: Error): void {
    this.options.stats.samplesDropped.rejected += entry.samples;
    diag.error(`${error.message} (${entry.samples} samples dropped; not retried)`);
    if (entry.spoolEntry) this.options.spool?.remove(entry.spoolEntry);
    this.finish(entry, { delivered: false, error, dropped: 'rejected' });
  }

  /**
   * Out of time (retry budget spent, or shutdown ending): to the spool when there is one, for
   * the next process started with it to send first; else dropped and counted.
   */
  private giveUp(entry: Entry, error: Error | undefined, reason: 'retries_exhausted' | 'shutdown'): void {
    const { stats, spool } = this.options;
    const why =
      reason === 'shutdown'
        ? `not delivered before shutdown ended (shutdownTimeoutMillis ${this.options.shutdownTimeoutMillis})`
        : `still failing after maxRetryElapsedMillis (${this.options.maxRetryElapsedMillis} ms)`;
    const last = error ? `; last error: ${error.message}` : '';
    if (entry.spoolEntry) {
      // Already on disk: left there for the next start.
      this.finish(entry, { delivered: false, error: plainError(`${why}${last}`) });
      return;
    }
    if (spool && entry.body) {
      spool.write(
        { protocol: entry.protocol, body: entry.body, samples: entry.samples, histograms: entry.histograms },
        this.now(),
      );
      stats.samplesSpooled += entry.samples;
      diag.warn(`prometheus remote write: ${entry.samples} samples ${why}; kept in ${spool.dir}${last}`);
      this.finish(entry, {
        delivered: false,
        error: plainError(`${why}; kept in the spool${last}`),
      });
      return;
    }
    stats.samplesDropped[reason] += entry.samples;
    const message = `prometheus remote write: ${entry.samples} samples dropped: ${why}${last}`;
    diag.error(message);
    this.finish(entry, {
      delivered: false,
      dropped: reason,
      error: error
        ? new RemoteWriteError(message, (error as RemoteWriteError).status, undefined, { cause: error })
        : plainError(message),
    });
  }

  private loadFromSpool(entry: Entry): boolean {
    const request = this.options.spool?.read(entry.spoolEntry!);
    if (!request) {
      this.finish(entry, { delivered: false });
      return false;
    }
    entry.body = request.body;
    entry.protocol = request.protocol;
    entry.samples = request.samples + request.histograms;
    entry.histograms = request.histograms;
    this.options.stats.samplesPending += entry.samples;
    return true;
  }

  /**
   * The oldest waiting requests go while over capacity. Never the one in flight, nor the one just
   * pushed (`newest`): the newest data of a cumulative series is the one worth keeping.
   */
  private enforceCapacity(newest: number): void {
    const { stats } = this.options;
    while (stats.samplesPending > this.options.capacity) {
      let oldest: { shard: number; entry: Entry } | undefined;
      this.queues.forEach((queue, shard) => {
        const head = queue.find((e) => !e.spoolEntry);
        if (head && head.seq !== newest && (!oldest || head.seq < oldest.entry.seq))
          oldest = { shard, entry: head };
      });
      if (!oldest) return;
      const queue = this.queues[oldest.shard]!;
      queue.splice(queue.indexOf(oldest.entry), 1);
      stats.samplesDropped.queue_full += oldest.entry.samples;
      const message =
        `prometheus remote write: ${oldest.entry.samples} samples dropped: the queue is over queueCapacity ` +
        `(${this.options.capacity} samples) while the receiver is slow or down`;
      diag.warn(message);
      this.finish(oldest.entry, { delivered: false, dropped: 'queue_full', error: plainError(message) });
    }
  }

  private finish(entry: Entry, result: RequestResult): void {
    this.options.stats.samplesPending -= entry.samples;
    entry.body = undefined;
    entry.reencodeV1 = undefined;
    entry.settle(result);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.abort.signal;
      if (signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
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
