// Throwaway Prometheus / VictoriaMetrics receivers on loopback for integration tests.
// Flags and quirks follow /work/shared/receivers.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, rmSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, Socket, type AddressInfo } from 'node:net';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

export interface QueryResultSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface Receiver {
  kind: 'prometheus' | 'victoriametrics';
  baseUrl: string;
  writeUrl: string;
  dataDir: string;
  pid: number;
  /** PromQL instant query; `time` in seconds (default now). VM: force_flush first, nocache=1. */
  query(promql: string, time?: number): Promise<QueryResultSample[]>;
  /** Polls query() until predicate is true; throws with the last result after timeoutMs (default 10000). */
  queryUntil(
    promql: string,
    predicate: (r: QueryResultSample[]) => boolean,
    opts?: { time?: number; timeoutMs?: number },
  ): Promise<QueryResultSample[]>;
  /** SIGTERM, SIGKILL after 5 s; removes dataDir unless removeData is false. */
  stop(opts?: { removeData?: boolean }): Promise<void>;
  /** Last 16 KB of the receiver's stdout+stderr, for debugging failed assertions. */
  logs(): string;
}

type Kind = Receiver['kind'];
type BinaryName = 'prometheus' | 'victoria-metrics';

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 15_000;
const READY_POLL_MS = 50;
const STOP_GRACE_MS = 5_000;
const RING_BYTES = 16 * 1024;
const ERROR_TAIL_BYTES = 2 * 1024;
const BINARY: Record<Kind, BinaryName> = { prometheus: 'prometheus', victoriametrics: 'victoria-metrics' };
const INSTALL_HINT: Record<Kind, string> = {
  prometheus: 'apt-get install prometheus',
  victoriametrics: 'apt-get install victoria-metrics',
};

// Receivers still running, SIGKILLed at exit so a failed test never leaves one behind.
const live = new Set<ChildProcess>();
// Temp dirs made by mkdtemp here; removed at exit so failed runs do not litter os.tmpdir().
const ownedDirs = new Set<string>();
let hooksInstalled = false;

