import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RemoteWriteClient, type RemoteWriteClientOptions } from '../src/index.js';
import { labelsOf, seriesNamed, startMockReceiver, type MockReceiver } from './helpers/mock-receiver.js';

const APPENDIX = readFileSync(new URL('./fixtures/client-appendix-output.txt', import.meta.url), 'utf8');
const T = 1_700_000_000_000;

let receiver: MockReceiver;
let tmp: string;
before(async () => {
  receiver = await startMockReceiver();
  tmp = mkdtempSync(join(tmpdir(), 'rw-client-'));
});
after(async () => {
  await receiver.close();
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  receiver.requests.length = 0;
  receiver.answers.length = 0;
});

const open: RemoteWriteClient[] = [];
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((c) => c.close()));
});

function client(options: Partial<RemoteWriteClientOptions> = {}): {
  cli: RemoteWriteClient;
  debug: string[];
} {
  const debug: string[] = [];
  const cli = new RemoteWriteClient({
    url: receiver.url,
    flushOnExit: false,
    debug: (text) => debug.push(text),
    ...options,
  });
  open.push(cli);
  return { cli, debug };
}

/** [value, timestamp] of every received sample of `name` whose labels include `match`. */
function samples(name: string, match: Record<string, string> = {}): Array<[number, number]> {
  return seriesNamed(receiver.requests, name)
    .filter((s) => Object.entries(match).every(([k, v]) => labelsOf(s)[k] === v))
    .flatMap((s) => s.samples.map((x): [number, number] => [x.value, x.timestamp]));
}

