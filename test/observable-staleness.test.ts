/**
 * Observable instruments go stale: an attribute set that a callback stops reporting gets one
 * stale marker in the next export and is then forgotten, through a real MeterProvider and
 * PeriodicExportingMetricReader with the exporter's defaults. The values sent stay those a
 * cumulative reader of the same provider gets (a second reader with an in-memory exporter is the
 * reference), observable counters included. Synchronous instruments keep every series, as the
 * SDK reports them. Against real Prometheus, the series leaves an instant query right after its
 * marker while the others stay.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Attributes, ObservableResult } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  InstrumentType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { PrometheusRemoteWriteExporter } from '../src/index.js';
import {
  labelsOf,
  startMockReceiver,
  type MockReceiver,
  type ReceivedRequest,
} from './helpers/mock-receiver.js';
import { STALE_NAN_BYTES } from '../src/wire/rw1.js';
import { receiverOrSkip, startPrometheus, type Receiver } from './helpers/receivers.js';

type Values = Map<string, number>;
interface Report {
  gauge: Values;
  counter: Values;
  updown: Values;
}

/** Instrument names as created, and as sent. */
const NAMES = {
  gauge: ['obs.temperature', 'obs_temperature_celsius'],
  counter: ['obs.bytes', 'obs_bytes_total'],
  updown: ['obs.queue', 'obs_queue'],
} as const;

interface Setup {
  exporter: PrometheusRemoteWriteExporter;
  provider: MeterProvider;
  reader: PeriodicExportingMetricReader;
  /** The same instruments on a provider whose only reader is cumulative: the reference values. */
  reference: InMemoryMetricExporter;
  referenceProvider: MeterProvider;
  referenceReader: PeriodicExportingMetricReader;
  /** What the callbacks report at the next collection, per instrument. */
  report: Report;
  sync: { add(v: number, a: Attributes): void };
}

function instruments(provider: MeterProvider, report: Report): { add(v: number, a: Attributes): void } {
  const meter = provider.getMeter('observable-test');
  const observe = (values: Values) => (result: ObservableResult) => {
    for (const [host, v] of values) result.observe(v, { host });
  };
  meter.createObservableGauge(NAMES.gauge[0], { unit: 'Cel' }).addCallback(observe(report.gauge));
  meter.createObservableCounter(NAMES.counter[0], { unit: 'By' }).addCallback(observe(report.counter));
  meter.createObservableUpDownCounter(NAMES.updown[0]).addCallback(observe(report.updown));
  return meter.createCounter('sync.requests');
}

/**
 * Separate providers: with two readers on one provider, the SDK hands a delta reader the sets
 * observed during the other reader's collection too, which would delay a marker by one round.
 */
function setup(url: string, options: { markStaleWhenMissing?: boolean } = {}): Setup {
  const resource = resourceFromAttributes({ 'service.name': 'observable', 'service.instance.id': 'i-1' });
  const report: Report = { gauge: new Map(), counter: new Map(), updown: new Map() };
  const exporter = new PrometheusRemoteWriteExporter({ url, withoutTargetInfo: true, ...options });
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ resource, readers: [reader] });
  const reference = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const referenceReader = new PeriodicExportingMetricReader({
    exporter: reference,
    exportIntervalMillis: 3_600_000,
  });
  const referenceProvider = new MeterProvider({ resource, readers: [referenceReader] });
  const sync = instruments(provider, report);
  instruments(referenceProvider, report);
  return { exporter, provider, reader, reference, referenceProvider, referenceReader, report, sync };
}

/** One collection by both readers, with the same observations; the exporter's delivery. */
async function collect(s: Setup): Promise<void> {
  await s.reader.forceFlush();
  await s.referenceReader.forceFlush();
}

type Sample = { value: number; stale: boolean };

/** name → host → samples, over the given requests. */
function byHost(requests: ReceivedRequest[], name: string): Map<string, Sample[]> {
  const out = new Map<string, Sample[]>();
  for (const r of requests)
    for (const ts of r.decoded.timeseries) {
      const labels = labelsOf(ts);
      if (labels['__name__'] !== name) continue;
      const host = labels['host'] ?? '';
      const list = out.get(host) ?? [];
      // The test never observes NaN, so a NaN is the stale marker (its payload is checked on the
      // raw bytes: JavaScript does not promise to keep a NaN's payload through a decoder).
      for (const x of ts.samples) list.push({ value: x.value, stale: Number.isNaN(x.value) });
      out.set(host, list);
    }
  return out;
}

