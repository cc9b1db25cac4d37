/**
 * spool.ts for the build without Node-only imports (dist/web.js): no file system, so
 * `spoolDir` is refused at construction there (runtime-support.ts) and no Spool is ever made.
 */
export type { SpoolDropListener, SpoolEntry, SpoolLimits, SpooledRequest } from './spool.js';

export class Spool {
  constructor() {
    throw new Error('spoolDir is not supported in this runtime (no node:fs)');
  }
}
