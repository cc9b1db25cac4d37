/**
 * The end-to-end scenario shared by the real receivers: a MeterProvider with every instrument
 * kind pushes through the exporter; every series is then read back with PromQL.
 */
import assert from 'node:assert/strict';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { PrometheusRemoteWriteExporter, type PrometheusRemoteWriteExporterOptions } from '../src/index.js';
import type { QueryResultSample, Receiver } from './helpers/receivers.js';

export function valueOf(result: QueryResultSample[]): number {
  assert.equal(result.length, 1, `one series expected, got ${JSON.stringify(result)}`);
  return Number(result[0]!.value[1]);
}

export async function pushEveryInstrumentKind(
  receiver: Receiver,
  extra: Partial<PrometheusRemoteWriteExporterOptions> = {},
) {
  const exporter = new PrometheusRemoteWriteExporter({ url: receiver.writeUrl, ...extra });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({
      'service.name': 'checkout',
      'service.namespace': 'shop',
      'service.instance.id': 'pod-1',
      'deployment.environment': 'test',
    }),
    readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })],
  });
  const meter = provider.getMeter('checkout.metrics', '2.1.0');

  const orders = meter.createCounter('orders', { unit: '{order}', description: 'Orders placed' });
  orders.add(5, { 'payment.method': 'card' });
  orders.add(2, { 'payment.method': 'cash' });
  meter.createUpDownCounter('carts.open', { unit: '{cart}' }).add(-4);
  meter.createGauge('cpu.usage', { unit: '1' }).record(0.42);
  meter
    .createObservableGauge('heap.used', { unit: 'By' })
    .addCallback((r) => r.observe(123456, { space: 'old' }));
  const latency = meter.createHistogram('request.duration', {
    unit: 's',
    advice: { explicitBucketBoundaries: [0.5, 1, 2.5, 5] },
  });
  for (const v of [0.2, 0.7, 0.8, 3]) latency.record(v, { route: '/pay' });
  await provider.forceFlush();

  const q = (promql: string) => receiver.queryUntil(promql, (r) => r.length > 0);
  const card = await q('orders_total{payment_method="card"}');
  assert.deepEqual(card[0]!.metric, {
    __name__: 'orders_total',
    payment_method: 'card',
    job: 'shop/checkout',
    instance: 'pod-1',
    otel_scope_name: 'checkout.metrics',
    otel_scope_version: '2.1.0',
  });
  assert.equal(valueOf(card), 5);
  assert.equal(valueOf(await q('orders_total{payment_method="cash"}')), 2);
  assert.equal(valueOf(await q('carts_open')), -4);
  assert.equal(valueOf(await q('cpu_usage_ratio')), 0.42);
  assert.equal(valueOf(await q('heap_used_bytes{space="old"}')), 123456);
  assert.equal(valueOf(await q('request_duration_seconds_count{route="/pay"}')), 4);
  assert.ok(Math.abs(valueOf(await q('request_duration_seconds_sum')) - 4.7) < 1e-9);
  const buckets = await q('request_duration_seconds_bucket');
  assert.deepEqual(
    buckets
      .map((s) => [s.metric['le'], Number(s.value[1])])
      .sort((a, b) => Number(a[1]) - Number(b[1]) || String(a[0]).localeCompare(String(b[0]))),
    [
      ['0.5', 1],
      ['1', 3],
      ['2.5', 3],
      ['+Inf', 4],
      ['5', 4],
    ],
  );
  // Rank 2 of 4 falls in (0.5, 1] holding observations 2..3: 0.5 + 0.5 × (2−1)/(3−1) = 0.75.
  assert.ok(
    Math.abs(valueOf(await q('histogram_quantile(0.5, request_duration_seconds_bucket)')) - 0.75) < 1e-9,
  );
  const info = await q('target_info');
  assert.deepEqual(info[0]!.metric, {
    __name__: 'target_info',
    job: 'shop/checkout',
    instance: 'pod-1',
    deployment_environment: 'test',
  });
  assert.equal(valueOf(info), 1);

  // A second interval: the counter's new total replaces the old one.
  orders.add(10, { 'payment.method': 'card' });
  await new Promise((r) => setTimeout(r, 5));
  await provider.forceFlush();
  const updated = await receiver.queryUntil(
    'orders_total{payment_method="card"}',
    (r) => r.length === 1 && r[0]!.value[1] === '15',
  );
  assert.equal(valueOf(updated), 15);
  await provider.shutdown();
}
