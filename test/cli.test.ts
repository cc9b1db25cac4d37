/**
 * The `prw` command as a user runs it: the built dist/prw.js in a child process (`npm test`
 * builds first), against a loopback receiver.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RemoteWriteClient } from '../src/index.js';
import { runNode, type ChildRun } from './helpers/child.js';
import { labelsOf, seriesNamed, startMockReceiver, type MockReceiver } from './helpers/mock-receiver.js';

const PRW = fileURLToPath(new URL('../dist/prw.js', import.meta.url));
const T = 1_700_000_000_000;

let receiver: MockReceiver;
let tmp: string;
before(async () => {
  receiver = await startMockReceiver();
  tmp = mkdtempSync(join(tmpdir(), 'rw-cli-'));
});
after(async () => {
  await receiver.close();
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  receiver.requests.length = 0;
  receiver.answers.length = 0;
});

type Run = ChildRun;

/** Runs prw without any PRW_* variable of the environment running the tests. */
function prw(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runNode([PRW, ...args], { env, drop: /^PRW_/ });
}

function values(name: string): number[] {
  return seriesNamed(receiver.requests, name).flatMap((s) => s.samples.map((x) => x.value));
}

describe('prw --help', () => {
  for (const [args, first] of [
    [['--help'], 'Usage: prw <command>'],
    [['push', '--help'], 'Usage: prw push [options] counter NAME INCREMENT'],
    [['receive', '-h'], 'Usage: prw receive [options]'],
  ] as const) {
    it(`prw ${args.join(' ')}`, async () => {
      const r = await prw([...args]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.startsWith(first), r.stdout);
    });
  }

  it('without a command prints help and fails', async () => {
    const r = await prw([]);
    assert.equal(r.code, 2);
    assert.match(r.stdout, /Commands:/);
  });
});

