/**
 * What to do with an answer, in one place (RW1 §Retries & Backoff; spec-digest §1.5, §1.7):
 * - 2xx: delivered (200 and 204 alike; the body is ignored).
 * - 5xx, network errors, timeouts: retried with backoff.
 * - 429: retried, honouring `Retry-After`, within the same time budget as everything else
 *   (Mimir also answers 429 for limits that never lift, so an unbounded retry could loop forever).
 * - every other 4xx (400, 401, 403, 404, 409, 413, 415…): permanent; that request is dropped.
 * Knows nothing of metrics.
 */
import type { PostResult } from './http.js';
import { isPermanentTransportError } from './transport-errors.js';

export type Verdict =
  | { readonly kind: 'success' }
  | { readonly kind: 'retry'; readonly retryAfterMs?: number }
  | { readonly kind: 'permanent' };

export function classify(answer: PostResult | Error, nowMs: number): Verdict {
  // No answer: retried, unless the error or its cause says trying again cannot help
  // (RemoteWriteError.permanent; a TLS failure, tls.ts).
  if (answer instanceof Error)
    return isPermanentTransportError(answer) ? { kind: 'permanent' } : { kind: 'retry' };
  const { status } = answer;
  if (status >= 200 && status < 300) return { kind: 'success' };
  if (status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(headerValue(answer.headers['retry-after']), nowMs);
    return retryAfterMs === undefined ? { kind: 'retry' } : { kind: 'retry', retryAfterMs };
  }
  // 1xx/3xx never reach here in practice (Node follows no redirects for us): treat as permanent,
  // since re-sending the same body would get the same answer.
  return { kind: 'permanent' };
}

/**
 * `Retry-After` as a delay in ms: delay-seconds or an HTTP date (RFC 9110 §10.2.3). Undefined
 * when absent, unparsable, or not in the future (then the normal backoff applies, as in Prometheus).
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) {
    const ms = Number(text) * 1000;
    return ms > 0 ? ms : undefined;
  }
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  const ms = at - nowMs;
  return ms > 0 ? ms : undefined;
}

/**
 * Delay before retry number `retry` (1 for the first retry): `min·2^(retry−1)` capped at `max`,
 * then reduced by up to 20% at random. The jitter spreads senders that failed together, and
 * keeping it to 20% keeps each delay ≥ 0.8× the previous one, even at the cap (compliance suite:
 * "exponential" means each interval ≥ 0.8× the one before).
 */
export function backoffDelay(
  retry: number,
  minMillis: number,
  maxMillis: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(maxMillis, minMillis * 2 ** Math.max(0, retry - 1));
  return Math.max(1, Math.round(base * (1 - 0.2 * random())));
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