/** The cumulative reference's latest value per host for one metric. */
function referenceValues(metrics: ResourceMetrics[], name: string): Map<string, number> {
  const last = metrics[metrics.length - 1];
  const out = new Map<string, number>();
  for (const sm of last?.scopeMetrics ?? [])
    for (const m of sm.metrics)
      if (m.descriptor.name === name)
        for (const p of m.dataPoints as DataPoint<number>[]) out.set(String(p.attributes['host']), p.value);
  return out;
}

describe('observable instruments: stale markers for attribute sets a callback stops reporting', () => {
  let receiver: MockReceiver;
  before(async () => {
    receiver = await startMockReceiver();
  });
  after(() => receiver.close());

  it('asks the SDK for deltas of observable instruments only, and only while markStaleWhenMissing is on', () => {
    const on = new PrometheusRemoteWriteExporter({ url: receiver.url });
    const off = new PrometheusRemoteWriteExporter({ url: receiver.url, markStaleWhenMissing: false });
    for (const t of Object.values(InstrumentType)) {
      const observable = t.startsWith('OBSERVABLE_');
      assert.equal(
        on.selectAggregationTemporality(t),
        observable ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE,
        t,
      );
      assert.equal(off.selectAggregationTemporality(t), AggregationTemporality.CUMULATIVE, t);
    }
  });

  it('one stale marker when a set goes missing, then forgotten; values equal the cumulative reader’s', async () => {
    receiver.requests.length = 0;
    const s = setup(receiver.url);
    // Fractional steps, so another order of additions than the SDK's would show in the values.
    const rounds: Array<Record<keyof Report, Record<string, number>>> = [
      { gauge: { a: 20.1, b: 30.7 }, counter: { a: 0.1, b: 0.2 }, updown: { a: 3, b: -1.5 } },
      { gauge: { a: 20.3, b: 30.1 }, counter: { a: 0.3, b: 0.7 }, updown: { a: 2.2, b: -1.1 } },
      // b stops being reported by every callback.
      { gauge: { a: 20.6 }, counter: { a: 0.9 }, updown: { a: 0.1 } },
      { gauge: { a: 21 }, counter: { a: 1.7 }, updown: { a: 0 } },
      // b comes back: the counter resumes from the value the SDK remembers for it.
      { gauge: { a: 21.2, b: 29.9 }, counter: { a: 2.3, b: 1.9 }, updown: { a: 0.4, b: 7.3 } },
    ];
    const sentPerRound: Array<Map<string, Map<string, Sample[]>>> = [];
    let compared = 0;
    for (const [i, round] of rounds.entries()) {
      for (const k of ['gauge', 'counter', 'updown'] as const) {
        s.report[k].clear();
        for (const [host, v] of Object.entries(round[k])) s.report[k].set(host, v);
      }
      s.sync.add(1, { host: 'a' });
      if (i === 0) s.sync.add(1, { host: 'b' });
      const seen = receiver.requests.length;
      await collect(s);
      const fresh = receiver.requests.slice(seen);
      const sent = new Map<string, Map<string, Sample[]>>();
      for (const [k, [otel, prom]] of Object.entries(NAMES) as Array<
        [keyof Report, readonly [string, string]]
      >) {
        const got = byHost(fresh, prom);
        sent.set(prom, got);
        // Every value sent equals the cumulative reader's for the same set, bit for bit.
        const reference = referenceValues(s.reference.getMetrics(), otel);
        for (const [host, samples] of got)
          for (const x of samples.filter((x) => !x.stale)) {
            assert.equal(
              Object.is(x.value, reference.get(host)),
              true,
              `${prom}{host=${host}} round ${i}: ${x.value} vs ${reference.get(host)}`,
            );
            compared++;
          }
        void k;
      }
      sent.set('sync_requests_total', byHost(fresh, 'sync_requests_total'));
      const markers = fresh.some((r) => r.raw.includes(Buffer.from(STALE_NAN_BYTES)));
      assert.equal(markers, i === 2, `stale marker bytes in round ${i}`);
      sentPerRound.push(sent);
    }
    assert.ok(compared >= 24, `compared ${compared} values`);
    await s.provider.shutdown();
    await s.referenceProvider.shutdown();

    for (const [, name] of Object.values(NAMES)) {
      const round = (i: number) => sentPerRound[i]!.get(name)!;
      // Rounds 0 and 1: both sets, no marker.
      for (const i of [0, 1]) {
        assert.deepEqual([...round(i).keys()].sort(), ['a', 'b'], `${name} round ${i}`);
        assert.ok(
          [...round(i).values()].flat().every((x) => !x.stale),
          `${name} round ${i}: no marker`,
        );
      }
      // Round 2: b gets exactly one stale marker, a its value.
      assert.deepEqual(
        round(2).get('b'),
        [{ value: round(2).get('b')![0]!.value, stale: true }],
        `${name}: marker for b`,
      );
      assert.equal(round(2).get('a')?.length, 1);
      assert.equal(round(2).get('a')?.[0]?.stale, false);
      // Round 3: b forgotten (no sample, no second marker).
      assert.equal(round(3).has('b'), false, `${name}: b forgotten after its marker`);
      // Round 4: b back, with a plain sample.
      assert.equal(round(4).get('b')?.[0]?.stale, false, `${name}: b back`);
    }
    // Synchronous instruments: unchanged, b keeps being sent with its value, no marker.
    for (let i = 0; i < rounds.length; i++) {
      const sync = sentPerRound[i]!.get('sync_requests_total')!;
      assert.deepEqual(sync.get('b'), [{ value: 1, stale: false }], `sync b in round ${i}`);
      assert.deepEqual(sync.get('a'), [{ value: i + 1, stale: false }], `sync a in round ${i}`);
    }
  });
});

