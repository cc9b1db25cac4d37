/**
 * http.ts for the build without Node-only imports (dist/web.js): the same exports, with the
 * POST made by `fetch` (fetch-post.ts) instead of node:http.
 */
export type { PostOptions, PostResult } from './http.js';
export { fetchPost as post } from './fetch-post.js';

/** Prometheus reads at most this much of an error body (storage/remote/client.go maxErrMsgLen). */
export const MAX_ERROR_BODY_BYTES = 1024;

export class RequestTimeoutError extends Error {
  constructor(timeoutMillis: number) {
    super(`no answer within ${timeoutMillis} ms (timeoutMillis)`);
    this.name = 'RequestTimeoutError';
  }
}

/** The URL as it may appear in messages: no user info, no query (where API keys sometimes travel). */
export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}