export function findBinary(name: BinaryName | 'tinyproxy'): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin'];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function receiverOrSkip(kind: Kind): { binary?: string; skip?: string } {
  const binary = findBinary(BINARY[kind]);
  if (binary) return { binary };
  const reason = `${BINARY[kind]} binary not found; install with ${INSTALL_HINT[kind]}`;
  // In CI the receivers are part of the test environment: missing one is a failure, not a skip.
  if (process.env.CI === 'true') throw new Error(reason);
  return { skip: reason };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * How the test itself reaches a receiver that serves HTTPS (Prometheus' --web.config.file): the
 * CA, client certificate and key (PEM text) and an Authorization header for readiness and queries.
 */
export interface HttpsClient {
  ca: string;
  cert?: string;
  key?: string;
  authorization?: string;
  /** Do not verify the receiver's certificate (one made expired on purpose). */
  insecure?: boolean;
}

export async function startPrometheus(
  opts: {
    dataDir?: string;
    port?: number;
    extraFlags?: string[];
    config?: string;
    /** Contents of a --web.config.file (TLS, client certificates, basic auth); needs `client`. */
    webConfig?: string;
    client?: HttpsClient;
  } = {},
): Promise<Receiver> {
  const binary = requireBinary('prometheus');
  const dataDir = opts.dataDir ?? (await makeTempDir('rw-prometheus-'));
  const port = opts.port ?? (await freePort());
  const configFile = join(dataDir, 'prometheus.yml');
  // Rewritten on every start so a restart on the same dataDir gets the same config.
  await writeFile(configFile, opts.config ?? 'global: {scrape_interval: 1h}\n');
  const args = [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dataDir, 'data')}`,
    '--storage.tsdb.retention.time=1d',
    `--web.listen-address=${HOST}:${port}`,
    '--web.enable-remote-write-receiver',
    '--enable-feature=native-histograms',
    ...(opts.extraFlags ?? []),
  ];
  if (opts.webConfig !== undefined) {
    const webFile = join(dataDir, 'web.yml');
    await writeFile(webFile, opts.webConfig);
    args.push(`--web.config.file=${webFile}`);
  }
  return launch(
    'prometheus',
    binary,
    args,
    dataDir,
    port,
    '/-/ready',
    opts.dataDir === undefined,
    opts.client,
  );
}

export async function startVictoriaMetrics(
  opts: { dataDir?: string; port?: number } = {},
): Promise<Receiver> {
  const binary = requireBinary('victoriametrics');
  const dataDir = opts.dataDir ?? (await makeTempDir('rw-victoriametrics-'));
  const port = opts.port ?? (await freePort());
  const args = [
    `-httpListenAddr=${HOST}:${port}`,
    `-storageDataPath=${join(dataDir, 'data')}`,
    '-retentionPeriod=1d',
    '-search.latencyOffset=1s',
    '-search.disableCache',
  ];
  return launch('victoriametrics', binary, args, dataDir, port, '/health', opts.dataDir === undefined);
}

async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  ownedDirs.add(dir);
  return dir;
}

async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  ownedDirs.delete(dir);
}

function requireBinary(kind: Kind): string {
  const binary = findBinary(BINARY[kind]);
  if (!binary) throw new Error(`${BINARY[kind]} binary not found; install with ${INSTALL_HINT[kind]}`);
  return binary;
}

// ---------------------------------------------------------------------------------------------
// Process management

/** Keeps only the last `max` bytes of output so a chatty receiver cannot grow memory. */
class OutputRing {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.max) {
      const first = this.chunks[0];
      if (!first) break;
      const excess = this.size - this.max;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
    }
  }

  tail(bytes: number = this.max): string {
    return Buffer.concat(this.chunks).subarray(-bytes).toString('utf8');
  }
}

interface Tracked {
  child: ChildProcess;
  output: OutputRing;
  exited: Promise<void>;
  spawnError?: Error;
}

function killAllSync(): void {
  for (const child of live) {
    try {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  live.clear();
  for (const dir of ownedDirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
    } catch {
      // Best effort: a just-killed receiver may still be closing files.
    }
  }
  ownedDirs.clear();
}

// 'exit' covers normal ends and uncaught errors; the signal handlers cover the test runner
// killing this file's process (SIGTERM on timeout), where 'exit' never fires.
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAllSync();
      // Restore the default action if nobody else handles the signal.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

function spawnTracked(binary: string, args: string[]): Tracked {
  installExitHooks();
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: false });
  const output = new OutputRing(RING_BYTES);
  const tracked: Tracked = { child, output, exited: Promise.resolve() };
  tracked.exited = new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (err) => {
      tracked.spawnError = err;
      resolve();
    });
  });
  tracked.exited.then(() => live.delete(child));
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) => output.push(chunk));
    unrefStream(stream);
  }
  // Unref'd so a test that forgets stop() does not hang its file; the exit hook kills it.
  child.unref();
  live.add(child);
  return tracked;
}

function unrefStream(stream: Readable | null): void {
  if (stream instanceof Socket) stream.unref();
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function describeExit(tracked: Tracked): string {
  if (tracked.spawnError) return `failed to spawn: ${tracked.spawnError.message}`;
  const { exitCode, signalCode } = tracked.child;
  return `exited early (code ${exitCode}, signal ${signalCode})`;
}

async function launch(
  kind: Kind,
  binary: string,
  args: string[],
  dataDir: string,
  port: number,
  readyPath: string,
  ownsDataDir: boolean,
  client?: HttpsClient,
): Promise<Receiver> {
  const tracked = spawnTracked(binary, args);
  const baseUrl = `${client ? 'https' : 'http'}://${HOST}:${port}`;
  try {
    await waitReady(tracked, baseUrl + readyPath, kind, client);
  } catch (err) {
    await terminate(tracked);
    if (ownsDataDir) await removeDir(dataDir);
    throw err;
  }
  return makeReceiver(kind, tracked, baseUrl, dataDir, client);
}

async function waitReady(tracked: Tracked, url: string, kind: Kind, client?: HttpsClient): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (tracked.spawnError || hasExited(tracked.child)) {
      throw startError(kind, tracked, describeExit(tracked));
    }
    // Race the exit so an early crash is reported without waiting out a hung probe.
    if (await Promise.race([isReady(url, client), tracked.exited.then(() => false)])) return;
    await sleep(READY_POLL_MS);
  }
  throw startError(kind, tracked, `not ready at ${url} after ${READY_TIMEOUT_MS} ms`);
}

async function isReady(url: string, client?: HttpsClient): Promise<boolean> {
  if (client)
    return httpsGet(url, client).then(
      (r) => r.status === 200,
      () => false,
    );
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false; // Not listening yet.
  }
}

