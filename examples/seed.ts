/**
 * The Python client's example, with RemoteWriteClient: a counter, three gauges and two
 * histograms, each call one request, printed in the debug format.
 *
 *   PRW_URL=http://127.0.0.1:9090/api/v1/write npx tsx examples/seed.ts
 *
 * `npm run example` runs it against the built-in receiver (`prw receive`).
 */
import { RemoteWriteClient } from 'opentelemetry-exporter-prometheus-remote-write';

const ENDPOINT = process.env['PRW_URL'] ?? 'http://127.0.0.1:9090/api/v1/write';

const cli = new RemoteWriteClient({ url: ENDPOINT, debug: true });
await cli.counterInc('billing_orders', 85);
await cli.gaugeSet('billing_queue_depth', 36, { queue: 'payments' });
await cli.gaugeSet('billing_queue_depth', 5, { queue: 'refunds' });
await cli.gaugeSet('billing_queue_depth', 0, { queue: 'dlq' });
const now = Date.now();
cli.histogramQueue('billing_job_duration_seconds', 0.6, { worker: 'billing-worker-01' }, now - 120000);
cli.histogramQueue('billing_job_duration_seconds', 2.2, { worker: 'billing-worker-01' }, now - 60000);
cli.histogramQueue('billing_job_duration_seconds', 10.0, { worker: 'billing-worker-01' }, now);
await cli.histogramFlush('billing_job_duration_seconds', { worker: 'billing-worker-01' });
cli.histogramQueue('billing_job_duration_seconds', 0.3, { worker: 'billing-worker-02' }, now - 120000);
cli.histogramQueue('billing_job_duration_seconds', 1.2, { worker: 'billing-worker-02' }, now - 60000);
cli.histogramQueue('billing_job_duration_seconds', 8.9, { worker: 'billing-worker-02' }, now);
await cli.histogramFlush('billing_job_duration_seconds', { worker: 'billing-worker-02' });
await cli.close();