function runChild(
  file: string,
  args: string[],
  killWith?: NodeJS.Signals,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
      env: { ...process.env, PRW_URL: receiver.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (killWith && stdout.includes('ready')) p.kill(killWith);
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const killer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

async function seed(cli: RemoteWriteClient): Promise<number> {
  await cli.counterInc('billing_orders', 85);
  await cli.gaugeSet('billing_queue_depth', 36, { queue: 'payments' });
  await cli.gaugeSet('billing_queue_depth', 5, { queue: 'refunds' });
  await cli.gaugeSet('billing_queue_depth', 0, { queue: 'dlq' });
  const now = Date.now();
  const w1 = { worker: 'billing-worker-01' };
  const w2 = { worker: 'billing-worker-02' };
  cli.histogramQueue('billing_job_duration_seconds', 0.6, w1, now - 120000);
  cli.histogramQueue('billing_job_duration_seconds', 2.2, w1, now - 60000);
  cli.histogramQueue('billing_job_duration_seconds', 10.0, w1, now);
  await cli.histogramFlush('billing_job_duration_seconds', w1);
  cli.histogramQueue('billing_job_duration_seconds', 0.3, w2, now - 120000);
  cli.histogramQueue('billing_job_duration_seconds', 1.2, w2, now - 60000);
  cli.histogramQueue('billing_job_duration_seconds', 8.9, w2, now);
  await cli.histogramFlush('billing_job_duration_seconds', w2);
  return now;
}

describe('RemoteWriteClient: the appendix example', () => {
  it('prints exactly the expected debug output, one request per call', async () => {
    const { cli, debug } = client();
    const now = await seed(cli);
    await cli.close();
    assert.equal(debug.join(''), APPENDIX);
    assert.equal(receiver.requests.length, 6);

    // What the receiver decoded: the same series, values and the caller's timestamps.
    const names = receiver.requests.map((r) => [
      ...new Set(r.decoded.timeseries.map((s) => labelsOf(s)['__name__'])),
    ]);
    assert.deepEqual(names, [
      ['billing_orders_total'],
      ['billing_queue_depth'],
      ['billing_queue_depth'],
      ['billing_queue_depth'],
      [
        'billing_job_duration_seconds_bucket',
        'billing_job_duration_seconds_sum',
        'billing_job_duration_seconds_count',
      ],
      [
        'billing_job_duration_seconds_bucket',
        'billing_job_duration_seconds_sum',
        'billing_job_duration_seconds_count',
      ],
    ]);
    assert.deepEqual(
      receiver.requests.flatMap((r) => r.decoded.timeseries.map((s) => labelsOf(s))).slice(0, 4),
      [
        { __name__: 'billing_orders_total' },
        { __name__: 'billing_queue_depth', queue: 'payments' },
        { __name__: 'billing_queue_depth', queue: 'refunds' },
        { __name__: 'billing_queue_depth', queue: 'dlq' },
      ],
    );
    assert.deepEqual(
      samples('billing_job_duration_seconds_bucket', { worker: 'billing-worker-02' }).map(([v]) => v),
      [1, 1, 2, 2, 3, 3],
    );
    assert.deepEqual(samples('billing_job_duration_seconds_sum', { worker: 'billing-worker-01' }), [
      [12.8, now],
    ]);
    assert.deepEqual(samples('billing_job_duration_seconds_count', { worker: 'billing-worker-02' }), [
      [3, now],
    ]);
    // Metadata travels with each request.
    assert.deepEqual(
      receiver.requests[4]!.decoded.metadata.map((m) => [m.metricFamilyName, m.type]),
      [['billing_job_duration_seconds', 'HISTOGRAM']],
    );
  });

  it('examples/seed.ts prints exactly the appendix output on stdout', async () => {
    const file = fileURLToPath(new URL('../examples/seed.ts', import.meta.url));
    const result = await runChild(file, []);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, APPENDIX);
    assert.equal(receiver.requests.length, 6);
  });
});

describe('RemoteWriteClient: counters', () => {
  it('sends the running total per series as <name>_total', async () => {
    const { cli } = client();
    await cli.counterInc('jobs', 1, { kind: 'a' }, T);
    await cli.counterInc('jobs', 2, { kind: 'a' }, T + 1000);
    await cli.counterInc('jobs', 5, { kind: 'b' }, T + 1000);
    await cli.counterInc('jobs', 0.5, { kind: 'a' }, T + 2000);
    assert.deepEqual(samples('jobs_total', { kind: 'a' }), [
      [1, T],
      [3, T + 1000],
      [3.5, T + 2000],
    ]);
    assert.deepEqual(samples('jobs_total', { kind: 'b' }), [[5, T + 1000]]);
  });

  it('treats numbers and booleans as the same label values as their text', async () => {
    const { cli } = client();
    await cli.counterInc('shards', 1, { shard: 1, ok: true }, T);
    await cli.counterInc('shards', 1, { shard: '1', ok: 'true' }, T + 1);
    assert.deepEqual(samples('shards_total'), [
      [1, T],
      [2, T + 1],
    ]);
  });

  it('stamps calls without a timestamp with now, 1 ms apart when they share a millisecond', async () => {
    const { cli } = client();
    const before = Date.now();
    await Promise.all([cli.counterInc('fast', 1), cli.counterInc('fast', 1), cli.counterInc('fast', 1)]);
    const got = samples('fast_total');
    assert.deepEqual(
      got.map(([v]) => v),
      [1, 2, 3],
    );
    for (let i = 1; i < got.length; i++) assert.ok(got[i]![1] > got[i - 1]![1], 'timestamps increase');
    assert.ok(got[0]![1] >= before && got[0]![1] <= Date.now() + 5);
  });

  it('adds job and instance only when asked, and no scope labels or target_info by default', async () => {
    const { cli } = client({ job: 'billing', instance: 'host-1', resource: { region: 'eu' } });
    await cli.gaugeSet('temp', 3, {}, T);
    assert.deepEqual(labelsOf(receiver.requests[0]!.decoded.timeseries[0]!), {
      __name__: 'temp',
      instance: 'host-1',
      job: 'billing',
    });
    assert.equal(receiver.requests[0]!.decoded.timeseries.length, 1, 'no target_info');

    const other = client({ job: 'billing', resource: { region: 'eu' }, withoutTargetInfo: false }).cli;
    await other.gaugeSet('temp2', 3, {}, T);
    assert.deepEqual(
      receiver.requests[1]!.decoded.timeseries.map((s) => labelsOf(s)['__name__']),
      ['temp2', 'target_info'],
    );
  });
});

describe('RemoteWriteClient: histograms', () => {
  it('accumulates buckets, count and sum across flushes', async () => {
    const { cli } = client({ buckets: { lat: [1, 5] } });
    cli.histogramQueue('lat', 0.5, {}, T);
    cli.histogramQueue('lat', 3, {}, T + 10);
    await cli.histogramFlush('lat');
    cli.histogramQueue('lat', 7, {}, T + 20);
    await cli.histogramFlush('lat');
    const bucket = (le: string) => samples('lat_bucket', { le });
    assert.deepEqual(bucket('1'), [
      [1, T + 10],
      [1, T + 20],
    ]);
    assert.deepEqual(bucket('5'), [
      [2, T + 10],
      [2, T + 20],
    ]);
    assert.deepEqual(bucket('+Inf'), [
      [2, T + 10],
      [3, T + 20],
    ]);
    assert.deepEqual(samples('lat_count'), [
      [2, T + 10],
      [3, T + 20],
    ]);
    assert.deepEqual(samples('lat_sum'), [
      [3.5, T + 10],
      [10.5, T + 20],
    ]);
  });

  it('flush() sends histograms that were queued but not flushed', async () => {
    const { cli } = client();
    cli.histogramQueue('forgotten_seconds', 0.2, { a: 'x' }, T);
    await cli.flush();
    assert.deepEqual(samples('forgotten_seconds_count'), [[1, T]]);
    assert.deepEqual(
      samples('forgotten_seconds_bucket').map(([v]) => v),
      [1, 1, 1, 1, 1, 1],
    );
  });

  it('refuses changed bounds for a histogram that already counts', async () => {
    const { cli } = client();
    cli.histogramQueue('h', 1, {}, T);
    assert.throws(
      () => cli.setBuckets('h', [1, 2]),
      /h\{\}|already counts with buckets \[0.5, 1, 2.5, 5, 10\]/,
    );
    cli.setBuckets('other', [1, 2]);
    cli.histogramQueue('other', 1.5, {}, T);
    await cli.histogramFlush('other');
    assert.deepEqual(samples('other_bucket', { le: '2' }), [[1, T]]);
  });
});

describe('RemoteWriteClient: bad input is refused before anything is sent', () => {
  const cases: Array<[string, (cli: RemoteWriteClient) => unknown, RegExp]> = [
    ['empty metric name', (c) => c.counterInc('', 1), /metric name must be a non-empty string/],
    ['invalid metric name', (c) => c.gaugeSet('billing-orders', 1), /invalid metric name "billing-orders"/],
    ['metric name not a string', (c) => c.gaugeSet(42 as unknown as string, 1), /non-empty string, got 42/],
    ['NaN increment', (c) => c.counterInc('c', NaN), /"c".*finite number, got NaN/],
    ['infinite increment', (c) => c.counterInc('c', Infinity), /finite number, got Infinity/],
    ['negative increment', (c) => c.counterInc('c', -1), /"c".*must not be negative.*-1/],
    ['increment as text', (c) => c.counterInc('c', '3' as unknown as number), /finite number, got "3"/],
    [
      'gauge value as text',
      (c) => c.gaugeSet('g', '3' as unknown as number),
      /"g".*must be a number, got "3"/,
    ],
    [
      'label value an object',
      (c) => c.gaugeSet('g', 1, { a: {} as unknown as string }),
      /label "a".*string, number or boolean, got an object/,
    ],
    ['label value null', (c) => c.gaugeSet('g', 1, { a: null as unknown as string }), /label "a".*got null/],
    ['label value empty', (c) => c.gaugeSet('g', 1, { a: '' }), /label "a".*empty/],
    ['invalid label name', (c) => c.gaugeSet('g', 1, { 'a-b': 'x' }), /label "a-b".*invalid label name/],
    ['reserved label name', (c) => c.gaugeSet('g', 1, { __x: 'x' }), /label "__x".*reserved/],
    ['le on a histogram', (c) => c.histogramQueue('h', 1, { le: '1' }), /label "le".*set by the client/],
    [
      'labels an array',
      (c) => c.gaugeSet('g', 1, [] as unknown as Record<string, string>),
      /labels must be an object/,
    ],
    [
      'timestamp in seconds',
      (c) => c.gaugeSet('g', 1, {}, 1_700_000_000),
      /g: timestamp 1700000000 looks like seconds/,
    ],
    [
      'timestamp not a number',
      (c) => c.gaugeSet('g', 1, {}, 'now' as unknown as number),
      /timestamp must be milliseconds.*got "now"/,
    ],
    ['histogram observation NaN', (c) => c.histogramQueue('h', NaN), /"h".*finite number, got NaN/],
    [
      'histogram timestamp in seconds',
      (c) => c.histogramQueue('h', 1, {}, 1_700_000_000),
      /looks like seconds/,
    ],
    ['bounds not increasing', (c) => c.setBuckets('h', [1, 1]), /strictly increasing, but 1 follows 1/],
    ['bounds with NaN', (c) => c.setBuckets('h', [1, NaN]), /bound #2 must be a number/],
    [
      'one name, two types',
      async (c) => {
        await c.counterInc('dual', 1, {}, T);
        return c.gaugeSet('dual_total', 1, {}, T + 1);
      },
      /"dual_total" is already a counter/,
    ],
  ];
  for (const [what, call, message] of cases) {
    it(what, async () => {
      const { cli, debug } = client();
      await assert.rejects(async () => call(cli), message);
      await cli.flush();
      // Only the counter of the two-types case was sent.
      const expected = what === 'one name, two types' ? 1 : 0;
      assert.equal(receiver.requests.length, expected);
      assert.equal(debug.length, expected);
    });
  }

  it('a refused call leaves no trace: the name stays free for another type', async () => {
    const { cli } = client();
    await assert.rejects(cli.gaugeSet('fresh_total', 1, {}, 1_700_000_000), /looks like seconds/);
    await cli.counterInc('fresh', 1, {}, T);
    assert.deepEqual(samples('fresh_total'), [[1, T]]);
  });

  it('refuses bucket bounds in the options at construction', () => {
    assert.throws(
      () => new RemoteWriteClient({ url: receiver.url, flushOnExit: false, buckets: { h: [2, 1] } }),
      /option "buckets.h": bucket bounds must be strictly increasing, but 1 follows 2/,
    );
    assert.throws(
      () =>
        new RemoteWriteClient({ url: receiver.url, flushOnExit: false, batch: 'yes' as unknown as boolean }),
      /option "batch" must be true or false/,
    );
  });

  it('refuses out-of-order and duplicate timestamps, naming the series', async () => {
    const { cli } = client();
    await cli.gaugeSet('depth', 1, { queue: 'a' }, T + 1000);
    await assert.rejects(
      cli.gaugeSet('depth', 2, { queue: 'a' }, T + 1000),
      /depth\{queue="a"\}: timestamp 1700000001000 is the same as this series' last one/,
    );
    await assert.rejects(
      cli.gaugeSet('depth', 2, { queue: 'a' }, T),
      /depth\{queue="a"\}: timestamp 1700000000000 is before/,
    );
    await cli.gaugeSet('depth', 2, { queue: 'b' }, T); // another series has its own order
    cli.histogramQueue('h', 1, {}, T + 50);
    await cli.histogramFlush('h');
    assert.throws(() => cli.histogramQueue('h', 1, {}, T + 50), /h\{\}|h: timestamp .* same as/);
    assert.equal(receiver.requests.length, 3);
    assert.deepEqual(samples('depth', { queue: 'a' }), [[1, T + 1000]]);
  });
});

describe('RemoteWriteClient: batch mode', () => {
  it('holds everything until flush() and sends one request for distinct series', async () => {
    const { cli, debug } = client({ batch: true });
    await cli.counterInc('a', 1, {}, T);
    await cli.gaugeSet('b', 2, { x: '1' }, T);
    await cli.gaugeSet('b', 3, { x: '2' }, T);
    cli.histogramQueue('c', 0.7, {}, T);
    await cli.histogramFlush('c');
    assert.equal(receiver.requests.length, 0);
    await cli.flush();
    assert.equal(receiver.requests.length, 1);
    assert.equal(debug.length, 1);
    assert.equal(receiver.requests[0]!.decoded.timeseries.length, 1 + 2 + 8); // 6 buckets, _sum, _count
  });

  it('sends several values of one series as consecutive requests, in order', async () => {
    const { cli } = client({ batch: true });
    for (let i = 0; i < 3; i++) await cli.counterInc('n', 1, {}, T + i);
    await cli.gaugeSet('other', 1, {}, T);
    await cli.flush();
    assert.equal(receiver.requests.length, 3);
    assert.deepEqual(samples('n_total'), [
      [1, T],
      [2, T + 1],
      [3, T + 2],
    ]);
  });

  it('splits at maxSamplesPerSend', async () => {
    const { cli } = client({ batch: true, maxSamplesPerSend: 2 });
    for (let i = 0; i < 5; i++) await cli.gaugeSet('g', i, { i }, T);
    await cli.close();
    assert.equal(receiver.requests.length, 3);
    assert.equal(samples('g').length, 5);
  });
});

describe('RemoteWriteClient: failures', () => {
  it('rejects with the receiver status and answer', async () => {
    const { cli } = client();
    receiver.answers.push({ status: 400, body: 'bad' });
    await assert.rejects(cli.gaugeSet('g', 1, {}, T), (err: Error) => {
      assert.match(err.message, /^RemoteWriteClient: sending g failed: .*HTTP 400.*bad/);
      return true;
    });
    await cli.gaugeSet('g', 2, {}, T + 1);
    assert.equal(receiver.requests.length, 2);
  });

  it('flush() in batch mode rejects when a request fails', async () => {
    const { cli } = client({ batch: true });
    receiver.answers.push({ status: 400, body: 'out of bounds' });
    await cli.gaugeSet('g', 1, {}, T);
    await assert.rejects(cli.flush(), /HTTP 400.*out of bounds/);
  });

  it('fails calls after close()', async () => {
    const { cli } = client();
    await cli.close();
    await assert.rejects(cli.counterInc('c', 1), /counterInc: the client is closed/);
    assert.throws(() => cli.histogramQueue('h', 1), /closed/);
  });
});

describe('RemoteWriteClient: stateFile', () => {
  it('continues counter totals and histogram counts across two clients', async () => {
    const stateFile = join(tmp, 'two-clients', 'state.json');
    const first = client({ stateFile, job: 'cron' }).cli;
    await first.counterInc('items', 10, { q: 'a' }, T);
    first.histogramQueue('run_seconds', 3, {}, T);
    await first.close();
    const saved = JSON.parse(readFileSync(stateFile, 'utf8'));
    assert.equal(saved.series['items_total{q="a"}'].total, 10);
    assert.deepEqual(readdirSync(join(tmp, 'two-clients')), ['state.json'], 'no temporary file left');

    const second = client({ stateFile, job: 'cron' }).cli;
    await second.counterInc('items', 5, { q: 'a' }, T + 60_000);
    second.histogramQueue('run_seconds', 4, {}, T + 60_000);
    await assert.rejects(second.counterInc('items', 1, { q: 'a' }, T), /before this series' last one/);
    await second.close();
    assert.deepEqual(samples('items_total'), [
      [10, T],
      [15, T + 60_000],
    ]);
    assert.deepEqual(samples('run_seconds_count'), [
      [1, T],
      [2, T + 60_000],
    ]);
    assert.equal(JSON.parse(readFileSync(stateFile, 'utf8')).series['items_total{q="a"}'].total, 15);
  });

  it('continues across two runs of a cron job in child processes', async () => {
    const stateFile = join(tmp, 'cron', 'state.json');
    const child = fileURLToPath(new URL('./fixtures/client-cron-child.ts', import.meta.url));
    for (const inc of ['7', '5']) {
      const r = await runChild(child, [stateFile, inc]);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.deepEqual(
      samples('cron_items_processed_total', { job: 'cron', queue: 'payments' }).map(([v]) => v),
      [7, 12],
    );
  });

  it('refuses a corrupt state file instead of starting from 0', () => {
    const stateFile = join(tmp, 'corrupt.json');
    writeFileSync(stateFile, '{"version":1,"series":');
    assert.throws(
      () => new RemoteWriteClient({ url: receiver.url, flushOnExit: false, stateFile }),
      /stateFile .*corrupt\.json is not a valid state file \(not JSON.*delete it/,
    );
  });
});

describe('RemoteWriteClient: flush at exit', () => {
  const child = fileURLToPath(new URL('./fixtures/client-exit-child.ts', import.meta.url));

  it('sends what a script left unsent when it runs out of work, keeping its exit code', async () => {
    const r = await runChild(child, ['natural']);
    assert.equal(r.code, 3, r.stderr);
    assert.deepEqual(
      samples('exit_child_runs_total', { mode: 'natural' }).map(([v]) => v),
      [42],
    );
    assert.deepEqual(
      samples('exit_child_seconds_count', { mode: 'natural' }).map(([v]) => v),
      [1],
    );
  });

  it('sends it on SIGTERM, then ends by that signal', async () => {
    const r = await runChild(child, ['signal'], 'SIGTERM');
    assert.equal(r.signal, 'SIGTERM', r.stderr);
    assert.deepEqual(
      samples('exit_child_runs_total', { mode: 'signal' }).map(([v]) => v),
      [42],
    );
  });

  it('reports a failed flush at exit on stderr and in the exit status', async () => {
    receiver.answers.push({ status: 400, body: 'nope' });
    const r = await runChild(child, ['natural']);
    assert.equal(r.code, 3, 'the script chose its exit code itself');
    assert.match(r.stderr, /RemoteWriteClient: .*HTTP 400.*nope \(at process exit\)/);
  });
});