function startError(kind: Kind, tracked: Tracked, what: string): Error {
  return new Error(`${kind} ${what}; last output:\n${tracked.output.tail(ERROR_TAIL_BYTES)}`);
}

async function terminate(tracked: Tracked): Promise<void> {
  const { child } = tracked;
  if (tracked.spawnError || hasExited(child)) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  try {
    await tracked.exited;
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Query API

interface PromResponse {
  status?: string;
  data?: { resultType?: string; result?: unknown };
}

function makeReceiver(
  kind: Kind,
  tracked: Tracked,
  baseUrl: string,
  dataDir: string,
  client?: HttpsClient,
): Receiver {
  const pid = tracked.child.pid;
  if (pid === undefined) throw new Error(`${kind} has no pid`);

  const query = async (promql: string, time?: number): Promise<QueryResultSample[]> => {
    const params = new URLSearchParams({ query: promql, time: String(time ?? Date.now() / 1000) });
    if (kind === 'victoriametrics') {
      // Freshly written rows are not searchable for ~1 s without a flush; nocache avoids
      // an empty answer from before the flush being served again.
      await httpText(`${baseUrl}/internal/force_flush`);
      params.set('nocache', '1');
    }
    const text = await httpText(`${baseUrl}/api/v1/query?${params}`, { allowErrorStatus: true, client });
    return parseInstantResult(promql, text);
  };

  const queryUntil: Receiver['queryUntil'] = async (promql, predicate, opts = {}) => {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    let last: QueryResultSample[] | undefined;
    let lastError: unknown;
    for (;;) {
      try {
        last = await query(promql, opts.time);
        lastError = undefined;
        if (predicate(last)) return last;
      } catch (err) {
        lastError = err; // Keep polling: the receiver may briefly reject while warming up.
      }
      if (Date.now() >= deadline) break;
      await sleep(100);
    }
    const detail =
      lastError !== undefined ? `last error: ${String(lastError)}` : `last result: ${JSON.stringify(last)}`;
    throw new Error(
      `${kind} query ${JSON.stringify(promql)} did not match within ${timeoutMs} ms; ${detail}`,
    );
  };

  const stop = async ({ removeData = true }: { removeData?: boolean } = {}): Promise<void> => {
    await terminate(tracked);
    if (removeData) await removeDir(dataDir);
  };

  return {
    kind,
    baseUrl,
    writeUrl: `${baseUrl}/api/v1/write`,
    dataDir,
    pid,
    query,
    queryUntil,
    stop,
    logs: () => tracked.output.tail(),
  };
}

async function httpText(
  url: string,
  { allowErrorStatus = false, client }: { allowErrorStatus?: boolean; client?: HttpsClient } = {},
): Promise<string> {
  if (client) {
    const { status, text } = await httpsGet(url, client);
    if (status !== 200 && !allowErrorStatus) throw new Error(`GET ${url} -> ${status}: ${text}`);
    return text;
  }
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  if (!res.ok && !allowErrorStatus) throw new Error(`GET ${url} -> ${res.status}: ${text}`);
  return text;
}

/** A GET with the test's own CA, client certificate and credentials. */
function httpsGet(url: string, client: HttpsClient): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        ca: client.ca,
        cert: client.cert,
        key: client.key,
        rejectUnauthorized: client.insecure !== true,
        headers: client.authorization ? { Authorization: client.authorization } : {},
        timeout: 5_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

function parseInstantResult(promql: string, text: string): QueryResultSample[] {
  let body: PromResponse;
  try {
    body = JSON.parse(text) as PromResponse;
  } catch {
    throw new Error(`query ${JSON.stringify(promql)} returned non-JSON: ${text}`);
  }
  if (body.status !== 'success') throw new Error(`query ${JSON.stringify(promql)} failed: ${text}`);
  const { resultType, result } = body.data ?? {};
  // Scalars (e.g. `time()`) come back as a bare [t, v]; wrap them so callers see one shape.
  if (resultType === 'scalar' || resultType === 'string') {
    return [{ metric: {}, value: result as [number, string] }];
  }
  if (resultType !== 'vector') {
    throw new Error(`query ${JSON.stringify(promql)} returned ${resultType}, expected vector: ${text}`);
  }
  return result as QueryResultSample[];
}
