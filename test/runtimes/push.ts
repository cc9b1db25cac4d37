/**
 * What each runtime test does, in Bun, Deno and a Worker alike: a MeterProvider with the
 * exporter, then a RemoteWriteClient, both pushing to `url`. The series carry `runtime` and
 * `run` labels so the Node test that drives it finds them in the receiver. Imports the package
 * by its name, so each runtime resolves it through package.json `exports` as a user's code would.
 */
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import {
  PrometheusRemoteWriteExporter,
  RemoteWriteClient,
  type DeliveryStats,
} from 'opentelemetry-exporter-prometheus-remote-write';

export interface PushReport {
  compression: string;
  transport: string;
  exporter: DeliveryStats;
  client: DeliveryStats;
}

/** Quick retries: the tests answer 503 once and want the retry at once. */
const DELIVERY = { minBackoffMillis: 20, maxBackoffMillis: 100, maxRetryElapsedMillis: 20_000 };

export async function push(url: string, runtime: string, run: string): Promise<PushReport> {
  const exporter = new PrometheusRemoteWriteExporter({ url, externalLabels: { runtime, run }, ...DELIVERY });
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  const meter = provider.getMeter('runtimes-test');
  meter.createCounter('rt.requests', { description: 'Requests handled' }).add(3, { route: '/a' });
  meter
    .createHistogram('rt.latency', { unit: 's', advice: { explicitBucketBoundaries: [0.1, 1] } })
    .record(0.5);
  // forceFlush exports what was recorded and waits for delivery (the 503 and its retry included).
  await provider.forceFlush();
  const exporterStats = exporter.stats();
  await provider.shutdown();

  const client = new RemoteWriteClient({
    url,
    job: 'runtimes',
    instance: runtime,
    externalLabels: { run },
    ...DELIVERY,
  });
  await client.counterInc('rt_client_events_total', 5, { kind: 'push' });
  await client.gaugeSet('rt_client_temperature', 21.5);
  await client.flush();
  const clientStats = (client.toJSON()['exporter'] as { stats: DeliveryStats }).stats;
  await client.close();
  return {
    compression: exporter.compression,
    transport: exporter.transport,
    exporter: exporterStats,
    client: clientStats,
  };
}
