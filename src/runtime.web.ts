/**
 * runtime.ts in the build without Node-only imports (dist/web.js, for Workers): requests go
 * through `fetch`, and nothing that needs node:http, node:tls or node:fs is there.
 */
export type { Transport } from './runtime.js';
import type { Transport } from './runtime.js';

export const RUNTIME = {
  transport: 'fetch' as Transport,
  nodeApis: false,
} as const;
