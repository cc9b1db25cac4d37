/**
 * tls.ts for the build without Node-only imports (dist/web.js): `fetch` takes no CA, client
 * certificate or server name, so `tls` (and its variables) are refused at construction there
 * (runtime-support.ts), and TLS is the runtime's own. The error helpers stay.
 */
export type { Pem, PemSource, TlsMaterialValues, TlsOptions } from './tls.js';

export class TlsSettingError extends Error {
  constructor(
    readonly option: string,
    readonly expected: string,
  ) {
    super(`${option} ${expected}`);
    this.name = 'TlsSettingError';
  }
}

export const TLS_RELOAD_CHECK_MS = 5_000;

export class TlsMaterial {
  constructor() {
    throw new TlsSettingError('tls', 'is not supported in this runtime (no node:tls)');
  }
}

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

export function explainTransportError(err: unknown): unknown {
  return err;
}

/** True when `err` or one of its causes says sending again cannot help. */
export function isPermanentTransportError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as { permanent?: unknown }).permanent === true) return true;
  }
  return false;
}
