/**
 * Flush at process exit. A cron job or script often ends without calling `shutdown()`, and a
 * pushed metric recorded in its last seconds would be lost. This runs `shutdown()` once, with a
 * bounded wait, when the process is about to end.
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
}

/**
 * On `beforeExit` (the event loop ran dry) and on each signal, calls `target.shutdown()` once.
 * After a signal, once the flush is done (or timed out), the signal is raised again with this
 * handler removed, so the process ends as the signal says (exit status 128+n) — unless the
 * application has its own handler for that signal, which then decides.
 * Returns a function that removes the handlers.
 */
export function flushOnExit(target: Shutdownable, options: FlushOnExitOptions = {}): () => void {
  const timeoutMillis = options.timeoutMillis ?? 10_000;
  if (!Number.isFinite(timeoutMillis) || timeoutMillis <= 0) {
    throw new Error(
      `flushOnExit: option "timeoutMillis" must be a positive number of milliseconds, got ${timeoutMillis}`,
    );
  }
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  let flushing: Promise<void> | undefined;

  const flush = (): Promise<void> => {
    flushing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        diag.warn(`flushOnExit: shutdown did not finish within ${timeoutMillis} ms; exiting anyway`);
        resolve();
      }, timeoutMillis);
      Promise.resolve()
        .then(() => target.shutdown())
        .catch((err: unknown) =>
          diag.error(`flushOnExit: shutdown failed: ${err instanceof Error ? err.message : String(err)}`),
        )
        .finally(() => {
          clearTimeout(timer);
          resolve();
        });
    });
    return flushing;
  };

  const onBeforeExit = (): void => {
    // beforeExit fires again after the flush's own work drains; flushing once is enough.
    void flush();
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
