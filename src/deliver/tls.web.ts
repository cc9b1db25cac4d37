/**
 * tls.ts for the build without Node-only imports (dist/web.js): `fetch` takes no CA, client
 * certificate or server name, so `tls` (and its variables) are refused at construction there
 * (runtime-support.ts), and TLS is the runtime's own. The error helpers stay.
 */
import { TlsSettingError } from './transport-errors.js';

export type { Pem, PemSource, TlsMaterialValues, TlsOptions } from './tls.js';
export { isPermanentTransportError, PermanentTransportError, TlsSettingError } from './transport-errors.js';

export const TLS_RELOAD_CHECK_MS = 5_000;

export class TlsMaterial {
  constructor() {
    throw new TlsSettingError('tls', 'is not supported in this runtime (no node:tls)');
  }
}

export function explainTransportError(err: unknown): unknown {
  return err;
}
