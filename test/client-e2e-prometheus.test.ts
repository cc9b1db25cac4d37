/**
 * RemoteWriteClient against a real Prometheus: every request is accepted (no out-of-order or
 * duplicate sample) and reads back with PromQL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RemoteWriteClient } from '../src/index.js';
import { receiverOrSkip, startPrometheus, type Receiver } from './helpers/receivers.js';

const { skip } = receiverOrSkip('prometheus');

describe('RemoteWriteClient end to end: Prometheus', { skip }, () => {
  let prometheus: Receiver;
  let tmp: string;
  before(async () => {
    prometheus = await startPrometheus();
    tmp = mkdtempSync(join(tmpdir(), 'rw-client-e2e-'));
  });
  after(async () => {
    await prometheus?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const value = async (promql: string): Promise<string[]> =>
    (await prometheus.queryUntil(promql, (r) => r.length > 0)).map((s) => s.value[1]);

  it('the appendix example reads back', async () => {
    const cli = new RemoteWriteClient({ url: prometheus.writeUrl, flushOnExit: false });
    await cli.counterInc('billing_orders', 85);
    await cli.gaugeSet('billing_queue_depth', 36, { queue: 'payments' });
    await cli.gaugeSet('billing_queue_depth', 5, { queue: 'refunds' });
    const now = Date.now();
    const w = { worker: 'billing-worker-01' };
    cli.histogramQueue('billing_job_duration_seconds', 0.6, w, now - 120000);
    cli.histogramQueue('billing_job_duration_seconds', 2.2, w, now - 60000);
    cli.histogramQueue('billing_job_duration_seconds', 10.0, w, now);
    await cli.histogramFlush('billing_job_duration_seconds', w);
    await cli.close();

    assert.deepEqual(await value('billing_orders_total'), ['85']);
    assert.deepEqual(await value('billing_queue_depth{queue="refunds"}'), ['5']);
    assert.deepEqual(await value('billing_job_duration_seconds_sum'), ['12.8']);
    assert.deepEqual(await value('billing_job_duration_seconds_bucket{le="2.5"}'), ['2']);
    assert.deepEqual(await value('histogram_quantile(1, billing_job_duration_seconds_bucket)'), ['10']);
  });

  it('batch mode with several values per series is accepted, in order', async () => {
    const cli = new RemoteWriteClient({ url: prometheus.writeUrl, batch: true, flushOnExit: false });
    const t = Date.now() - 30_000;
    for (let i = 0; i < 3; i++) {
      await cli.counterInc('batched_items', 2, { q: 'a' }, t + i * 1000);
      await cli.gaugeSet('batched_level', i, {}, t + i * 1000);
    }
    await cli.close();
    assert.deepEqual(await value('count_over_time(batched_items_total[5m])'), ['3']);
    assert.deepEqual(await value('batched_items_total'), ['6']);
  });

  it('a stateFile keeps one growing counter across runs', async () => {
    const stateFile = join(tmp, 'state.json');
    for (const inc of [4, 6]) {
      const cli = new RemoteWriteClient({
        url: prometheus.writeUrl,
        stateFile,
        job: 'cron',
        flushOnExit: false,
      });
      await cli.counterInc('cron_rows', inc);
      await cli.close();
    }
    assert.deepEqual(await value('cron_rows_total{job="cron"}'), ['10']);
    assert.deepEqual(await value('resets(cron_rows_total[5m])'), ['0']);
  });
});