describe('observable instruments into real Prometheus: the series leaves an instant query right after its marker', () => {
  const { skip } = receiverOrSkip('prometheus');
  let prometheus: Receiver;
  before(async () => {
    if (!skip) prometheus = await startPrometheus();
  });
  after(() => prometheus?.stop());

  it(
    'gauge, counter and up-down counter of a set the callback stopped reporting vanish; the rest stay',
    { skip },
    async () => {
      const s = setup(prometheus.writeUrl);
      // The callbacks hold these maps: refill them, do not replace them.
      const fill = (hosts: string[], round: number): void => {
        for (const k of ['gauge', 'counter', 'updown'] as const) s.report[k].clear();
        hosts.forEach((h, i) => {
          s.report.gauge.set(h, 20 + round + i + 0.5);
          s.report.counter.set(h, 100 * (round + 1) + i + 0.5);
          s.report.updown.set(h, -round + i + 0.5);
        });
      };
      const query = `{__name__=~"obs_.*",job="observable"}`;
      fill(['a', 'b'], 0);
      await collect(s);
      fill(['a', 'b'], 1);
      await collect(s);
      const both = await prometheus.queryUntil(query, (r) => r.length === 6);
      assert.deepEqual([...new Set(both.map((r) => r.metric['host']))].sort(), ['a', 'b']);

      fill(['a'], 2);
      await collect(s);
      // Evaluated after the marker's timestamp: without a marker b would stay for the 5 min lookback.
      const after = await prometheus.queryUntil(query, (r) => r.length === 3);
      assert.deepEqual(
        after.map((r) => `${r.metric['__name__']}{host=${r.metric['host']}} ${r.value[1]}`).sort(),
        [
          // The counter's value is the cumulative SDK's: the callback's own cumulative value.
          'obs_bytes_total{host=a} 300.5',
          'obs_queue{host=a} -1.5',
          'obs_temperature_celsius{host=a} 22.5',
        ],
      );
      await s.provider.shutdown();
      await s.referenceProvider.shutdown();
      assert.doesNotMatch(prometheus.logs(), /out of order|out-of-order|duplicate sample/i);
    },
  );
});
