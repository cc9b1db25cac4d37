/**
 * What delivery tells the user through `diag`, summed up so that an outage is a few lines and not
 * one per request: events are gathered and said at most once per export (`tick`), as one line
 * saying what failed, was retried, spooled or dropped and why; one line when delivery recovers;
 * one line when a backlog builds up. A receiver's refusal (4xx) is quoted verbatim, as the
 * remote-write specification asks (RW1 §Retries & Backoff: log the error as is).
 * Knows nothing of OTel data.
 */
import { diag } from '@opentelemetry/api';
import type { DropReason } from './stats.js';

/** A request waits this long before the backlog is reported: a healthy queue never gets near it. */
export const BACKLOG_WARN_AFTER_MS = 10_000;

export class DeliveryLog {
  private failedRequests = 0;
  private lastFailure: string | undefined;
  private retriedSamples = 0;
  private spooledSamples = 0;
  private spoolDir: string | undefined;
  private readonly dropped = new Map<DropReason, number>();
  private firstDropError: string | undefined;
  private dropErrors = 0;
  /** Since when requests fail without one delivered (undefined: healthy). */
  private failingSince: number | undefined;
  private outageFailures = 0;
  private backlogWarned = false;

  constructor(private readonly now: () => number = Date.now) {}

  /** An attempt that failed in a way worth retrying (5xx, 429, network, timeout). */
  failedAttempt(error: Error): void {
    this.failedRequests++;
    this.outageFailures++;
    this.lastFailure = error.message;
    this.failingSince ??= this.now();
  }

  retried(samples: number): void {
    this.retriedSamples += samples;
  }

  spooled(samples: number, dir: string): void {
    this.spooledSamples += samples;
    this.spoolDir = dir;
  }

  /** Samples given up on; `error` is the reason as it should be read (verbatim receiver text). */
  drop(reason: DropReason, samples: number, error?: string): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + samples);
    if (error === undefined) return;
    this.dropErrors++;
    this.firstDropError ??= error;
  }

  /** A request was accepted. After failures, says once that delivery works again. */
  delivered(): void {
    if (this.failingSince === undefined) return;
    const seconds = ((this.now() - this.failingSince) / 1000).toFixed(1);
    diag.warn(
      `prometheus remote write: delivery recovered after ${seconds} s (${this.outageFailures} failed attempts)`,
    );
    this.failingSince = undefined;
    this.outageFailures = 0;
  }

  /**
   * Called at each export (and at flush and shutdown): says what happened since the last call,
   * in one line, and whether requests wait for long. `waiting` is what the queue holds now.
   */
  tick(waiting: { requests: number; samples: number; oldestMs: number | undefined }): void {
    const parts: string[] = [];
    if (this.failedRequests > 0) {
      parts.push(`${this.failedRequests} attempts failed (last: ${this.lastFailure})`);
    }
    if (this.retriedSamples > 0) parts.push(`${this.retriedSamples} samples retried`);
    if (this.spooledSamples > 0) parts.push(`${this.spooledSamples} samples kept in ${this.spoolDir}`);
    let droppedTotal = 0;
    if (this.dropped.size > 0) {
      const reasons = [...this.dropped].map(([reason, n]) => {
        droppedTotal += n;
        return `${reason} ${n}`;
      });
      let text = `${droppedTotal} samples dropped (${reasons.join(', ')})`;
      if (this.firstDropError !== undefined) {
        const others = this.dropErrors > 1 ? ` and ${this.dropErrors - 1} more` : '';
        text += `: ${this.firstDropError}${others}`;
      }
      parts.push(text);
    }
    if (parts.length > 0) {
      const line = `prometheus remote write: since the last export, ${parts.join('; ')}`;
      if (droppedTotal > 0) diag.error(line);
      else diag.warn(line);
    }
    this.reset();

    const oldest = waiting.oldestMs;
    if (oldest === undefined || waiting.requests === 0) {
      this.backlogWarned = false;
    } else if (!this.backlogWarned && this.now() - oldest >= BACKLOG_WARN_AFTER_MS) {
      this.backlogWarned = true;
      diag.warn(
        `prometheus remote write: delivery is behind: ${waiting.requests} requests (${waiting.samples} samples) ` +
          `waiting, the oldest for ${((this.now() - oldest) / 1000).toFixed(1)} s; the receiver takes them ` +
          'slower than they come (raise maxConcurrentRequests, or check the receiver)',
      );
    }
  }

  private reset(): void {
    this.failedRequests = 0;
    this.lastFailure = undefined;
    this.retriedSamples = 0;
    this.spooledSamples = 0;
    this.dropped.clear();
    this.firstDropError = undefined;
    this.dropErrors = 0;
  }
}
