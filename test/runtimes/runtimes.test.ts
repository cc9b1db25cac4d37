/**
 * The package in Bun, Deno and workerd (the Cloudflare Workers runtime): in each, a MeterProvider
 * with the exporter and a RemoteWriteClient push to a loopback receiver that answers 503 once
 * (push.ts), and the bodies are decoded here; on Bun and Deno also to real Prometheus, read back
 * with PromQL. Each runtime loads the package by its name from a throwaway app directory, so it
 * gets the build package.json `exports` gives it, and the encoder it actually loads is asserted.
 *
 * The runtimes come from the npm registry (.ci/runtimes installs them and sets RUNTIMES_DIR);
 * without one here, its tests are skipped — or fail when CI is set: a skip is no pass. Needs
 * `npm run build` first.
 *
 *   RUNTIMES_DIR=/tmp/rt node --import tsx --test test/runtimes/runtimes.test.ts
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { labelsOf, seriesNamed, startMockReceiver, type MockReceiver } from '../helpers/mock-receiver.js';
import { freePort, receiverOrSkip, startPrometheus } from '../helpers/receivers.js';
import type { PushReport } from './push.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HERE = fileURLToPath(new URL('.', import.meta.url));
const PACKAGE = 'opentelemetry-exporter-prometheus-remote-write';
const RUN_TIMEOUT_MS = 60_000;

type Runtime = 'bun' | 'deno' | 'workerd';

/** The runtime's binary: RUNTIMES_DIR (an npm prefix or a bin directory), then PATH. */
function findRuntime(name: Runtime): string | undefined {
  const dirs = [
    ...(process.env['RUNTIMES_DIR']
      ? [join(process.env['RUNTIMES_DIR'], 'node_modules', '.bin'), process.env['RUNTIMES_DIR']]
      : []),
    ...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean),
  ];
  for (const dir of dirs) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

function runtimeOrSkip(name: Runtime): { bin?: string; skip?: string } {
  const bin = findRuntime(name);
  if (bin) return { bin };
  const reason = `${name} not found (set RUNTIMES_DIR, or run bash .ci/runtimes)`;
  if (process.env['CI']) throw new Error(`${reason}: CI runs every runtime`);
  return { skip: reason };
}

let app: string;

/** A throwaway app: this repository's node_modules, and the package itself under its name. */
before(async () => {
  assert.ok(
    existsSync(join(ROOT, 'dist', 'index.js')) && existsSync(join(ROOT, 'dist', 'web.js')),
    'run npm run build first',
  );
  app = await mkdtemp(join(tmpdir(), 'rw-runtimes-'));
  await mkdir(join(app, 'node_modules'));
  for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
    if (entry !== PACKAGE) await symlink(join(ROOT, 'node_modules', entry), join(app, 'node_modules', entry));
  }
  await symlink(ROOT, join(app, 'node_modules', PACKAGE));
  await writeFile(join(app, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  for (const f of ['push.ts', 'main.ts']) await cp(join(HERE, f), join(app, f));
});

after(async () => {
  if (app) await rm(app, { recursive: true, force: true });
});

const run = (): string => `r${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

/** Runs `bin args…` in the app directory; its last stdout line is the push report. */
async function pushWith(bin: string, args: string[]): Promise<PushReport> {
  const { stdout } = await promisify(execFile)(bin, args, {
    cwd: app,
    timeout: RUN_TIMEOUT_MS,
    env: { ...process.env, NO_COLOR: '1' },
  }).catch((err: Error & { stderr?: string; stdout?: string }) => {
    throw new Error(`${bin} ${args.join(' ')} failed: ${err.message}\n${err.stderr ?? ''}`);
  });
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as PushReport;
}

/** What push.ts sends, as the receiver decoded it; and the 503 was answered by a retry. */
function checkDelivered(receiver: MockReceiver, report: PushReport, runtime: string, id: string): void {
  const requests = receiver.requests;
  assert.ok(
    requests.length >= 3,
    `expected the 503, its retry and the client's pushes, got ${requests.length}`,
  );
  // The first request got the 503; the next carries the same body with Retry-Attempt: 1.
  assert.equal(requests[0]!.headers['retry-attempt'], undefined);
  assert.equal(requests[1]!.headers['retry-attempt'], '1');
  assert.deepEqual(requests[1]!.body, requests[0]!.body);
  for (const r of requests) {
    assert.equal(r.headers['content-encoding'], 'snappy');
    assert.equal(r.headers['content-type'], 'application/x-protobuf');
    assert.equal(r.headers['x-prometheus-remote-write-version'], '0.1.0');
    assert.match(String(r.headers['user-agent']), /^opentelemetry-exporter-prometheus-remote-write\//);
  }
  assert.equal(report.exporter.requestsFailed, 1);
  assert.ok(report.exporter.samplesRetried > 0);
  assert.equal(report.exporter.samplesPending, 0);

  const counter = seriesNamed(requests, 'rt_requests_total').filter((s) => labelsOf(s)['run'] === id);
  assert.ok(counter.length >= 1);
  assert.equal(labelsOf(counter[0]!)['runtime'], runtime);
  assert.equal(labelsOf(counter[0]!)['route'], '/a');
  assert.equal(counter[0]!.samples[0]!.value, 3);
  const buckets = seriesNamed(requests, 'rt_latency_seconds_bucket').filter((s) => labelsOf(s)['run'] === id);
  assert.deepEqual(
    buckets.slice(0, 3).map((s) => [labelsOf(s)['le'], s.samples[0]!.value]),
    [
      ['0.1', 0],
      ['1', 1],
      ['+Inf', 1],
    ],
  );
  const events = seriesNamed(requests, 'rt_client_events_total').filter((s) => labelsOf(s)['run'] === id);
  assert.equal(events.length, 1);
  assert.equal(labelsOf(events[0]!)['instance'], runtime);
  assert.equal(events[0]!.samples[0]!.value, 5);
  const gauge = seriesNamed(requests, 'rt_client_temperature').filter((s) => labelsOf(s)['run'] === id);
  assert.equal(gauge[0]!.samples[0]!.value, 21.5);
  assert.equal(report.client.samplesSent, 2);
}