describe('prw push', () => {
  it('pushes a counter increment with labels and a timestamp', async () => {
    const r = await prw([
      'push',
      '--url',
      receiver.url,
      'counter',
      'backup_runs',
      '3',
      '-l',
      'host=db1',
      '--label',
      'tier=gold',
      '-t',
      String(T),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(receiver.requests.length, 1);
    const [s] = seriesNamed(receiver.requests, 'backup_runs_total');
    assert.deepEqual(labelsOf(s!), { __name__: 'backup_runs_total', host: 'db1', tier: 'gold' });
    assert.deepEqual(s!.samples, [{ value: 3, timestamp: T }]);
    assert.equal(r.stdout, '');
  });

  it('pushes a negative gauge, with the endpoint, job and headers from the environment', async () => {
    const r = await prw(['push', 'gauge', 'temperature_celsius', '-4.5'], {
      PRW_URL: receiver.url,
      PRW_JOB: 'weather',
      PRW_HEADERS: 'X-Scope-OrgID: tenant-1\nX-Other: b',
      PRW_BEARER_TOKEN: 's3cret',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(values('temperature_celsius'), [-4.5]);
    assert.equal(labelsOf(seriesNamed(receiver.requests, 'temperature_celsius')[0]!)['job'], 'weather');
    const headers = receiver.requests[0]!.headers;
    assert.equal(headers['x-scope-orgid'], 'tenant-1');
    assert.equal(headers['x-other'], 'b');
    assert.equal(headers['authorization'], 'Bearer s3cret');
  });

  it('pushes histogram observations into the given buckets', async () => {
    const r = await prw([
      'push',
      '--url',
      receiver.url,
      'histogram',
      'job_seconds',
      '0.3',
      '1.2',
      '8.9',
      '--buckets',
      '1,5',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const buckets = seriesNamed(receiver.requests, 'job_seconds_bucket').map((s) => [
      labelsOf(s)['le'],
      s.samples[0]!.value,
    ]);
    assert.deepEqual(buckets, [
      ['1', 1],
      ['5', 2],
      ['+Inf', 3],
    ]);
    assert.deepEqual(values('job_seconds_count'), [3]);
    assert.deepEqual(values('job_seconds_sum'), [10.4]);
  });

  it('--dry-run prints the debug text and sends nothing, without an endpoint', async () => {
    const r = await prw(['push', '--dry-run', 'gauge', 'queue_depth', '36', '-l', 'queue=pay"ments'], {
      PRW_BEARER_TOKEN: 'never-printed',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      '[DEBUG] remote_write_req_seq: 1\n# TYPE queue_depth gauge\nqueue_depth{queue="pay\\"ments"} 36\n\n',
    );
    assert.doesNotMatch(r.stdout + r.stderr, /never-printed/);
    assert.equal(receiver.requests.length, 0);
  });

  it('--debug prints the request and sends it, without the Authorization header', async () => {
    const r = await prw([
      'push',
      '--url',
      receiver.url,
      '--debug',
      '--basic-auth',
      'u:pw-secret',
      'gauge',
      'g',
      '1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\[DEBUG\] remote_write_req_seq: 1\n# TYPE g gauge\ng 1\n\n$/);
    assert.doesNotMatch(r.stdout + r.stderr, /pw-secret|Authorization|Basic /);
    assert.equal(
      receiver.requests[0]!.headers['authorization'],
      'Basic ' + Buffer.from('u:pw-secret').toString('base64'),
    );
  });

  it('keeps a counter total across runs with --state-file', async () => {
    const stateFile = join(tmp, 'push-state.json');
    for (const inc of ['3', '2']) {
      const r = await prw([
        'push',
        '--url',
        receiver.url,
        '--state-file',
        stateFile,
        'counter',
        'files_copied',
        inc,
      ]);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.deepEqual(values('files_copied_total'), [3, 5]);
  });

  it('exits 1 with the receiver answer when the push is refused', async () => {
    receiver.answers.push({ status: 400, body: 'out of order sample' });
    const r = await prw(['push', '--url', receiver.url, 'gauge', 'g', '1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^prw: .*HTTP 400.*out of order sample/);
  });

  const usage: Array<[string, string[], RegExp]> = [
    ['no type', ['push', '--url', 'http://127.0.0.1:1/'], /needs a type: counter, gauge or histogram/],
    ['unknown type', ['push', '--dry-run', 'summary', 'x', '1'], /unknown type "summary"/],
    ['no value', ['push', '--dry-run', 'gauge', 'x'], /needs a value/],
    ['not a number', ['push', '--dry-run', 'gauge', 'x', 'abc'], /value must be a number, got "abc"/],
    ['two gauge values', ['push', '--dry-run', 'gauge', 'x', '1', '2'], /takes one value/],
    ['no endpoint', ['push', 'gauge', 'x', '1'], /no endpoint: give --url URL or set PRW_URL/],
    ['invalid name', ['push', '--dry-run', 'gauge', 'x-y', '1'], /invalid metric name "x-y"/],
    ['negative increment', ['push', '--dry-run', 'counter', 'c', '-1'], /must not be negative/],
    ['bad label', ['push', '--dry-run', 'gauge', 'x', '1', '-l', 'novalue'], /--label must be NAME=VALUE/],
    ['seconds timestamp', ['push', '--dry-run', 'gauge', 'x', '1', '-t', '1700000000'], /looks like seconds/],
    ['unknown option', ['push', '--dry-run', '--colour', 'gauge', 'x', '1'], /Unknown option '--colour'/],
    ['bad buckets', ['push', '--dry-run', 'histogram', 'h', '1', '--buckets', '5,1'], /strictly increasing/],
    ['unknown command', ['pull'], /unknown command "pull"/],
  ];
  for (const [what, args, message] of usage) {
    it(`exits 2 on bad usage: ${what}`, async () => {
      const r = await prw(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    });
  }
  it('sent nothing on any bad usage', () => assert.equal(receiver.requests.length, 0));
});

describe('prw receive', () => {
  /** Starts `prw receive --port 0`; resolves with its URL once it listens. */
  function startReceive(args: string[] = []) {
    const p = spawn(process.execPath, [PRW, 'receive', '--port', '0', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const url = new Promise<string>((resolve, reject) => {
      p.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /listening on (\S+)/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      p.on('exit', () => reject(new Error(`prw receive ended: ${stderr}`)));
    });
    const stop = () =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        p.on('exit', (code) => resolve({ code, stdout, stderr }));
        p.kill('SIGTERM');
      });
    return { url, stop, output: () => stdout };
  }

  function post(url: string, body: Buffer | string, headers: Record<string, string>, method = 'POST') {
    return new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>(
      (resolve, reject) => {
        const req = http.request(url, { method, headers }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
        });
        req.on('error', reject);
        req.end(body);
      },
    );
  }

  it('prints every request in the debug format, RW 1.0 and 2.0', async () => {
    const r = startReceive();
    const url = await r.url;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/write$/);
    const v1 = new RemoteWriteClient({ url, flushOnExit: false });
    await v1.counterInc('orders', 2, { shop: 'a' });
    cliHistogram(v1);
    await v1.histogramFlush('latency_seconds', { route: '/x' });
    await v1.close();
    const v2 = new RemoteWriteClient({ url, flushOnExit: false, protocol: 'v2' });
    await v2.gaugeSet('depth', 4);
    await v2.close();
    const { code, stdout, stderr } = await r.stop();
    assert.equal(code, 0, stderr);
    assert.equal(
      stdout,
      [
        '[DEBUG] remote_write_req_seq: 1',
        '# TYPE orders_total counter',
        'orders_total{shop="a"} 2',
        '',
        '[DEBUG] remote_write_req_seq: 2',
        '# TYPE latency_seconds histogram',
        'latency_seconds_bucket{route="/x",le="0.5"} 1',
        'latency_seconds_bucket{route="/x",le="1"} 1',
        'latency_seconds_bucket{route="/x",le="2.5"} 2',
        'latency_seconds_bucket{route="/x",le="5"} 2',
        'latency_seconds_bucket{route="/x",le="10"} 2',
        'latency_seconds_bucket{route="/x",le="+Inf"} 2',
        'latency_seconds_count{route="/x"} 2',
        'latency_seconds_sum{route="/x"} 2.1',
        '',
        '[DEBUG] remote_write_req_seq: 3',
        '# TYPE depth gauge',
        'depth 4',
        '',
        '',
      ].join('\n'),
    );
    assert.match(stderr, /stopped after 3 requests/);
  });

  it('prints timestamps with --timestamps, and answers 400, 415 and 405 with a reason', async () => {
    const r = startReceive(['--timestamps']);
    const url = await r.url;
    const rw1 = { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf' };
    const garbage = await post(url, 'not snappy at all', rw1);
    assert.equal(garbage.status, 400);
    assert.match(garbage.body, /snappy|decode/);
    const gzip = await post(url, 'x', { ...rw1, 'Content-Encoding': 'gzip' });
    assert.equal(gzip.status, 415);
    assert.match(gzip.body, /Content-Encoding must be snappy/);
    const json = await post(url, '{}', { ...rw1, 'Content-Type': 'application/json' });
    assert.equal(json.status, 415);
    const other = await post(url, 'x', { ...rw1, 'Content-Type': 'application/x-protobuf;proto=foo.Bar' });
    assert.equal(other.status, 415);
    assert.match(other.body, /unsupported message type "foo.Bar"/);
    const get = await post(url, '', {}, 'GET');
    assert.equal(get.status, 405);

    const c = new RemoteWriteClient({ url, flushOnExit: false });
    await c.gaugeSet('g', 1, {}, T);
    await c.close();
    const { stdout } = await r.stop();
    assert.equal(stdout, `[DEBUG] remote_write_req_seq: 1\n# TYPE g gauge\ng 1 ${T}\n\n`);
  });

  it('refuses a bad port', async () => {
    const r = await prw(['receive', '--port', 'http']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--port must be a port number/);
  });
});

function cliHistogram(c: RemoteWriteClient): void {
  c.histogramQueue('latency_seconds', 0.4, { route: '/x' });
  c.histogramQueue('latency_seconds', 1.7, { route: '/x' });
}
