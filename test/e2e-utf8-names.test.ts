/**
 * Names under each translation strategy, stored by real receivers over Remote-Write 1.0 and read
 * back with PromQL. Neither VictoriaMetrics 1.79 nor Prometheus 2.42 validates names on write
 * (/work/shared/receivers.md), so UTF-8 names are stored as sent; a UTF-8 metric name can then
 * only be selected as `{__name__="…"}` (the quoted `{"…"}` selector is Prometheus 3's).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import { PrometheusRemoteWriteExporter, type PrometheusRemoteWriteExporterOptions } from '../src/index.js';
import type { TranslationStrategy } from '../src/translate/names.js';
import { exportOnce, gauge, point, resourceMetrics, sum } from './helpers/otel.js';
import {
  receiverOrSkip,
  startPrometheus,
  startVictoriaMetrics,
  type QueryResultSample,
  type Receiver,
} from './helpers/receivers.js';

/** One gauge and one counter with names and attribute keys outside the classic character set. */
async function push(receiver: Receiver, strategy: TranslationStrategy, run: string): Promise<number> {
  const options: PrometheusRemoteWriteExporterOptions = {
    url: receiver.writeUrl,
    translationStrategy: strategy,
    withoutTargetInfo: true,
    withoutScopeInfo: true,
  };
  const exporter = new PrometheusRemoteWriteExporter(options);
  const now = Date.now();
  const rm = resourceMetrics(
    [
      gauge({ name: 'höhe.wasser', unit: 'm' }, [point(3.5, { 'ort.name': 'Köln', a__b: run }, now)]),
      sum({ name: 'http.requests', unit: '{request}' }, [point(7, { 'ort.name': 'Köln', a__b: run }, now)]),
    ],
    { 'service.name': 'utf8-e2e' },
  );
  const result = await exportOnce(exporter, rm);
  await exporter.shutdown();
  assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message);
  return now;
}

function one(result: QueryResultSample[]): QueryResultSample {
  assert.equal(result.length, 1, JSON.stringify(result));
  return result[0] as QueryResultSample;
}

// [strategy, gauge name, counter name, label names of `ort.name` and `a__b`]
const CASES: Array<[TranslationStrategy, string, string, string, string]> = [
  ['UnderscoreEscapingWithSuffixes', 'h_he_wasser_meters', 'http_requests_total', 'ort_name', 'a_b'],
  ['UnderscoreEscapingWithoutSuffixes', 'h_he_wasser', 'http_requests', 'ort_name', 'a_b'],
  ['NoUTF8EscapingWithSuffixes', 'höhe.wasser_meters', 'http.requests_total', 'ort.name', 'a__b'],
  ['NoTranslation', 'höhe.wasser', 'http.requests', 'ort.name', 'a__b'],
];

function strategyTests(receiver: () => Receiver): void {
  for (const [strategy, gaugeName, counterName, place, ab] of CASES) {
    it(`${strategy}: ${gaugeName}{${place}} and ${counterName} are stored and read back`, async () => {
      const now = await push(receiver(), strategy, strategy);
      const time = (now + 10) / 1000;
      const selector = (name: string) =>
        `{__name__=${JSON.stringify(name)},${ab}=${JSON.stringify(strategy)}}`;
      // A label name outside [a-zA-Z_][a-zA-Z0-9_]* cannot appear in a 2.x selector; match on `a_b`/`a__b`.
      const g = one(await receiver().queryUntil(selector(gaugeName), (r) => r.length > 0, { time }));
      assert.equal(g.metric[place], 'Köln');
      assert.equal(g.metric['job'], 'utf8-e2e');
      assert.equal(g.value[1], '3.5');
      const c = one(await receiver().queryUntil(selector(counterName), (r) => r.length > 0, { time }));
      assert.equal(c.metric[place], 'Köln');
      assert.equal(c.value[1], '7');
    });
  }
}

const vm = receiverOrSkip('victoriametrics');

describe('end to end: names under each strategy, VictoriaMetrics 1.79', { skip: vm.skip }, () => {
  let receiver: Receiver;
  before(async () => {
    receiver = await startVictoriaMetrics();
  });
  after(async () => {
    await receiver?.stop();
  });
  strategyTests(() => receiver);
});

const prom = receiverOrSkip('prometheus');

describe(
  'end to end: names under each strategy, Prometheus 2.42 (before UTF-8 names)',
  { skip: prom.skip },
  () => {
    let receiver: Receiver;
    before(async () => {
      receiver = await startPrometheus();
    });
    after(async () => {
      await receiver?.stop();
    });
    strategyTests(() => receiver);

    it('stores UTF-8 names as sent, but its PromQL cannot name them outside {__name__="…"}', async () => {
      const now = await push(receiver, 'NoTranslation', 'parse');
      const time = (now + 10) / 1000;
      one(await receiver.queryUntil('{__name__="höhe.wasser",a__b="parse"}', (r) => r.length > 0, { time }));
      // A dotted bare name does not parse as a metric name, nor does Prometheus 3's quoted selector.
      await assert.rejects(receiver.query('höhe.wasser', time), /failed/);
      await assert.rejects(receiver.query('{"höhe.wasser"}', time), /failed/);
      // Nor can a label name outside the classic set appear in a matcher.
      await assert.rejects(receiver.query('{__name__="höhe.wasser",ort.name="Köln"}', time), /failed/);
    });
  },
);
