/**
 * One HTTP POST through `fetch`, for runtimes without a usable `node:http` (Workers, and the
 * build without Node-only imports). The same contract as `post` in http.ts: resolves with the
 * answer whatever its status, rejects on network errors and timeouts, so retries, backoff and
 * the classification of answers (retry.ts) are the same whichever carries the request.
 * Knows nothing of metrics.
 */
import { MAX_ERROR_BODY_BYTES, RequestTimeoutError, type PostOptions, type PostResult } from './http.js';

/** `fetch`'s Headers as Node's IncomingHttpHeaders: lower-case names (retry.ts reads `retry-after`). */
function headerRecord(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name.toLowerCase()] = value;
  });
  return out;
}

/** The first MAX_ERROR_BODY_BYTES of the answer; the rest is not read (the stream is cancelled). */
async function bodyPrefix(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let kept = 0;
  try {
    while (kept < MAX_ERROR_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      const part = value.subarray(0, MAX_ERROR_BODY_BYTES - kept);
      parts.push(part);
      kept += part.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const all = new Uint8Array(kept);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return new TextDecoder().decode(all);
}

export async function fetchPost(body: Uint8Array, options: PostOptions): Promise<PostResult> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeoutMillis);
  (timer as { unref?: () => void }).unref?.();
  const onAbort = (): void => controller.abort();
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // `fetch` sets Content-Length itself from the body, and follows no redirect here: as with
    // node:http, a 3xx is an answer (permanent, retry.ts), never a second POST elsewhere.
    const response = await fetch(options.url, {
      method: 'POST',
      headers: options.headers,
      body,
      redirect: 'manual',
      signal: controller.signal,
    });
    return {
      status: response.status,
      statusText: response.statusText,
      headers: headerRecord(response.headers),
      bodyPrefix: await bodyPrefix(response),
    };
  } catch (err) {
    if (timedOut) throw new RequestTimeoutError(options.timeoutMillis);
    if (options.signal?.aborted) throw new Error('aborted: shutdown deadline reached', { cause: err });
    // undici's "fetch failed" says nothing by itself: the reason is its cause (ECONNREFUSED…).
    const reason = (err as { cause?: unknown }).cause;
    if (err instanceof TypeError && reason instanceof Error) {
      throw new Error(`${err.message}: ${reason.message}`, { cause: err });
    }
    throw err;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}
