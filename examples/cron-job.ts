/**
 * A cron job that pushes its results when it ends. The `stateFile` keeps the counter totals
 * between runs, so `rate(billing_exports_total[1h])` sees one growing counter across runs
 * instead of a reset every run. Run it a few times:
 *
 *   PRW_URL=http://127.0.0.1:9090/api/v1/write npx tsx examples/cron-job.ts
 *
 * In crontab: `*\/5 * * * * cd /srv/billing && PRW_URL=... node dist/export-job.js`
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemoteWriteClient } from 'opentelemetry-exporter-prometheus-remote-write';

const url = process.env['PRW_URL'] ?? 'http://127.0.0.1:9090/api/v1/write';
const stateFile = process.env['PRW_STATE_FILE'] ?? join(tmpdir(), 'billing-export-job.state.json');

// One request at close() with everything; `job` identifies this job's series.
const metrics = new RemoteWriteClient({
  url,
  job: 'billing-export',
  batch: true,
  stateFile,
  buckets: { billing_export_invoice_seconds: [0.001, 0.01, 0.1, 1] },
});

const started = Date.now();
let exported = 0;
let failed = 0;
for (let invoice = 0; invoice < 20; invoice++) {
  const t0 = performance.now();
  // The job's real work would go here.
  if (invoice % 7 === 6) failed++;
  else exported++;
  metrics.histogramQueue('billing_export_invoice_seconds', (performance.now() - t0) / 1000, {}, Date.now());
}

await metrics.counterInc('billing_exports', exported, { result: 'ok' });
await metrics.counterInc('billing_exports', failed, { result: 'failed' });
await metrics.gaugeSet('billing_export_duration_seconds', (Date.now() - started) / 1000);
// A one-shot push leaves instant queries after 5 minutes; alert on this timestamp instead.
await metrics.gaugeSet('billing_export_last_success_timestamp_seconds', Math.floor(Date.now() / 1000));
await metrics.close();
console.log(`exported ${exported}, failed ${failed}; totals kept in ${stateFile}`);
