/**
 * state-file.ts for the build without Node-only imports (dist/web.js): no file system, so a
 * `stateFile` fails with a message that says so.
 */
import { RemoteWriteClientError } from './validate.js';

export type { CounterState, HistogramState, SeriesState } from './state-file.js';
import type { SeriesState } from './state-file.js';

function unsupported(path: string): never {
  throw new RemoteWriteClientError(
    `option "stateFile" (${path}) is not supported in this runtime: it has no file system (node:fs)`,
  );
}

export function loadState(path: string): Map<string, SeriesState> {
  return unsupported(path);
}

export async function saveState(path: string): Promise<void> {
  unsupported(path);
}
