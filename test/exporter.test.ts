import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  InstrumentType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  PrometheusRemoteWriteExporter,
  RemoteWriteError,
  type PrometheusRemoteWriteExporterOptions,
} from '../src/index.js';
import { STALE_NAN_BYTES } from '../src/wire/rw1.js';
import { labelsOf, seriesNamed, startMockReceiver, type MockReceiver } from './helpers/mock-receiver.js';
import { exportOnce, gauge, point, resourceMetrics } from './helpers/otel.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

function withProvider(options: PrometheusRemoteWriteExporterOptions, temporality?: AggregationTemporality) {
  const exporter = new PrometheusRemoteWriteExporter(options);
  const reader = new PeriodicExportingMetricReader({
    exporter: temporality === undefined ? exporter : withTemporality(exporter, temporality),
    exportIntervalMillis: 3_600_000,
  });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({
      'service.name': 'checkout',
      'service.instance.id': 'i-1',
      'host.name': 'box',
    }),
    readers: [reader],
  });
  return { exporter, provider, meter: provider.getMeter('shop.metrics', '1.0.0') };
}

/** The same exporter, but asking the SDK for another temporality (a user's delta reader). */
function withTemporality(exporter: PrometheusRemoteWriteExporter, t: AggregationTemporality) {
  return {
    export: exporter.export.bind(exporter),
    forceFlush: exporter.forceFlush.bind(exporter),
    shutdown: exporter.shutdown.bind(exporter),
    selectAggregationTemporality: () => t,
  };
}

let receiver: MockReceiver;
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

