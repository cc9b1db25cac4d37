/**
 * Bad input next to good series, sent to a real Prometheus 2.42: Prometheus refuses a whole
 * request for one sample it does not accept, so every request being taken (no 4xx) shows that
 * what was sent is what it accepts, and PromQL shows that the good series arrived. First the
 * rows of issue-style bad items, then a fixed sample of the property-based test's malformed
 * exports (test/helpers/fuzz-export-shapes.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { diag } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import { PrometheusRemoteWriteExporter } from '../src/index.js';
import { buildExport, exportCase, setTimeBase } from './helpers/fuzz-export-shapes.js';
import { exportOnce, gauge, histogram, histogramValue, point, resourceMetrics, sum } from './helpers/otel.js';
import { receiverOrSkip, startPrometheus, type Receiver } from './helpers/receivers.js';

const prom = receiverOrSkip('prometheus');

describe('end to end: bad input beside good series, Prometheus 2.42', { skip: prom.skip }, () => {
  let receiver: Receiver;
  before(async () => {
    receiver = await startPrometheus();
    diag.disable();
  });
  after(async () => {
    await receiver?.stop();
  });

  it('each bad item is left out alone; Prometheus takes every request and has the good series', async () => {
    const exporter = new PrometheusRemoteWriteExporter({ url: receiver.writeUrl, maxRetryElapsedMillis: 0 });
    const now = Date.now();
    const rm = resourceMetrics(
      [
        sum({ name: 'e2e.jobs' }, [
          point(1, { i: 'a' }, now),
          point(undefined as unknown as number, { i: 'b' }, now),
          point(3, { i: 'c', '': 'x', '!!!': 'y', ключ: 'z', '\ud800': 'w' }, now),
        ]),
        gauge({ name: 'e2e.dup' }, [
          point(1, { k: 'v', '': 'a' }, now),
          point(2, { k: 'v', '!!!': 'b' }, now),
          point(3, { k: 'v', ключ: 'c' }, now),
          point(4, { k: 'v', '\ud800': 'd' }, now),
        ]),
        gauge({ name: 'e2e.surrogate' }, [point(5, { v: 'a\ud800b' }, now)]),
        histogram({ name: 'e2e.lat' }, [
          point(histogramValue([1, 2], [1, 1, 1], 3), { case: 'good' }, now),
          point(histogramValue([2, 1], [1, 1, 1], 3), { case: 'unsorted' }, now),
          point(histogramValue([1, 2], [1, 1], 3), { case: 'short' }, now),
        ]),
      ],
      { 'service.name': 'bad-input' },
    );
    rm.scopeMetrics.push(
      { scope: { name: 'broken' }, metrics: undefined } as unknown as ResourceMetrics['scopeMetrics'][0],
      {
        scope: { name: 'after' },
        metrics: [gauge({ name: 'e2e.after' }, [point(7, {}, now)]) as MetricData],
      },
    );
    const result = await exportOnce(exporter, rm);
    assert.equal(result.code, ExportResultCode.FAILED);
    const stats = exporter.stats();
    assert.equal(stats.requestsFailed, 0, 'Prometheus took every request');
    assert.equal(stats.samplesDropped.rejected, 0);
    assert.equal(stats.samplesDropped.malformed, 3);
    assert.equal(stats.samplesDropped.duplicate_series, 3);
    await exporter.shutdown();

    const time = (now + 10) / 1000;
    const values = async (promql: string, n: number) =>
      (await receiver.queryUntil(promql, (r) => r.length === n, { time }))
        .map(
          (s) =>
            `${JSON.stringify({ ...s.metric, __name__: undefined, job: undefined, otel_scope_name: undefined, otel_scope_version: undefined })} ${s.value[1]}`,
        )
        .sort();
    assert.deepEqual(await values('e2e_jobs_total', 2), ['{"i":"a"} 1', '{"i":"c"} 3']);
    assert.deepEqual(await values('e2e_dup', 1), ['{"k":"v"} 1']);
    assert.deepEqual(await values('e2e_surrogate', 1), ['{"v":"a\ufffdb"} 5']);
    assert.deepEqual(await values('e2e_lat_count', 1), ['{"case":"good"} 3']);
    assert.deepEqual(await values('e2e_after', 1), ['{} 7']);
  });

  it('a sample of the property-based malformed exports: every request taken, every good point stored', async () => {
    const now = Date.now() - 120_000;
    setTimeBase(now);
    // Remote-Write 1.0 only (Prometheus 2.42), no custom-bucket histograms.
    const cases = fc.sample(exportCase, { numRuns: 25, seed: 1414 }).map((c) => ({
      ...c,
      options: { ...c.options, protocol: 'v1' as const, explicitHistogramsAsNative: false },
    }));
    let expected = 0;
    for (const [k, c] of cases.entries()) {
      const exporter = new PrometheusRemoteWriteExporter({
        url: receiver.writeUrl,
        maxRetryElapsedMillis: 0,
        ...c.options,
      });
      const { rm } = buildExport(c, now + k * 1000, `e2e${k}`);
      await exporter.exportAndWait(rm);
      const stats = exporter.stats();
      await exporter.shutdown();
      assert.equal(stats.requestsFailed, 0, `case ${k}: Prometheus refused a request: ${fc.stringify(c)}`);
      expected += c.good.reduce((n, m) => n + m.values.length, 0);
    }
    // Every good point is one series (classic histograms: their _count) carrying `p`.
    const found = await receiver.queryUntil(
      'count({__name__=~"good_e2e.*", __name__!~".*_(bucket|sum)", p!=""})',
      (r) => r.length === 1 && Number(r[0]!.value[1]) === expected,
      { time: (now + cases.length * 1000 + 10) / 1000 },
    );
    assert.equal(Number(found[0]!.value[1]), expected);
  });
});
