import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import { PrometheusRemoteWriteExporter } from '../src/index.js';
import { receiverOrSkip, startVictoriaMetrics, type Receiver } from './helpers/receivers.js';
import { pushEveryInstrumentKind } from './e2e-scenario.js';
import { exportOnce, point, resourceMetrics, sum } from './helpers/otel.js';

const { skip } = receiverOrSkip('victoriametrics');

describe('end to end: VictoriaMetrics 1.79', { skip }, () => {
  let vm: Receiver;
  before(async () => {
    vm = await startVictoriaMetrics();
  });
  after(async () => {
    await vm?.stop();
  });

  it('every instrument kind reads back with PromQL, labels and values included', async () => {
    await pushEveryInstrumentKind(vm);
  });

  it("protocol 'auto' falls back to 1.0 (VictoriaMetrics 1.79 answers 2.0 with a bare 204) and the data is stored", async () => {
    const exporter = new PrometheusRemoteWriteExporter({ url: vm.writeUrl, protocol: 'auto' });
    const now = Date.now();
    const rm = (ts: number, v: number) =>
      resourceMetrics([sum({ name: 'vm.auto' }, [point(v, { k: 'x' }, ts, now - 60_000)])], {
        'service.name': 'vm-auto',
      });
    assert.equal((await exportOnce(exporter, rm(now - 2000, 4))).code, ExportResultCode.SUCCESS);
    assert.equal((await exportOnce(exporter, rm(now - 1000, 6))).code, ExportResultCode.SUCCESS);
    await exporter.shutdown();
    // One 2.0 request, the same again as 1.0, then 1.0 only.
    assert.equal(exporter.stats().requestsSent, 3);
    const result = await vm.queryUntil('vm_auto_total', (r) => r.length === 1 && r[0]!.value[1] === '6', {
      time: now / 1000,
    });
    assert.equal(result[0]?.metric['job'], 'vm-auto');
    const count = await vm.query('count_over_time(vm_auto_total[1m])', now / 1000);
    assert.equal(count[0]?.value[1], '2');
  });
});
