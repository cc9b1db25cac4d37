/**
 * `headers` as a function (rotating tokens) and `tenant`, seen by the mock receiver, which
 * records every request's headers.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import { PrometheusRemoteWriteExporter, type PrometheusRemoteWriteExporterOptions } from '../src/index.js';
import { startMockReceiver, type MockReceiver } from './helpers/mock-receiver.js';
import { exportOnce, exportQueued, gauge, point, resourceMetrics, sum } from './helpers/otel.js';
import { receiverOrSkip, startPrometheus, type Receiver } from './helpers/receivers.js';

const FAST = { minBackoffMillis: 20, maxBackoffMillis: 80, maxRetryElapsedMillis: 2000 };
const NOW = Date.now();
const metrics = (value: number) =>
  resourceMetrics([sum({ name: 'jobs' }, [point(value, {}, NOW + value, NOW - 60_000)])]);
const SECRET = 'rotating-s3cret';

let receiver: MockReceiver;
const exporters: PrometheusRemoteWriteExporter[] = [];
function exporter(options: Partial<PrometheusRemoteWriteExporterOptions>): PrometheusRemoteWriteExporter {
  const e = new PrometheusRemoteWriteExporter({ url: receiver.url, ...FAST, ...options });
  exporters.push(e);
  return e;
}

before(async () => {
  receiver = await startMockReceiver();
});
after(async () => {
  await receiver.close();
});
beforeEach(() => {
  receiver.requests.length = 0;
  receiver.answers.length = 0;
});
afterEach(async () => {
  for (const e of exporters.splice(0)) await e.shutdown();
});

describe('headers as a function', () => {
  it('is called for every request: each sees the value of its own call (sync)', async () => {
    let n = 0;
    const e = exporter({ headers: () => ({ 'X-Token': `t${++n}` }) });
    for (let i = 1; i <= 3; i++)
      assert.equal((await exportOnce(e, metrics(i))).code, ExportResultCode.SUCCESS);
    assert.deepEqual(
      receiver.requests.map((r) => r.headers['x-token']),
      ['t1', 't2', 't3'],
    );
  });

  it('may be async, and is called again for a retry', async () => {
    let n = 0;
    const e = exporter({
      headers: async () => {
        await new Promise((r) => setTimeout(r, 5));
        return { Authorization: `Bearer v${++n}` };
      },
    });
    receiver.answers.push({ status: 503 });
    assert.equal((await exportOnce(e, metrics(1))).code, ExportResultCode.SUCCESS);
    assert.deepEqual(
      receiver.requests.map((r) => [r.headers.authorization, r.headers['retry-attempt']]),
      [
        ['Bearer v1', undefined],
        ['Bearer v2', '1'],
      ],
    );
  });

  it('a function that throws: the attempt fails and is retried with backoff', async () => {
    let n = 0;
    const e = exporter({
      headers: () => {
        if (++n <= 2) throw new Error('token service unavailable');
        return { 'X-Token': 'ok' };
      },
    });
    assert.equal((await exportOnce(e, metrics(1))).code, ExportResultCode.SUCCESS);
    assert.equal(n, 3);
    assert.equal(receiver.requests.length, 1);
    assert.equal(receiver.requests[0]!.headers['x-token'], 'ok');
  });

  it('a function that keeps rejecting: export() does not throw, the error says headers() failed and why', async () => {
    const e = exporter({
      headers: () => Promise.reject(new Error('vault sealed')),
      maxRetryElapsedMillis: 200,
    });
    assert.equal((await exportQueued(e, metrics(1))).code, ExportResultCode.SUCCESS, 'queued');
    const result = await exportOnce(e, metrics(2));
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(
      result.error!.message,
      /remote write to http:\/\/127\.0\.0\.1:\d+\/api\/v1\/write failed: headers\(\) failed: vault sealed/,
    );
    assert.equal(receiver.requests.length, 0);
    assert.ok(e.stats().samplesDropped.retries_exhausted >= 1);
  });

  // [what it returns, other options, the message]: permanent, not retried, value never quoted.
  const badResults: Array<[string, unknown, Partial<PrometheusRemoteWriteExporterOptions>, RegExp]> = [
    [
      'CR/LF in a value',
      { 'X-Token': `${SECRET}\r\nX-Evil: 1` },
      {},
      /headers\(\) returned a value for header "X-Token" that must not contain CR or LF/,
    ],
    ['an empty name', { '': SECRET }, {}, /headers\(\) returned "", which is an empty header name/],
    [
      'a number',
      { 'X-Token': 12345 },
      {},
      /headers\(\) returned a number for header "X-Token"; header values must be strings/,
    ],
    ['not an object', SECRET, {}, /headers\(\) returned string, not an object of string values/],
    [
      'a protocol header',
      { 'content-type': SECRET },
      {},
      /headers\(\) returned header "content-type", which the remote-write protocol sets/,
    ],
    [
      'Authorization next to bearerToken',
      { Authorization: SECRET },
      { bearerToken: 'b' },
      /headers\(\) returned header "Authorization", which bearerToken sets/,
    ],
    [
      'X-Scope-OrgID next to tenant',
      { 'X-Scope-OrgID': SECRET },
      { tenant: 't' },
      /headers\(\) returned header "X-Scope-OrgID", which tenant sets/,
    ],
  ];
  for (const [what, returned, options, message] of badResults) {
    it(`a result with ${what} fails that request at once (permanent), naming headers()`, async () => {
      let calls = 0;
      const e = exporter({ ...options, headers: () => (calls++, returned as Record<string, string>) });
      const result = await exportOnce(e, metrics(1));
      assert.equal(result.code, ExportResultCode.FAILED);
      assert.match(result.error!.message, message);
      assert.ok(!result.error!.message.includes(SECRET) && !result.error!.message.includes('12345'));
      assert.equal(calls, 1, 'not retried');
      assert.equal(e.stats().samplesDropped.rejected, 1);
      assert.equal(receiver.requests.length, 0);
    });
  }
});

describe('tenant', () => {
  it('is sent as X-Scope-OrgID next to the other headers, on every request', async () => {
    const e = exporter({ tenant: 'team-a', headers: () => ({ 'X-Token': 'x' }), bearerToken: 'b' });
    assert.equal((await exportOnce(e, metrics(1))).code, ExportResultCode.SUCCESS);
    const h = receiver.requests[0]!.headers;
    assert.equal(h['x-scope-orgid'], 'team-a');
    assert.equal(h['x-token'], 'x');
    assert.equal(h.authorization, 'Bearer b');
  });
});

const { skip } = receiverOrSkip('prometheus');

describe('tenant and a headers function against Prometheus 2.42', { skip }, () => {
  let prometheus: Receiver;
  before(async () => {
    prometheus = await startPrometheus();
  });
  after(async () => {
    await prometheus?.stop();
  });

  it('are accepted: what was pushed reads back with PromQL', async () => {
    let n = 0;
    const e = exporter({
      url: prometheus.writeUrl,
      tenant: 'team-a',
      headers: async () => ({ 'X-Request-Token': `t${++n}` }),
      withoutTargetInfo: true,
    });
    const now = Date.now();
    const rm = resourceMetrics([gauge({ name: 'tenant.probe' }, [point(42, { via: 'headers-fn' }, now)])]);
    assert.equal((await exportOnce(e, rm)).code, ExportResultCode.SUCCESS);
    const result = await prometheus.queryUntil('tenant_probe', (r) => r.length === 1, { time: now / 1000 });
    assert.equal(result[0]!.value[1], '42');
    assert.equal(result[0]!.metric['via'], 'headers-fn');
    assert.equal(n, 1);
  });
});