describe('requests', () => {
  it('MeterProvider → one POST with the remote-write headers and every instrument kind', async () => {
    const { provider, meter } = withProvider({ url: receiver.url, headers: { 'X-Scope-OrgID': 'tenant-1' } });
    const started = Date.now();
    meter
      .createCounter('http.requests', { unit: '{request}', description: 'Requests served' })
      .add(3, { method: 'GET' });
    meter.createUpDownCounter('queue.size').add(-2);
    meter.createGauge('temperature', { unit: 'Cel' }).record(21.5, { room: 'a' });
    meter.createObservableGauge('memory.used', { unit: 'By' }).addCallback((r) => r.observe(1024));
    const h = meter.createHistogram('job.duration', {
      unit: 's',
      advice: { explicitBucketBoundaries: [0.5, 1, 2.5] },
    });
    for (const v of [0.2, 0.7, 3]) h.record(v);
    await provider.forceFlush();

    assert.equal(receiver.requests.length, 1);
    const req = receiver.requests[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/api/v1/write');
    assert.equal(req.headers['content-encoding'], 'snappy');
    assert.equal(req.headers['content-type'], 'application/x-protobuf');
    assert.equal(req.headers['x-prometheus-remote-write-version'], '0.1.0');
    assert.equal(req.headers['user-agent'], `opentelemetry-exporter-prometheus-remote-write/${pkg.version}`);
    assert.equal(req.headers['x-scope-orgid'], 'tenant-1');

    const all = req.decoded.timeseries;
    for (const s of all) {
      const names = s.labels.map((l) => l.name);
      assert.deepEqual(names, [...names].sort(), 'sorted by name');
      assert.equal(new Set(names).size, names.length, 'unique');
      assert.ok(names.includes('__name__'));
      assert.ok(
        s.labels.every((l) => l.value !== ''),
        'no empty values',
      );
      for (const sample of s.samples) {
        assert.ok(
          sample.timestamp >= started - 5 && sample.timestamp <= Date.now() + 5,
          'ms timestamp of now',
        );
      }
    }
    const one = (name: string) => {
      const found = seriesNamed(receiver.requests, name);
      assert.equal(found.length, 1, name);
      return found[0]!;
    };
    assert.deepEqual(labelsOf(one('http_requests_total')), {
      __name__: 'http_requests_total',
      method: 'GET',
      job: 'checkout',
      instance: 'i-1',
      otel_scope_name: 'shop.metrics',
      otel_scope_version: '1.0.0',
    });
    assert.equal(one('http_requests_total').samples[0]?.value, 3);
    assert.equal(one('queue_size').samples[0]?.value, -2);
    assert.equal(one('temperature_celsius').samples[0]?.value, 21.5);
    assert.equal(one('memory_used_bytes').samples[0]?.value, 1024);
    assert.deepEqual(
      seriesNamed(receiver.requests, 'job_duration_seconds_bucket').map((s) => [
        labelsOf(s)['le'],
        s.samples[0]?.value,
      ]),
      [
        ['0.5', 1],
        ['1', 2],
        ['2.5', 2],
        ['+Inf', 3],
      ],
    );
    assert.equal(one('job_duration_seconds_count').samples[0]?.value, 3);
    assert.ok(Math.abs(one('job_duration_seconds_sum').samples[0]!.value - 3.9) < 1e-9);
    assert.deepEqual(labelsOf(one('target_info')), {
      __name__: 'target_info',
      job: 'checkout',
      instance: 'i-1',
      host_name: 'box',
    });

    const meta = Object.fromEntries(req.decoded.metadata.map((m) => [m.metricFamilyName, m]));
    assert.equal(req.decoded.metadata.length, Object.keys(meta).length, 'one entry per family');
    assert.deepEqual(
      [meta['http_requests_total']?.type, meta['http_requests_total']?.help],
      ['COUNTER', 'Requests served'],
    );
    assert.equal(meta['queue_size']?.type, 'GAUGE');
    assert.deepEqual(
      [meta['job_duration_seconds']?.type, meta['job_duration_seconds']?.unit],
      ['HISTOGRAM', 'seconds'],
    );
    assert.equal(meta['temperature_celsius']?.unit, 'celsius');
    await provider.shutdown();
  });

  it('sendMetadata: false sends no metadata', async () => {
    const { provider, meter } = withProvider({ url: receiver.url, sendMetadata: false });
    meter.createCounter('c').add(1);
    await provider.shutdown();
    assert.equal(receiver.requests[0]?.decoded.metadata.length, 0);
    assert.equal(seriesNamed(receiver.requests, 'c_total').length, 1);
  });

  it('asks the SDK for cumulative temporality for every synchronous instrument kind', () => {
    // Observable instruments: deltas, see observable-staleness.test.ts.
    const exporter = new PrometheusRemoteWriteExporter({ url: receiver.url });
    for (const kind of Object.values(InstrumentType).filter((k) => !k.startsWith('OBSERVABLE_'))) {
      assert.equal(exporter.selectAggregationTemporality(kind), AggregationTemporality.CUMULATIVE);
    }
  });

  it('a delta reader still gives cumulative counters, every stream every export', async () => {
    const { provider, meter } = withProvider({ url: receiver.url }, AggregationTemporality.DELTA);
    const c = meter.createCounter('jobs');
    c.add(5, { kind: 'a' });
    await provider.forceFlush();
    c.add(3, { kind: 'a' });
    c.add(1, { kind: 'b' });
    await provider.forceFlush();
    c.add(2, { kind: 'b' }); // "a" has no new delta: the SDK leaves it out, the exporter does not
    await provider.forceFlush();
    const values = receiver.requests.map((r) =>
      Object.fromEntries(
        seriesNamed([r], 'jobs_total').map((s) => [labelsOf(s)['kind'], s.samples[0]?.value]),
      ),
    );
    assert.deepEqual(values, [{ a: 5 }, { a: 8, b: 1 }, { a: 8, b: 3 }]);
    await provider.shutdown();
  });

  it('basic auth and bearer token become the Authorization header', async () => {
    const rm = resourceMetrics([gauge({ name: 'g' }, [point(1, {}, Date.now())])]);
    await exportOnce(
      new PrometheusRemoteWriteExporter({ url: receiver.url, basicAuth: { username: 'al', password: 'pw' } }),
      rm,
    );
    await exportOnce(new PrometheusRemoteWriteExporter({ url: receiver.url, bearerToken: 'tok' }), rm);
    assert.equal(
      receiver.requests[0]?.headers['authorization'],
      'Basic ' + Buffer.from('al:pw').toString('base64'),
    );
    assert.equal(receiver.requests[1]?.headers['authorization'], 'Bearer tok');
  });
});

describe('transport', () => {
  const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
  const rm = () => resourceMetrics([gauge({ name: 'tls' }, [point(1, {}, Date.now())])]);

  it('https with a private CA given through `agent`; refused without it', async () => {
    const cert = fixture('localhost-cert.pem');
    const tlsReceiver = await startMockReceiver({ tls: { key: fixture('localhost-key.pem'), cert } });
    try {
      const agent = new https.Agent({ ca: cert, keepAlive: true });
      const trusted = new PrometheusRemoteWriteExporter({ url: tlsReceiver.url, agent });
      const ok = await exportOnce(trusted, rm());
      assert.equal(ok.code, ExportResultCode.SUCCESS, ok.error?.message);
      assert.equal(seriesNamed(tlsReceiver.requests, 'tls').length, 1);
      await trusted.shutdown();
      agent.destroy();

      const untrusted = new PrometheusRemoteWriteExporter({ url: tlsReceiver.url, maxRetryElapsedMillis: 0 });
      const refused = await exportOnce(untrusted, rm());
      assert.equal(refused.code, ExportResultCode.FAILED);
      assert.match(refused.error?.message ?? '', /self[- ]signed certificate/);
      assert.equal(tlsReceiver.requests.length, 1);
      await untrusted.shutdown();
    } finally {
      await tlsReceiver.close();
    }
  });

  it('an export with nothing to send makes no request', async () => {
    const exporter = new PrometheusRemoteWriteExporter({ url: receiver.url });
    const result = await exportOnce(exporter, resourceMetrics([]));
    assert.equal(result.code, ExportResultCode.SUCCESS);
    assert.equal(receiver.requests.length, 0);
  });
});

describe('failures', () => {
  const rm = () => resourceMetrics([gauge({ name: 'g' }, [point(1, {}, Date.now())])]);

  it('a 4xx answer gives FAILED with the status and the first 1 KB of the body, never the credentials', async () => {
    receiver.answers.push({ status: 400, body: 'out of order sample ' + 'x'.repeat(5000) });
    const exporter = new PrometheusRemoteWriteExporter({
      url: receiver.url.replace('http://', 'http://user:s3cret@') + '?api_key=s3cret',
    });
    const result = await exportOnce(exporter, rm());
    assert.equal(result.code, ExportResultCode.FAILED);
    const err = result.error as RemoteWriteError;
    assert.ok(err instanceof RemoteWriteError);
    assert.equal(err.status, 400);
    assert.match(err.message, /HTTP 400 Bad Request: out of order sample x+/);
    assert.equal(err.responseBody?.length, 1024);
    assert.ok(err.message.length < 1200);
    assert.ok(!err.message.includes('s3cret') && !(err.stack ?? '').includes('s3cret'));
    assert.equal(
      receiver.requests[0]?.headers['authorization'],
      'Basic ' + Buffer.from('user:s3cret').toString('base64'),
    );
    assert.ok(!receiver.requests[0]?.path.includes('user'));
    await exporter.shutdown();
  });

  it('a 5xx answer gives FAILED once the retry budget is spent', async () => {
    receiver.answers.push({ status: 503, body: 'busy' });
    const exporter = new PrometheusRemoteWriteExporter({ url: receiver.url, maxRetryElapsedMillis: 0 });
    const result = await exportOnce(exporter, rm());
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(result.error?.message ?? '', /HTTP 503 Service Unavailable: busy/);
  });

  it('200 is success as well as 204', async () => {
    receiver.answers.push({ status: 200, body: 'ignored' });
    const result = await exportOnce(new PrometheusRemoteWriteExporter({ url: receiver.url }), rm());
    assert.equal(result.code, ExportResultCode.SUCCESS);
  });

  it('aborts a request after timeoutMillis', async () => {
    receiver.answers.push({ hang: true, status: 204 });
    const exporter = new PrometheusRemoteWriteExporter({
      url: receiver.url,
      timeoutMillis: 200,
      maxRetryElapsedMillis: 0,
    });
    const t0 = Date.now();
    const result = await exportOnce(exporter, rm());
    const took = Date.now() - t0;
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(result.error?.message ?? '', /no answer within 200 ms \(timeoutMillis\)/);
    assert.ok(took >= 190 && took < 2000, `took ${took} ms`);
    await exporter.shutdown();
  });

  it('a refused connection gives FAILED naming the target', async () => {
    const exporter = new PrometheusRemoteWriteExporter({
      url: 'http://127.0.0.1:9/api/v1/write',
      maxRetryElapsedMillis: 0,
    });
    const result = await exportOnce(exporter, rm());
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(
      result.error?.message ?? '',
      /remote write to http:\/\/127\.0\.0\.1:9\/api\/v1\/write failed: .*ECONNREFUSED/,
    );
  });

  it('export() never throws, even on malformed input', async () => {
    const exporter = new PrometheusRemoteWriteExporter({ url: receiver.url });
    const result = await new Promise<ExportResult>((resolve) => {
      assert.doesNotThrow(() =>
        exporter.export({ resource: null, scopeMetrics: 5 } as unknown as ResourceMetrics, resolve),
      );
    });
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.ok(result.error instanceof Error);
    assert.equal(receiver.requests.length, 0);
  });

  it('a malformed metric is named in the result, and the other metrics are still sent', async () => {
    const exporter = new PrometheusRemoteWriteExporter({ url: receiver.url, maxSamplesPerSend: 2 });
    const broken = { ...gauge({ name: 'broken' }, []), dataPoints: null } as unknown as MetricData;
    const now = Date.now();
    const points = (n: number) => Array.from({ length: n }, (_, i) => point(i, { i: String(i) }, now));
    const result = await exportOnce(
      exporter,
      resourceMetrics(
        [gauge({ name: 'before' }, points(3)), broken, gauge({ name: 'after' }, points(2))],
        {},
      ),
    );
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(result.error?.message ?? '', /metric "broken" not sent/);
    const names = receiver.requests.flatMap((r) => r.decoded.timeseries.map((t) => labelsOf(t)['__name__']));
    assert.deepEqual(names, ['before', 'before', 'before', 'after', 'after']);
  });
});

describe('lifecycle', () => {
  it('forceFlush and shutdown wait for requests already started', async () => {
    receiver.answers.push({ status: 204, delayMs: 300 }, { status: 204, delayMs: 300 });
    const exporter = new PrometheusRemoteWriteExporter({ url: receiver.url });
    let done = 0;
    exporter.export(resourceMetrics([gauge({ name: 'g' }, [point(1, {}, Date.now())])]), () => done++);
    await exporter.forceFlush();
    assert.equal(done, 1);
    exporter.export(resourceMetrics([gauge({ name: 'g' }, [point(2, {}, Date.now() + 1)])]), () => done++);
    await exporter.shutdown();
    assert.equal(done, 2);
    assert.equal(receiver.requests.length, 2);
  });

  it('export after shutdown fails at once without a request', async () => {
    const exporter = new PrometheusRemoteWriteExporter({ url: receiver.url });
    await exporter.shutdown();
    const result = await exportOnce(exporter, resourceMetrics([gauge({ name: 'g' }, [point(1)])]));
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(result.error?.message ?? '', /shut down/);
    assert.equal(receiver.requests.length, 0);
    await exporter.shutdown(); // a second shutdown is harmless
  });

  it('requests go out in export order', async () => {
    receiver.answers.push({ status: 204, delayMs: 150 });
    const exporter = new PrometheusRemoteWriteExporter({ url: receiver.url });
    const now = Date.now();
    for (let i = 0; i < 4; i++)
      exporter.export(resourceMetrics([gauge({ name: 'g' }, [point(i, {}, now + i)])]), () => {});
    await exporter.forceFlush();
    assert.deepEqual(
      seriesNamed(receiver.requests, 'g').map((s) => s.samples[0]?.value),
      [0, 1, 2, 3],
    );
  });
});

describe('staleness', () => {
  const hasStaleMarker = (raw: Buffer) => raw.includes(Buffer.from([0x09, ...STALE_NAN_BYTES]));

  it('a series missing from the next export gets one stale marker', async () => {
    // The JS SDK keeps reporting vanished attribute sets under cumulative temporality, so the
    // vanishing series is built by hand here.
    const exporter = new PrometheusRemoteWriteExporter({ url: receiver.url, withoutTargetInfo: true });
    const now = Date.now();
    const depth = (queues: string[], ts: number) =>
      resourceMetrics([
        gauge(
          { name: 'queue.depth' },
          queues.map((q) => point(1, { queue: q }, ts)),
        ),
      ]);
    await exportOnce(exporter, depth(['a', 'b'], now - 2000));
    await exportOnce(exporter, depth(['a'], now - 1000));
    await exportOnce(exporter, depth(['a'], now));
    const [first, second, third] = receiver.requests;
    assert.equal(hasStaleMarker(first!.raw), false);
    assert.equal(hasStaleMarker(second!.raw), true);
    assert.equal(hasStaleMarker(third!.raw), false, 'only once');
    const stale = second!.decoded.timeseries.filter((s) => Number.isNaN(s.samples[0]?.value));
    assert.deepEqual(
      stale.map((s) => labelsOf(s)['queue']),
      ['b'],
    );
    assert.ok(stale[0]!.samples[0]!.timestamp > now - 2000);
    await exporter.shutdown();
    assert.equal(receiver.requests.length, 3, 'no markers at shutdown by default');
  });

  it('markStaleOnShutdown marks every series at shutdown', async () => {
    const { provider, meter } = withProvider({
      url: receiver.url,
      markStaleOnShutdown: true,
      withoutTargetInfo: true,
    });
    meter.createCounter('c').add(1, { k: 'x' });
    meter.createCounter('c').add(1, { k: 'y' });
    await provider.shutdown();
    const last = receiver.requests.at(-1)!;
    assert.ok(hasStaleMarker(last.raw));
    assert.deepEqual(last.decoded.timeseries.map((s) => labelsOf(s)['k']).sort(), ['x', 'y']);
  });
});
