/**
 * Errors of the connection that both builds share (tls.ts, and tls.web.ts where there is no
 * node:tls): a TLS setting that cannot be used, and a failure that sending again cannot fix.
 * Knows nothing of OTel.
 */

/** A TLS setting that cannot be used; `option` names where it came from (an option or variable). */
export class TlsSettingError extends Error {
  constructor(
    readonly option: string,
    readonly expected: string,
  ) {
    super(`${option} ${expected}`);
    this.name = 'TlsSettingError';
  }
}

/**
 * An error that sending again cannot fix (a TLS failure): the queue drops the request at once
 * instead of retrying it for the whole budget.
 */
export class PermanentTransportError extends Error {
  readonly permanent = true;
  constructor(
    message: string,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PermanentTransportError';
  }
}

/** True when `err` or one of its causes says sending again cannot help. */
export function isPermanentTransportError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as { permanent?: unknown }).permanent === true) return true;
  }
  return false;
}
