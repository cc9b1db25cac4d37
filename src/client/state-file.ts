/**
 * The `stateFile`: counter totals and histogram counts that outlive one run of a cron job, so
 * that `rate()` sees one continuous counter across runs instead of a reset every run. JSON,
 * written to a temporary file and renamed over the old one, so a crash never leaves half a file.
 */
import { readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RemoteWriteClientError } from './validate.js';

export interface CounterState {
  kind: 'counter';
  /** Prometheus name (`billing_orders_total`). */
  name: string;
  labels: Record<string, string>;
  total: number;
  startMs: number;
  lastMs: number;
}

export interface HistogramState {
  kind: 'histogram';
  name: string;
  labels: Record<string, string>;
  bounds: number[];
  /** Per bucket, not cumulative, the last one for +Inf (as OpenTelemetry counts them). */
  counts: number[];
  sum: number;
  count: number;
  startMs: number;
  lastMs: number;
}

export type SeriesState = CounterState | HistogramState;

const VERSION = 1;

/** Reads the state; a missing file is a first run. Anything unreadable is an error, never a silent reset. */
export function loadState(path: string): Map<string, SeriesState> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new RemoteWriteClientError(`stateFile ${path} cannot be read: ${(err as Error).message}`);
  }
  const fail = (why: string): never => {
    throw new RemoteWriteClientError(
      `stateFile ${path} is not a valid state file (${why}); fix it or delete it to start the counters from 0`,
    );
  };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return fail(`not JSON: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null) return fail('not an object');
  const { version, series } = data as { version?: unknown; series?: unknown };
  if (version !== VERSION) return fail(`unknown version ${JSON.stringify(version)}`);
  if (typeof series !== 'object' || series === null || Array.isArray(series)) {
    return fail('"series" is not an object');
  }
  const out = new Map<string, SeriesState>();
  for (const [id, entry] of Object.entries(series)) {
    if (!isSeriesState(entry)) return fail(`entry ${JSON.stringify(id)} is malformed`);
    out.set(id, entry);
  }
  return out;
}

function isSeriesState(v: unknown): v is SeriesState {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  const num = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x);
  const labelsOk =
    typeof e['labels'] === 'object' &&
    e['labels'] !== null &&
    Object.values(e['labels']).every((x) => typeof x === 'string');
  if (typeof e['name'] !== 'string' || !labelsOk || !num(e['startMs']) || !num(e['lastMs'])) return false;
  if (e['kind'] === 'counter') return num(e['total']) && (e['total'] as number) >= 0;
  if (e['kind'] !== 'histogram') return false;
  const bounds = e['bounds'];
  const counts = e['counts'];
  return (
    Array.isArray(bounds) &&
    bounds.every(num) &&
    Array.isArray(counts) &&
    counts.every(num) &&
    counts.length === bounds.length + 1 &&
    num(e['count']) &&
    typeof e['sum'] === 'number'
  );
}

/** Writes the whole state atomically: temporary file in the same directory, then rename. */
export async function saveState(path: string, state: ReadonlyMap<string, SeriesState>): Promise<void> {
  const series: Record<string, SeriesState> = {};
  for (const [id, entry] of state) series[id] = entry;
  const text = JSON.stringify({ version: VERSION, series }, null, 2) + '\n';
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, text, { mode: 0o644 });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new RemoteWriteClientError(`stateFile ${path} cannot be written: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
