import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import { PrometheusRemoteWriteExporter } from '../src/index.js';
import { receiverOrSkip, startPrometheus, type Receiver } from './helpers/receivers.js';
import { exportOnce, gauge, point, resourceMetrics } from './helpers/otel.js';
import { pushEveryInstrumentKind, valueOf } from './e2e-scenario.js';

const { skip } = receiverOrSkip('prometheus');

describe('end to end: Prometheus 2.42', { skip }, () => {
  let prometheus: Receiver;
  before(async () => {
    prometheus = await startPrometheus();
  });
  after(async () => {
    await prometheus?.stop();
  });

  it('every instrument kind reads back with PromQL, labels and values included', async () => {
    await pushEveryInstrumentKind(prometheus);
  });

  it('a stale marker ends a vanished series at once', async () => {
    const exporter = new PrometheusRemoteWriteExporter({ url: prometheus.writeUrl, withoutTargetInfo: true });
    const now = Date.now();
    const depth = (queues: string[], ts: number) =>
      resourceMetrics([
        gauge(
          { name: 'stale.depth' },
          queues.map((q) => point(7, { queue: q }, ts)),
        ),
      ]);
    assert.equal((await exportOnce(exporter, depth(['a', 'b'], now - 1000))).code, ExportResultCode.SUCCESS);
    const both = await prometheus.query('stale_depth', now / 1000);
    assert.equal(both.length, 2);
    assert.equal((await exportOnce(exporter, depth(['a'], now))).code, ExportResultCode.SUCCESS);
    // Without the marker, "b" would still answer for 5 minutes (lookback).
    const after = await prometheus.query('stale_depth', (Date.now() + 1000) / 1000);
    assert.deepEqual(
      after.map((s) => s.metric['queue']),
      ['a'],
    );
    await exporter.shutdown();
  });

  it('two exports in one millisecond are both accepted, the newest value wins', async () => {
    const exporter = new PrometheusRemoteWriteExporter({ url: prometheus.writeUrl, withoutTargetInfo: true });
    const ts = Date.now();
    const rm = (v: number) => resourceMetrics([gauge({ name: 'same.ms' }, [point(v, {}, ts)])]);
    assert.equal((await exportOnce(exporter, rm(1))).code, ExportResultCode.SUCCESS);
    const second = await exportOnce(exporter, rm(2));
    assert.equal(second.code, ExportResultCode.SUCCESS, second.error?.message);
    assert.equal(valueOf(await prometheus.query('same_ms', (ts + 10) / 1000)), 2);
    await exporter.shutdown();
  });

  it("a rejected request reports the receiver's reason", async () => {
    const exporter = new PrometheusRemoteWriteExporter({ url: prometheus.writeUrl, withoutTargetInfo: true });
    // Timestamp 0 is far outside the head block: Prometheus answers 400 "out of bounds".
    const result = await exportOnce(
      exporter,
      resourceMetrics([gauge({ name: 'ancient' }, [point(1, {}, 0, 0)])]),
    );
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(result.error?.message ?? '', /HTTP 400 Bad Request: .*out of bounds/);
    await exporter.shutdown();
  });
});
