/**
 * Headers computed per attempt: a user's `headers()` function, an OAuth 2.0 token, a SigV4
 * signature. The Sender asks each in turn and sends what they add. Knows nothing of OTel.
 */

/** The request as it will be sent, less `Content-Length` (set from the body by `post`). */
export interface OutgoingRequest {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  /** Aborted at the shutdown deadline; a token request in flight ends with it. */
  readonly signal?: AbortSignal;
}

export interface Authorizer {
  /** Headers to add to this attempt. Rejects with an AuthError; never with a credential in it. */
  headers(request: OutgoingRequest): Promise<Record<string, string>>;
  /**
   * The receiver answered 401: forget what is cached. True when a fresh credential is worth one
   * more try of the same request at once (an OAuth 2.0 token that was revoked or expired early).
   */
  refresh?(): boolean;
}

/**
 * No credential could be had for an attempt. `permanent` when trying again cannot help (a bad
 * `headers()` result, a missing package); otherwise retried with backoff like a network error.
 */
export class AuthError extends Error {
  readonly permanent: boolean;
  constructor(message: string, options: { permanent: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AuthError';
    this.permanent = options.permanent;
  }
}

/** The message of something thrown, for a message of ours: never the object itself. */
export function reasonOf(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return typeof err === 'string' ? err : 'a non-Error value was thrown';
}