/** The series of `id` in real Prometheus, by PromQL. */
async function checkPrometheus(
  bin: string,
  args: (url: string, id: string) => string[],
  runtime: string,
  compression: string,
): Promise<void> {
  const prometheus = await startPrometheus();
  try {
    const id = run();
    const report = await pushWith(bin, args(prometheus.writeUrl, id));
    assert.equal(report.compression, compression);
    assert.equal(report.exporter.requestsFailed, 0);
    const counter = await prometheus.queryUntil(
      `rt_requests_total{run="${id}",runtime="${runtime}"}`,
      (r) => r.length === 1,
    );
    assert.equal(counter[0]!.value[1], '3');
    const count = await prometheus.queryUntil(`rt_latency_seconds_count{run="${id}"}`, (r) => r.length === 1);
    assert.equal(count[0]!.value[1], '1');
    const events = await prometheus.queryUntil(
      `rt_client_events_total{run="${id}",instance="${runtime}"}`,
      (r) => r.length === 1,
    );
    assert.equal(events[0]!.value[1], '5');
  } finally {
    await prometheus.stop();
  }
}

describe('Bun', () => {
  const { bin, skip } = runtimeOrSkip('bun');

  it(
    'pushes from a MeterProvider and a RemoteWriteClient with the native addon, retrying a 503',
    { skip },
    async () => {
      const receiver = await startMockReceiver();
      try {
        receiver.answers.push({ status: 503, body: 'try later' });
        const id = run();
        const report = await pushWith(bin!, ['main.ts', receiver.url, 'bun', id]);
        // Bun loads the Node.js build, and the snappy addon through its Node-API.
        assert.equal(report.compression, 'native');
        assert.equal(report.transport, 'node:http');
        checkDelivered(receiver, report, 'bun', id);
      } finally {
        await receiver.close();
      }
    },
  );

  it(
    'real Prometheus stores what Bun pushed (PromQL)',
    { skip: skip ?? receiverOrSkip('prometheus').skip },
    async () => {
      await checkPrometheus(bin!, (url, id) => ['main.ts', url, 'bun', id], 'bun', 'native');
    },
  );
});

describe('Deno', () => {
  const { bin, skip } = runtimeOrSkip('deno');
  const sloppy = '--unstable-sloppy-imports'; // push.js → push.ts, as tsc and esbuild resolve it
  // The permissions of a typical Deno service: no --allow-ffi, so no native addon.
  const noFfi = [
    'run',
    '--allow-net=127.0.0.1',
    '--allow-env',
    '--allow-read',
    '--allow-sys',
    sloppy,
    'main.ts',
  ];

  it('with -A, pushes with the native addon, retrying a 503', { skip }, async () => {
    const receiver = await startMockReceiver();
    try {
      receiver.answers.push({ status: 503 });
      const id = run();
      const report = await pushWith(bin!, ['run', '-A', sloppy, 'main.ts', receiver.url, 'deno', id]);
      assert.equal(report.compression, 'native');
      assert.equal(report.transport, 'node:http');
      checkDelivered(receiver, report, 'deno', id);
    } finally {
      await receiver.close();
    }
  });

  it(
    'without --allow-ffi, falls back to the JavaScript encoder by itself and still delivers',
    { skip },
    async () => {
      const receiver = await startMockReceiver();
      try {
        receiver.answers.push({ status: 503 });
        const id = run();
        const report = await pushWith(bin!, [...noFfi, receiver.url, 'deno', id]);
        assert.equal(report.compression, 'js');
        checkDelivered(receiver, report, 'deno', id);
      } finally {
        await receiver.close();
      }
    },
  );

  it(
    'real Prometheus stores what Deno pushed with the JavaScript encoder (PromQL)',
    { skip: skip ?? receiverOrSkip('prometheus').skip },
    async () => {
      await checkPrometheus(bin!, (url, id) => [...noFfi, url, 'deno', id], 'deno', 'js');
    },
  );
});

