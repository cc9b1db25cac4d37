/**
 * One HTTP POST of an encoded, compressed body. Knows nothing of metrics.
 */
import http from 'node:http';
import https from 'node:https';
import { explainTransportError } from './tls.js';

/** Prometheus reads at most this much of an error body (storage/remote/client.go maxErrMsgLen). */
export const MAX_ERROR_BODY_BYTES = 1024;

export interface PostResult {
  readonly status: number;
  readonly statusText: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The first bytes of the answer, at most MAX_ERROR_BODY_BYTES, as text. */
  readonly bodyPrefix: string;
}

export interface PostOptions {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMillis: number;
  readonly agent: http.Agent;
  /** Aborts the request (shutdown deadline). */
  readonly signal?: AbortSignal;
}

export class RequestTimeoutError extends Error {
  constructor(timeoutMillis: number) {
    super(`no answer within ${timeoutMillis} ms (timeoutMillis)`);
    this.name = 'RequestTimeoutError';
  }
}

/** Resolves with the answer whatever its status; rejects on network errors and timeouts. */
export function post(body: Uint8Array, options: PostOptions): Promise<PostResult> {
  const { url } = options;
  const request = url.protocol === 'https:' ? https.request : http.request;
  return new Promise<PostResult>((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: { ...options.headers, 'Content-Length': String(body.byteLength) },
      agent: options.agent,
    });
    const timer = setTimeout(
      () => req.destroy(new RequestTimeoutError(options.timeoutMillis)),
      options.timeoutMillis,
    );
    timer.unref?.();
    const onAbort = (): void => {
      req.destroy(new Error('aborted: shutdown deadline reached'));
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    req.on('error', (err) => {
      done();
      // A TLS failure becomes an error that says what to fix, and is not retried.
      reject(explainTransportError(err));
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      res.on('data', (chunk: Buffer) => {
        // Keep the start for the error message; read (and drop) the rest so the socket can be reused.
        if (kept < MAX_ERROR_BODY_BYTES) {
          const part = chunk.subarray(0, MAX_ERROR_BODY_BYTES - kept);
          chunks.push(part);
          kept += part.length;
        }
      });
      res.on('end', () => {
        done();
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          headers: res.headers,
          bodyPrefix: Buffer.concat(chunks).toString('utf8'),
        });
      });
      res.on('error', (err) => {
        done();
        reject(err);
      });
    });
    req.end(body);
  });
}

/** The URL as it may appear in messages: no user info, no query (where API keys sometimes travel). */
export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}
