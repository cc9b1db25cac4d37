import { after, before, describe, it } from 'node:test';
import { receiverOrSkip, startVictoriaMetrics, type Receiver } from './helpers/receivers.js';
import { pushEveryInstrumentKind } from './e2e-scenario.js';

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
});
