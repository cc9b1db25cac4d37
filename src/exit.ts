/**
 * Flush at process exit. A cron job or script often ends without calling `shutdown()`, and a
 * pushed metric recorded in its last seconds would be lost. This runs `shutdown()` once, with a
 * bounded wait, when the process is about to end, and says on stderr what was not delivered.
 *
 * The exit deadline reaches every exporter of the process (`exitParticipants`), whatever the
 * target is: a `MeterProvider`'s reader calls the exporter's `forceFlush()` before its
 * `shutdown()`, and each of those waits could otherwise use up the whole budget. With the deadline,
 * every wait ends in time for what is left to be written to the spool before the process ends.
 */
import { diag } from '@opentelemetry/api';

export interface Shutdownable {
  shutdown(): Promise<void>;
}

export interface FlushOnExitOptions {
  /** Longest wait for `shutdown()` before the process is let go. Default 10000. */
  timeoutMillis?: number;
  /** Signals that trigger the flush. Default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
  /**
   * Print one line to stderr when samples were lost during the run or are left in the spool.
   * Default true: a script must not lose metrics silently.
   */
  report?: boolean;
}

/** What an exporter says of itself at exit. */
export interface ExitReport {
  /** Samples given up on during the run, by reason. */
  readonly lost: Readonly<Record<string, number>>;
  /** Samples left in the spool, and where. */
  readonly inSpool: number;
  readonly spoolDir: string | undefined;
}

/** An exporter, as the exit flush sees it. */
export interface ExitParticipant {
  setExitDeadline(atMs: number): void;
  exitReport(): ExitReport;
}

/**
 * The exporters of this process, held weakly (an exporter that is dropped is not kept alive).
 * On `globalThis`, so that the ESM and CommonJS builds of this package, loaded side by side,
 * share it.
 */
const REGISTRY = Symbol.for('opentelemetry-exporter-prometheus-remote-write.exit');
interface Registry {
  participants: Set<WeakRef<ExitParticipant>>;
  deadline: number;
}
function registry(): Registry {
  const holder = globalThis as unknown as Record<symbol, Registry | undefined>;
  return (holder[REGISTRY] ??= { participants: new Set(), deadline: Infinity });
}

/** Called by each exporter at construction; it learns the exit deadline at once if already set. */
export function joinExit(participant: ExitParticipant): void {
  const r = registry();
  r.participants.add(new WeakRef(participant));
  if (r.deadline !== Infinity) participant.setExitDeadline(r.deadline);
}

function eachParticipant(f: (p: ExitParticipant) => void): void {
  const r = registry();
  for (const ref of r.participants) {
    const p = ref.deref();
    if (p === undefined) r.participants.delete(ref);
    else f(p);
  }
}

/** Time kept at the end of the exit budget for writing the spool and ending the process. */
function reserveFor(timeoutMillis: number): number {
  return Math.min(500, timeoutMillis / 10);
}

/**
 * On `beforeExit` (the event loop ran dry) and on each signal, calls `target.shutdown()` once.
 * After a signal, once the flush is done (or timed out), the signal is raised again with this
 * handler removed, so the process ends as the signal says (exit status 128+n) — unless the
 * application has its own handler for that signal, which then decides. After `beforeExit`, a
 * flush that timed out ends the process with its exit code (work left behind must not keep it).
 * Returns a function that removes the handlers.
 */
export function flushOnExit(target: Shutdownable, options: FlushOnExitOptions = {}): () => void {
  const timeoutMillis = options.timeoutMillis ?? 10_000;
  if (!Number.isFinite(timeoutMillis) || timeoutMillis <= 0) {
    throw new Error(
      `flushOnExit: option "timeoutMillis" must be a positive number of milliseconds, got ${timeoutMillis}`,
    );
  }
  const report = options.report ?? true;
  if (typeof report !== 'boolean') {
    throw new Error(`flushOnExit: option "report" must be true or false, got ${String(report)}`);
  }
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  // A runtime without process events (a Worker: nothing exits, each request flushes itself).
  if (typeof globalThis.process?.on !== 'function') return () => undefined;
  let flushing: Promise<boolean> | undefined;

  /** Resolves true when shutdown finished in time, false when the timeout ended the wait. */
  const flush = (): Promise<boolean> => {
    flushing ??= new Promise<boolean>((resolve) => {
      const started = Date.now();
      const r = registry();
      r.deadline = Math.min(r.deadline, started + timeoutMillis - reserveFor(timeoutMillis));
      eachParticipant((p) => p.setExitDeadline(r.deadline));
      const timer = setTimeout(() => {
        diag.warn(`flushOnExit: shutdown did not finish within ${timeoutMillis} ms; exiting anyway`);
        if (report) reportLosses();
        resolve(false);
      }, timeoutMillis);
      Promise.resolve()
        .then(() => target.shutdown())
        .catch((err: unknown) =>
          diag.error(`flushOnExit: shutdown failed: ${err instanceof Error ? err.message : String(err)}`),
        )
        .finally(() => {
          clearTimeout(timer);
          if (report) reportLosses();
          resolve(true);
        });
    });
    return flushing;
  };

  const onBeforeExit = (): void => {
    // beforeExit fires again after the flush's own work drains; flushing once is enough.
    void flush().then((inTime) => {
      if (!inTime) process.exit();
    });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    void flush().then(() => {
      remove();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  };

  process.on('beforeExit', onBeforeExit);
  for (const s of signals) process.on(s, onSignal);

  function remove(): void {
    process.off('beforeExit', onBeforeExit);
    for (const s of signals) process.off(s, onSignal);
  }
  return remove;
}

let reported = false;

/** One line on stderr, once per process, when samples were lost or are left in a spool. */
function reportLosses(): void {
  if (reported) return;
  const lost = new Map<string, number>();
  const spools = new Map<string, number>();
  eachParticipant((p) => {
    const r = p.exitReport();
    for (const [reason, n] of Object.entries(r.lost))
      if (n > 0) lost.set(reason, (lost.get(reason) ?? 0) + n);
    if (r.inSpool > 0 && r.spoolDir !== undefined)
      spools.set(r.spoolDir, (spools.get(r.spoolDir) ?? 0) + r.inSpool);
  });
  const line = exitLine(lost, spools);
  if (line === undefined) return;
  reported = true;
  process.stderr.write(`${line}\n`);
}

/** The at-exit line, or undefined when there is nothing to say. */
export function exitLine(lost: Map<string, number>, spools: Map<string, number>): string | undefined {
  const parts: string[] = [];
  let lostTotal = 0;
  for (const n of lost.values()) lostTotal += n;
  if (lostTotal > 0) {
    const reasons = [...lost].map(([reason, n]) => `${reason} ${n}`).join(', ');
    parts.push(`${lostTotal} samples were lost during this run (${reasons})`);
  }
  for (const [dir, n] of spools) {
    parts.push(
      `${n} samples are kept in ${dir} and will be sent by the next process started with this spoolDir`,
    );
  }
  if (parts.length === 0) return undefined;
  return `prometheus remote write at exit: ${parts.join('; ')}`;
}
