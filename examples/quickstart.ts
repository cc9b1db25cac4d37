/**
 * Quickstart: an application's metrics pushed to Prometheus remote write.
 *
 *   PRW_URL=http://127.0.0.1:9090/api/v1/write npx tsx examples/quickstart.ts
 *
 * It records for about two seconds, pushing every second, then ends without calling shutdown:
 * flushOnExit pushes what was recorded last.
 */
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { PrometheusRemoteWriteExporter, flushOnExit } from 'opentelemetry-exporter-prometheus-remote-write';

const url = process.env['PRW_URL'] ?? 'http://127.0.0.1:9090/api/v1/write';

const provider = new MeterProvider({
  resource: resourceFromAttributes({
    'service.name': 'billing',
    'service.instance.id': 'worker-1',
    'deployment.environment.name': 'dev',
  }),
  readers: [
    new PeriodicExportingMetricReader({
      exporter: new PrometheusRemoteWriteExporter({ url }),
      exportIntervalMillis: 1000,
    }),
  ],
});
flushOnExit(provider);

const meter = provider.getMeter('billing-job', '1.0.0');
const orders = meter.createCounter('billing.orders', { unit: '{order}', description: 'Orders billed' });
const duration = meter.createHistogram('billing.job.duration', {
  unit: 's',
  description: 'Time to bill one order',
  advice: { explicitBucketBoundaries: [0.1, 0.25, 0.5, 1, 2.5] },
});
meter.createObservableGauge('billing.queue.depth', { description: 'Orders waiting' }).addCallback((r) => {
  r.observe(36, { queue: 'payments' });
  r.observe(5, { queue: 'refunds' });
});

let billed = 0;
const timer = setInterval(() => {
  orders.add(1, { currency: billed % 2 === 0 ? 'EUR' : 'USD' });
  duration.record(0.1 + (billed % 5) * 0.2);
  billed++;
}, 100);
setTimeout(() => {
  clearInterval(timer);
  console.log(`billed ${billed} orders; pushing to ${url} at exit`);
}, 2000);
