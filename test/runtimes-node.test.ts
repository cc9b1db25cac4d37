/**
 * What lets the package run outside Node, checked in Node (the runtimes themselves:
 * test/runtimes/runtimes.test.ts, run by .ci/runtimes): the JavaScript snappy encoder against the
 * addon and against real Prometheus, the fallback when the addon is missing, the `fetch`
 * transport's headers, retries, timeout and errors, the options refused without Node's APIs,
 * and the build for Workers (dist/web.js) free of Node-only imports. Needs `npm run build`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { PrometheusRemoteWriteExporter, InvalidOptionError } from '../src/index.js';
import { withEnvironment } from '../src/env.js';
import { fetchPost } from '../src/deliver/fetch-post.js';
import { post, RequestTimeoutError, type PostOptions } from '../src/deliver/http.js';
import { RW1_HEADERS } from '../src/deliver/sender.js';
import { checkRuntimeSupport } from '../src/runtime-support.js';
import { jsSnappy, nativeSnappy, snappy } from '../src/wire/snappy.js';
import { encodeWriteRequest } from '../src/wire/rw1.js';
import { labelsOf, seriesNamed, startMockReceiver, type MockReceiver } from './helpers/mock-receiver.js';
import { freePort, receiverOrSkip, startPrometheus } from './helpers/receivers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('snappy: the native addon and the JavaScript encoder', () => {
  const body = encodeWriteRequest(
    Array.from({ length: 500 }, (_, i) => ({
      key: String(i),
      family: 'http_requests_total',
      labels: [
        { name: '__name__', value: 'http_requests_total' },
        { name: 'path', value: `/api/v${i % 7}/items/${i}` },
      ],
      samples: [{ value: i * 1.5, timestampMs: 1_700_000_000_000 + i }],
    })),
    [],
  );

  it('Node loads the addon, and the exporter says so', () => {
    assert.equal(snappy.kind, 'native');
    assert.ok(nativeSnappy);
    const exporter = new PrometheusRemoteWriteExporter({ url: 'http://127.0.0.1:9/api/v1/write' });
    assert.equal(exporter.compression, 'native');
    assert.equal(exporter.transport, 'node:http');
    void exporter.shutdown();
  });

  it('each decodes what the other encodes (the same block format), byte for byte', () => {
    const fromJs = jsSnappy.compress(body);
    const fromNative = nativeSnappy!.compress(body);
    assert.deepEqual(nativeSnappy!.uncompress(fromJs), Buffer.from(body));
    assert.deepEqual(jsSnappy.uncompress(fromNative), Buffer.from(body));
    // Not the framed format: a block starts with the varint of the uncompressed length.
    assert.notEqual(fromJs[0], 0xff);
    assert.ok(fromJs.byteLength < body.byteLength / 2);
  });

  it('without the addon (a copy of the package whose node_modules lacks snappy), the exporter uses snappyjs and says why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-no-addon-'));
    try {
      cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
      cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
      mkdirSync(join(dir, 'node_modules'));
      for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
        if (entry !== 'snappy' && entry !== '@napi-rs')
          symlinkSync(join(ROOT, 'node_modules', entry), join(dir, 'node_modules', entry));
      }
      const script = `
        const { diag, DiagLogLevel } = await import('@opentelemetry/api');
        const lines = [];
        diag.setLogger({ info: (m) => lines.push(m), debug() {}, warn() {}, error() {}, verbose() {} }, DiagLogLevel.INFO);
        const { PrometheusRemoteWriteExporter } = await import('./dist/index.js');
        const e = new PrometheusRemoteWriteExporter({ url: 'http://127.0.0.1:9/api/v1/write' });
        console.log(JSON.stringify({ compression: e.compression, lines }));
        await e.shutdown();`;
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
        cwd: dir,
      });
      const out = JSON.parse(stdout) as { compression: string; lines: string[] };
      assert.equal(out.compression, 'js');
      assert.equal(out.lines.length, 1);
      assert.match(
        out.lines[0]!,
        /snappy compression in JavaScript \(snappyjs\) because the native addon cannot be loaded: .*snappy/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(
    'real Prometheus stores what the JavaScript encoder compressed (PromQL)',
    { skip: receiverOrSkip('prometheus').skip },
    async () => {
      const prometheus = await startPrometheus();
      try {
        const exporter = new PrometheusRemoteWriteExporter(
          { url: prometheus.writeUrl },
          { compression: 'js' },
        );
        assert.equal(exporter.compression, 'js');
        const provider = new MeterProvider({
          readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })],
        });
        const meter = provider.getMeter('js-snappy');
        const counter = meter.createCounter('js.snappy.items');
        for (let i = 0; i < 300; i++) counter.add(i, { item: `item-${i}` });
        await provider.forceFlush();
        assert.equal(exporter.stats().requestsFailed, 0);
        const all = await prometheus.queryUntil(
          'count(js_snappy_items_total)',
          (r) => r[0]?.value[1] === '300',
        );
        assert.equal(all[0]!.value[1], '300');
        const one = await prometheus.query('js_snappy_items_total{item="item-299"}');
        assert.equal(one[0]!.value[1], '299');
        await provider.shutdown();
      } finally {
        await prometheus.stop();
      }
    },
  );
});

describe('the fetch transport', () => {
  let receiver: MockReceiver;
  before(async () => {
    receiver = await startMockReceiver();
  });
  after(async () => {
    await receiver.close();
  });

  // A valid body: the receiver decodes every request.
  const tiny = jsSnappy.compress(encodeWriteRequest([], []));
  const options = (url: string, extra: Partial<PostOptions> = {}): PostOptions => ({
    url: new URL(url),
    headers: { ...RW1_HEADERS, 'User-Agent': 'test/1', 'X-Scope-OrgID': 'team-a' },
    timeoutMillis: 5000,
    agent: new http.Agent(),
    ...extra,
  });

  it('sends what node:http sends: the same headers, the body, its length', async () => {
    const body = jsSnappy.compress(
      encodeWriteRequest(
        [
          {
            key: 'up',
            family: 'up',
            labels: [{ name: '__name__', value: 'up' }],
            samples: [{ value: 1, timestampMs: 1 }],
          },
        ],
        [],
      ),
    );
    receiver.requests.length = 0;
    const viaFetch = await fetchPost(body, options(receiver.url));
    const viaHttp = await post(body, options(receiver.url));
    assert.equal(viaFetch.status, 204);
    assert.equal(viaHttp.status, 204);
    const [a, b] = receiver.requests;
    for (const name of [
      'content-encoding',
      'content-type',
      'x-prometheus-remote-write-version',
      'user-agent',
      'x-scope-orgid',
      'content-length',
    ]) {
      assert.equal(a!.headers[name], b!.headers[name], name);
    }
    assert.equal(a!.headers['content-length'], String(body.byteLength));
    assert.deepEqual(a!.body, b!.body);
    assert.equal(seriesNamed([a!], 'up').length, 1);
  });

  it('answers with the status, lower-case headers and at most 1024 bytes of the body', async () => {
    receiver.answers.push({ status: 429, body: 'x'.repeat(5000), headers: { 'Retry-After': '7' } });
    const answer = await fetchPost(tiny, options(receiver.url));
    assert.equal(answer.status, 429);
    assert.equal(answer.headers['retry-after'], '7');
    assert.equal(answer.bodyPrefix.length, 1024);
  });

  it('gives up after timeoutMillis with a RequestTimeoutError, and on the abort signal', async () => {
    receiver.answers.push({ status: 204, hang: true });
    await assert.rejects(fetchPost(tiny, options(receiver.url, { timeoutMillis: 200 })), RequestTimeoutError);
    receiver.answers.push({ status: 204, hang: true });
    const controller = new AbortController();
    const sent = fetchPost(tiny, options(receiver.url, { signal: controller.signal }));
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(sent, /aborted: shutdown deadline reached/);
  });

  it('says why a connection failed (the cause of "fetch failed")', async () => {
    const closed = await freePort();
    await assert.rejects(
      fetchPost(tiny, options(`http://127.0.0.1:${closed}/api/v1/write`)),
      /fetch failed: .*ECONNREFUSED/,
    );
  });

  it('the exporter over fetch retries a 503 with Retry-Attempt, and drops a 400 as rejected', async () => {
    const exporter = new PrometheusRemoteWriteExporter(
      { url: receiver.url, minBackoffMillis: 10, externalLabels: { t: 'fetch' } },
      { transport: 'fetch' },
    );
    assert.equal(exporter.transport, 'fetch');
    const provider = new MeterProvider({
      readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })],
    });
    const counter = provider.getMeter('fetch').createCounter('fetch.sent');
    receiver.requests.length = 0;
    receiver.answers.push({ status: 503, body: 'busy' });
    counter.add(2);
    await provider.forceFlush();
    assert.equal(receiver.requests.length, 2);
    assert.equal(receiver.requests[1]!.headers['retry-attempt'], '1');
    assert.equal(seriesNamed(receiver.requests, 'fetch_sent_total').at(-1)!.samples[0]!.value, 2);
    assert.equal(labelsOf(seriesNamed(receiver.requests, 'fetch_sent_total')[0]!)['t'], 'fetch');
    assert.ok(exporter.stats().samplesRetried > 0);

    receiver.answers.push({ status: 400, body: 'out of order sample' });
    counter.add(1);
    await provider.forceFlush();
    assert.ok(exporter.stats().samplesDropped.rejected > 0);
    await provider.shutdown();
  });
});

describe('options that need Node, in a runtime without it (the Workers build)', () => {
  const url = 'https://metrics.example/api/v1/write';
  const check = (options: Record<string, unknown>, env: Record<string, string> = {}) => {
    const { options: merged, sources } = withEnvironment({ url, ...options }, env);
    checkRuntimeSupport(merged, new URL(url), sources, false);
  };
  const refused = (fn: () => void, pattern: RegExp) =>
    assert.throws(fn, (err: Error) => err instanceof InvalidOptionError && pattern.test(err.message));

  it('refuses agent, spoolDir, oauth2, sigv4, tls and proxy, naming the option', () => {
    refused(
      () => check({ agent: new http.Agent() }),
      /option "agent" is not supported in this runtime: requests go through fetch/,
    );
    refused(
      () => check({ spoolDir: '/tmp/x' }),
      /option "spoolDir" is not supported in this runtime: it has no file system/,
    );
    refused(
      () => check({ oauth2: { tokenUrl: url, clientId: 'a', clientSecret: 's3cret' } }),
      /option "oauth2" is not supported/,
    );
    refused(() => check({ sigv4: { region: 'us-east-1' } }), /option "sigv4" is not supported/);
    refused(() => check({ tls: { caFile: '/etc/ca.pem' } }), /option "tls" is not supported in this runtime/);
    refused(() => check({ proxy: 'http://proxy.example:3128' }), /option "proxy" is not supported/);
  });

  it('names the environment variable a TLS file or a proxy came from', () => {
    refused(
      () => check({}, { OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_CERTIFICATE: '/etc/ca.pem' }),
      /environment variable OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_CERTIFICATE is not supported/,
    );
    const saved = process.env['HTTPS_PROXY'];
    process.env['HTTPS_PROXY'] = 'http://user:pw@proxy.example:3128';
    try {
      assert.throws(
        () => check({}),
        (err: Error) =>
          /environment variable HTTPS_PROXY is set, but this runtime sends with fetch/.test(err.message) &&
          !err.message.includes('pw'),
      );
      check({ proxy: false }); // the variable ignored on purpose
    } finally {
      if (saved === undefined) delete process.env['HTTPS_PROXY'];
      else process.env['HTTPS_PROXY'] = saved;
    }
  });

  it('takes everything else, and the Node.js build takes these too', () => {
    check({ headers: { 'X-Token': 'a' }, bearerToken: undefined, timeoutMillis: 1000, proxy: false });
    const { options: merged, sources } = withEnvironment(
      { url, agent: new http.Agent(), spoolDir: '/tmp/x' },
      {},
    );
    checkRuntimeSupport(merged, new URL(url), sources);
  });
});

describe('the build for Workers (dist/web.js)', () => {
  it('is what package.json gives the workerd condition', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, Record<string, { default: string }>>;
    };
    assert.equal(pkg.exports['.']!['workerd']!.default, './dist/web.js');
    assert.equal(pkg.exports['.']!['worker'], undefined); // browsers' Web Workers too
  });

  it('imports nothing Node-only but node:util, and neither the addon nor node:http', () => {
    const text = readFileSync(join(ROOT, 'dist', 'web.js'), 'utf8');
    const imported = new Set(
      [
        ...text.matchAll(
          /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/gm,
        ),
      ].map((m) => m[1] ?? m[2]),
    );
    assert.ok(imported.size > 0);
    const nodeOnly = [...imported].filter(
      (s) =>
        s!.startsWith('node:') ||
        ['http', 'https', 'fs', 'tls', 'net', 'snappy', 'http-proxy-agent', 'https-proxy-agent'].includes(s!),
    );
    assert.deepEqual(nodeOnly, ['node:util']);
    assert.ok(imported.has('snappyjs'));
    assert.doesNotMatch(text, /(?<![\w$])require\(/); // no CommonJS require of anything
  });
});