describe('workerd (Cloudflare Workers)', () => {
  const { bin, skip } = runtimeOrSkip('workerd');
  let receiver: MockReceiver;
  let workerd: ChildProcess | undefined;
  let base: string;
  let logs = '';

  before(async () => {
    if (skip) return;
    receiver = await startMockReceiver();
    const dir = join(app, 'worker');
    await mkdir(dir);
    // Bundled as wrangler does: the `workerd` condition picks dist/web.js.
    await build({
      entryPoints: [join(HERE, 'worker.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      conditions: ['workerd', 'worker', 'browser'],
      mainFields: ['browser', 'module', 'main'],
      nodePaths: [join(app, 'node_modules')],
      external: ['node:*'], // nothing else: the build resolves whole, as wrangler needs it
      outfile: join(dir, 'worker.js'),
      logLevel: 'error',
    });
    const port = await freePort();
    // The example's own config, with this test's port and receiver.
    const config = readFileSync(join(ROOT, 'examples', 'worker', 'config.capnp'), 'utf8')
      .replaceAll('127.0.0.1:8787', `127.0.0.1:${port}`)
      .replaceAll('http://127.0.0.1:9090/api/v1/write', receiver.url);
    await writeFile(join(dir, 'config.capnp'), config);
    workerd = spawn(bin!, ['serve', 'config.capnp'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    // Never left behind, even when this process ends on a failure.
    process.once('exit', () => workerd?.kill('SIGKILL'));
    workerd.stdout!.on('data', (c: Buffer) => (logs += c.toString()));
    workerd.stderr!.on('data', (c: Buffer) => (logs += c.toString()));
    await waitForPort(port, () => logs);
    base = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    if (workerd?.pid) {
      workerd.kill('SIGTERM');
      await new Promise((resolve) => workerd!.once('exit', resolve));
    }
    await receiver?.close();
  });

  it(
    'a Worker pushes from a MeterProvider and a RemoteWriteClient with fetch and snappyjs, retrying a 503',
    { skip },
    async () => {
      receiver.requests.length = 0;
      receiver.answers.push({ status: 503 });
      const id = run();
      const answer = await fetch(`${base}/push?run=${id}`, { signal: AbortSignal.timeout(RUN_TIMEOUT_MS) });
      const text = await answer.text();
      assert.equal(answer.status, 200, `${text}\n${logs}`);
      const report = JSON.parse(text) as PushReport;
      // The web build: no Node-API, no node:http.
      assert.equal(report.compression, 'js');
      assert.equal(report.transport, 'fetch');
      checkDelivered(receiver, report, 'workerd', id);
    },
  );

  it('the Workers build refuses, by name, the options that need Node', { skip }, async () => {
    const answer = await fetch(`${base}/refused`, { signal: AbortSignal.timeout(RUN_TIMEOUT_MS) });
    const messages = (await answer.json()) as string[];
    assert.equal(messages.length, 4);
    assert.match(messages[0]!, /^InvalidOptionError: .*option "spoolDir" is not supported in this runtime/);
    assert.match(messages[1]!, /^InvalidOptionError: .*option "proxy" is not supported in this runtime/);
    assert.match(messages[2]!, /^InvalidOptionError: .*option "tls" is not supported in this runtime/);
    assert.match(messages[3]!, /^RemoteWriteClientError: .*stateFile.*not supported in this runtime/);
  });

  it(
    'the example Worker answers, then flushes what it recorded with ctx.waitUntil (a 503 retried)',
    { skip },
    async () => {
      receiver.requests.length = 0;
      receiver.answers.push({ status: 503 });
      const path = `/hello-${run()}`;
      const answer = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(RUN_TIMEOUT_MS) });
      assert.equal(answer.status, 200);
      assert.equal(await answer.text(), `hello from ${path}\n`);
      // The push happens after the response, inside waitUntil: wait for it (bounded).
      const deadline = Date.now() + 20_000;
      const mine = () =>
        seriesNamed(receiver.requests, 'worker_requests_total').filter((s) => labelsOf(s)['path'] === path);
      while (mine().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      // Twice: the attempt answered 503, then its retry.
      assert.equal(mine().length, 2, logs);
      assert.equal(receiver.requests.at(-1)!.headers['retry-attempt'], '1');
      assert.equal(mine()[1]!.samples[0]!.value, 1);
      const durations = seriesNamed(receiver.requests, 'worker_duration_seconds_count').filter(
        (s) => labelsOf(s)['path'] === path,
      );
      assert.equal(durations.at(-1)!.samples[0]!.value, 1);
    },
  );
});

/** Resolves once `port` accepts connections (workerd is up); fails after 20 s with its logs. */
async function waitForPort(port: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`workerd did not listen on ${port}:\n${logs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
