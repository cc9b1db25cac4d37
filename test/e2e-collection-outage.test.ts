/**
 * The user's whole path through an outage: a MeterProvider with a PeriodicExportingMetricReader,
 * real Prometheus SIGKILLed mid-run and restarted on the same data dir, and four providers
 * sharing one exporter. Collection never waits for the receiver, so every interval is collected
 * and delivered.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { PrometheusRemoteWriteExporter } from '../src/index.js';
import { freePort, receiverOrSkip, startPrometheus } from './helpers/receivers.js';

const { skip } = receiverOrSkip('prometheus');

/** Counts the exports the reader makes, passing them on. */
function counting(inner: PrometheusRemoteWriteExporter): PushMetricExporter & { exports: number } {
  const wrapper = {
    exports: 0,
    export(rm: ResourceMetrics, cb: (r: ExportResult) => void) {
      wrapper.exports++;
      inner.export(rm, cb);
    },
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
    selectAggregationTemporality: inner.selectAggregationTemporality.bind(inner),
  };
  return wrapper;
}

describe('end to end: collection through a Prometheus crash', { skip }, () => {
  it('Prometheus SIGKILLed for 6 s and restarted: every collection is stored, the last value exact, no out-of-order', async () => {
    const port = await freePort();
    let prometheus = await startPrometheus({ port });
    const dataDir = prometheus.dataDir;
    const exporter = new PrometheusRemoteWriteExporter({
      url: prometheus.writeUrl,
      withoutTargetInfo: true,
      maxBackoffMillis: 1000,
    });
    const wrapper = counting(exporter);
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'crash' }),
      readers: [new PeriodicExportingMetricReader({ exporter: wrapper, exportIntervalMillis: 500 })],
    });
    const counter = provider.getMeter('crash').createCounter('crash.ticks');
    let added = 0;
    const ticker = setInterval(() => {
      counter.add(1);
      added++;
    }, 50);
    const started = Date.now();
    try {
      await sleep(2500);
      process.kill(prometheus.pid, 'SIGKILL');
      await sleep(6000);
      prometheus = await startPrometheus({ port, dataDir });
      await sleep(3000);
      clearInterval(ticker);
      await provider.forceFlush();
      await provider.shutdown();
      const stats = exporter.stats();
      assert.ok(stats.requestsFailed > 0, 'the outage was felt');
      assert.deepEqual(
        Object.values(stats.samplesDropped).reduce((a, b) => a + b, 0),
        0,
        JSON.stringify(stats),
      );
      const range = Math.ceil((Date.now() - started) / 1000) + 5;
      const at = Date.now() / 1000;
      const count = await prometheus.query(`count_over_time(crash_ticks_total[${range}s])`, at);
      const last = await prometheus.query(`last_over_time(crash_ticks_total[${range}s])`, at);
      // Every collection made (the 6 s outage included, about 12 of them) is stored.
      assert.ok(wrapper.exports >= 20, `${wrapper.exports} exports`);
      assert.equal(Number(count[0]?.value[1]), wrapper.exports, prometheus.logs().slice(-2000));
      assert.equal(Number(last[0]?.value[1]), added);
      assert.doesNotMatch(prometheus.logs(), /out of order/i);
    } finally {
      clearInterval(ticker);
      await prometheus.stop();
    }
  });

  it('four MeterProviders sharing one exporter: every series and sample stored, no stale marker, no 400', async () => {
    const prometheus = await startPrometheus();
    const exporter = new PrometheusRemoteWriteExporter({ url: prometheus.writeUrl });
    try {
      const providers = ['a', 'b', 'c', 'd'].map(
        (svc) =>
          new MeterProvider({
            resource: resourceFromAttributes({ 'service.name': svc, 'host.name': 'h' }),
            readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 300 })],
          }),
      );
      const counters = providers.map((p) => p.getMeter('m').createCounter('shared.jobs'));
      for (let round = 0; round < 10; round++) {
        for (const c of counters) for (let w = 0; w < 25; w++) c.add(1, { worker: `w${w}` });
        await sleep(150);
      }
      for (const p of providers) await p.forceFlush();
      for (const p of providers) await p.shutdown();
      const stats = exporter.stats();
      assert.equal(stats.samplesDropped.rejected, 0, JSON.stringify(stats));
      const live = await prometheus.query('count(shared_jobs_total)');
      assert.equal(live[0]?.value[1], '100');
      const totals = await prometheus.query('sum by (job) (shared_jobs_total)');
      assert.deepEqual(totals.map((r) => [r.metric['job'], r.value[1]]).sort(), [
        ['a', '250'],
        ['b', '250'],
        ['c', '250'],
        ['d', '250'],
      ]);
    } finally {
      await exporter.shutdown();
      await prometheus.stop();
    }
  });
});
