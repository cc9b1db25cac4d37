/**
 * Bad input is refused at once with a clear error, counted when dropped, and never takes other
 * data with it: each bad item is exported together with good series to a loopback receiver.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { captureWarnings } from './helpers/diag.js';
import { ExportResultCode } from '@opentelemetry/core';
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  MetricReader,
  type DataPoint,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { InvalidOptionError, PrometheusRemoteWriteExporter } from '../src/index.js';
import { labelsOf, startMockReceiver, type MockReceiver } from './helpers/mock-receiver.js';
import {
  T0_MS,
  exportOnce,
  exportQueued,
  exponentialHistogram,
  gauge,
  histogram,
  histogramValue,
  point,
  resourceMetrics,
  sum,
} from './helpers/otel.js';
import { v1BodyProblems } from './helpers/prometheus-accepts.js';
import { MetricStreams } from '../src/steady-state/series-state.js';

let receiver: MockReceiver;
before(async () => {
  receiver = await startMockReceiver();
});
after(() => receiver.close());
beforeEach(() => {
  receiver.requests.length = 0;
});

function exporter(options: Record<string, unknown> = {}): PrometheusRemoteWriteExporter {
  return new PrometheusRemoteWriteExporter({ url: receiver.url, withoutTargetInfo: true, ...options });
}

/** Every series received, as `name{labels}` → values. */
function received(): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const r of receiver.requests) {
    assert.deepEqual(v1BodyProblems(r.raw), [], 'a body Prometheus accepts');
    for (const s of r.decoded.timeseries) {
      const { __name__: name, ...rest } = labelsOf(s);
      delete rest['otel_scope_name'];
      delete rest['otel_scope_version'];
      delete rest['job'];
      delete rest['instance'];
      const key = `${name}${JSON.stringify(rest)}`;
      out.set(key, [...(out.get(key) ?? []), ...s.samples.map((x) => x.value)]);
    }
  }
  return out;
}

async function withWarnings<T>(fn: () => Promise<T>): Promise<{ result: T; warnings: string[] }> {
  const { warnings, stop } = captureWarnings();
  try {
    return { result: await fn(), warnings };
  } finally {
    stop();
  }
}

const good = (name: string, value = 1) => gauge({ name }, [point(value, { k: 'v' })]);

describe('malformed ResourceMetrics', () => {
  it('a scope whose metrics is not an array is skipped and named; the next scope is sent', async () => {
    const e = exporter();
    const rm: ResourceMetrics = {
      ...resourceMetrics([good('first')]),
    };
    rm.scopeMetrics.push(
      {
        scope: { name: 'broken-scope' },
        metrics: undefined,
      } as unknown as ResourceMetrics['scopeMetrics'][0],
      { scope: { name: 'later' }, metrics: [good('second')] },
    );
    const result = await exportOnce(e, rm);
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(
      result.error?.message ?? '',
      /scope "broken-scope" skipped: its metrics is undefined, not an array/,
    );
    assert.deepEqual([...received().keys()].sort(), ['first{"k":"v"}', 'second{"k":"v"}']);
    await e.shutdown();
  });

  it('a point with value undefined is skipped, reported and counted; the other points are sent', async () => {
    const e = exporter();
    const points = [
      point(1, { i: 'a' }),
      point(undefined as unknown as number, { i: 'b' }),
      point(3, { i: 'c' }),
    ];
    const result = await exportOnce(e, resourceMetrics([sum({ name: 'jobs' }, points), good('other')]));
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(
      result.error?.message ?? '',
      /metric "jobs": 1 of 3 points not sent: a data point's value is undefined/,
    );
    const got = received();
    assert.deepEqual(got.get('jobs_total{"i":"a"}'), [1]);
    assert.deepEqual(got.get('jobs_total{"i":"c"}'), [3]);
    assert.equal(got.get('jobs_total{"i":"b"}'), undefined, 'not sent as NaN');
    assert.deepEqual(got.get('other{"k":"v"}'), [1]);
    assert.equal(e.stats().samplesDropped.malformed, 1);
    await e.shutdown();
  });

  // A counter that its frame takes whole is not checked before the frame's patch (frames.ts
  // addFramed): the patch must stop at a malformed point, and the check then leave it out.
  const malformedInFrame: Array<[string, (ms: number) => unknown, RegExp]> = [
    ['value undefined', (ms) => point(undefined, B, ms), /a data point's value is undefined/],
    ['a point that is null', () => null, /a data point is not an object/],
    [
      'an end time that is no time',
      () => ({ ...point(2, B), endTime: ['x', 0] }),
      /endTime is not a valid time/,
    ],
    ['attributes null', (ms) => ({ ...point(2, B, ms), attributes: null }), /attributes is null/],
    // Strings that JavaScript would turn into the frame's very millisecond.
    [
      'an end time of strings',
      (ms) => ({ ...point(2, B, ms), endTime: [String(Math.floor(ms / 1000)), String((ms % 1000) * 1e6)] }),
      /endTime is not a valid time/,
    ],
  ];
  const A = { i: 'a' };
  const B = { i: 'b' };
  const C = { i: 'c' };
  const D = { i: 'd' };
  for (const [what, bad, reason] of malformedInFrame)
    it(`in a counter its frame takes whole, ${what} is skipped, reported and counted; the frame goes on`, async (t) => {
      const e = exporter();
      const patched = t.mock.method(MetricStreams.prototype, 'patch');
      const at = (k: number) => T0_MS + k * 1000;
      const rm = (k: number, second: unknown) =>
        resourceMetrics([
          sum({ name: 'jobs' }, [
            point(10 + k, A, at(k)),
            second as DataPoint<number>,
            point(30 + k, C, at(k)),
            point(40 + k, D, at(k)),
          ]),
        ]);
      for (let k = 0; k < 3; k++) {
        assert.equal((await exportOnce(e, rm(k, point(20 + k, B, at(k))))).code, ExportResultCode.SUCCESS);
        await e.idle(); // the frame is built after the first
      }
      receiver.requests.length = 0;
      const calls = patched.mock.callCount();
      const result = await exportOnce(e, rm(3, bad(at(3))));
      assert.ok(patched.mock.callCount() > calls, 'the frame was patched');
      assert.equal(result.code, ExportResultCode.FAILED);
      assert.match(result.error?.message ?? '', /metric "jobs": 1 of 4 points not sent/);
      assert.match(result.error?.message ?? '', reason);
      let got = received();
      assert.deepEqual(got.get('jobs_total{"i":"a"}'), [13]);
      // Not in this export: the series gets its stale marker, and no value.
      assert.deepEqual(got.get('jobs_total{"i":"b"}'), [NaN], 'a stale marker only');
      assert.deepEqual(got.get('jobs_total{"i":"c"}'), [33]);
      assert.deepEqual(got.get('jobs_total{"i":"d"}'), [43]);
      assert.equal(e.stats().samplesDropped.malformed, 1);
      // Whole again: every series with its value.
      receiver.requests.length = 0;
      await e.idle();
      assert.equal((await exportOnce(e, rm(4, point(24, B, at(4))))).code, ExportResultCode.SUCCESS);
      got = received();
      for (const [i, v] of [
        ['a', 14],
        ['b', 24],
        ['c', 34],
        ['d', 44],
      ] as const)
        assert.deepEqual(got.get(`jobs_total{"i":"${i}"}`), [v], i);
      await e.shutdown();
    });

  it('a metric without a readable descriptor or points is named; its neighbours are sent', async () => {
    const e = exporter();
    const broken = [
      { dataPointType: DataPointType.GAUGE, dataPoints: [] },
      { ...good('no_points'), dataPoints: 'x' },
      { ...good('bad_type'), dataPointType: 42 },
      { ...good('nameless'), descriptor: { name: 5 } },
      null,
    ] as unknown as MetricData[];
    const result = await exportOnce(e, resourceMetrics([good('before'), ...broken, good('after')]));
    assert.equal(result.code, ExportResultCode.FAILED);
    const message = result.error?.message ?? '';
    assert.match(message, /metric \(no name\) not sent: its descriptor is missing/);
    assert.match(message, /metric "no_points" not sent: its dataPoints is a string, not an array/);
    assert.match(message, /metric "bad_type" not sent: its dataPointType is unknown/);
    assert.match(message, /its name is a number, not a string/);
    assert.match(message, /metric \(no name\) not sent: is not an object/);
    assert.deepEqual([...received().keys()].sort(), ['after{"k":"v"}', 'before{"k":"v"}']);
    await e.shutdown();
  });

  it('a ResourceMetrics without a resource sends nothing and says why', async () => {
    const e = exporter();
    for (const rm of [null, { resource: null, scopeMetrics: [] }, { resource: {}, scopeMetrics: [] }]) {
      const result = await exportQueued(e, rm as unknown as ResourceMetrics);
      assert.equal(result.code, ExportResultCode.FAILED);
      assert.match(result.error?.message ?? '', /^prometheus remote write: nothing sent: /);
    }
    const result = await exportQueued(e, {
      ...resourceMetrics([]),
      scopeMetrics: 5,
    } as unknown as ResourceMetrics);
    assert.match(result.error?.message ?? '', /its scopeMetrics is a number, not an array/);
    await e.forceFlush();
    assert.equal(receiver.requests.length, 0);
    await e.shutdown();
  });

  it('histogram points with inconsistent buckets are skipped one by one', async () => {
    const e = exporter();
    const h = (boundaries: number[], counts: number[], count?: number) => ({
      ...histogramValue(boundaries, counts, 1),
      ...(count === undefined ? {} : { count }),
    });
    const points = [
      point(h([1, 2], [1, 1, 1]), { case: 'good' }),
      point(h([1, 2], [1, 1]), { case: 'short' }),
      point(h([2, 1], [1, 1, 1]), { case: 'unsorted' }),
      point(h([1, 1], [1, 1, 1]), { case: 'repeated' }),
      point(h([1, NaN], [1, 1, 1]), { case: 'nan' }),
      point(h([1], [1, -1]), { case: 'negative' }),
      point(h([1], [1, 1], 1), { case: 'count' }),
      point(h([1], [0.5, 1]), { case: 'fraction' }),
    ];
    const result = await exportOnce(e, resourceMetrics([histogram({ name: 'lat' }, points)]));
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(
      result.error?.message ?? '',
      /metric "lat": 7 of 8 points not sent: a histogram point has 2 bucket counts for 2 boundaries/,
    );
    const cases = new Set([...received().keys()].map((k) => JSON.parse(k.slice(k.indexOf('{'))).case));
    assert.deepEqual([...cases], ['good']);
    assert.equal(e.stats().samplesDropped.malformed, 7);
    await e.shutdown();
  });

  it('exponential histograms with absurd scales or offsets are malformed; a scale below −4 is unsupported', async () => {
    const e = exporter();
    const base = exponentialHistogram({ name: 'exp' });
    const value = (base.dataPoints[0] as { value: object }).value;
    const points = [
      point(value, { case: 'good' }),
      point({ ...value, scale: 1e9 }, { case: 'huge-scale' }),
      point({ ...value, scale: 0.5 }, { case: 'fraction-scale' }),
      point({ ...value, positive: { offset: 2 ** 40, bucketCounts: [1] } }, { case: 'huge-offset' }),
      point({ ...value, count: 0 }, { case: 'count' }),
      point({ ...value, zeroCount: -1 }, { case: 'zero' }),
      point({ ...value, scale: -6 }, { case: 'coarse' }),
    ];
    const result = await exportOnce(e, resourceMetrics([{ ...base, dataPoints: points } as MetricData]));
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(
      result.error?.message ?? '',
      /metric "exp": 5 of 7 points not sent: .*scale that is not an integer/,
    );
    assert.equal(receiver.requests.flatMap((r) => r.decoded.timeseries).length, 1);
    assert.equal(e.stats().samplesDropped.malformed, 5);
    assert.equal(e.stats().samplesDropped.unsupported, 1);
    await e.shutdown();
  });

  it('points with an endTime that is no time are malformed; a startTime that is none is left out', async () => {
    const e = exporter({ protocol: 'v2' });
    const points = [
      point(1, { i: 'a' }),
      { ...point(2, { i: 'b' }), endTime: [NaN, 0] },
      { ...point(3, { i: 'c' }), endTime: 'now' },
      { ...point(4, { i: 'd' }), startTime: null },
    ] as unknown as ReturnType<typeof point<number>>[];
    const result = await exportOnce(e, resourceMetrics([sum({ name: 'c' }, points)]));
    assert.match(
      result.error?.message ?? '',
      /2 of 4 points not sent: a data point's endTime is not a valid time/,
    );
    const series = receiver.requests.flatMap((r) => r.decodedV2?.timeseries ?? []);
    assert.equal(series.length, 2);
    assert.deepEqual(
      series.map((s) => s.samples[0]?.startTimestamp),
      [T0_MS - 60_000, 0],
    );
    await e.shutdown();
  });
});

describe('delta metrics', () => {
  it('a delta point without an end time is malformed and leaves the other delta totals whole', async () => {
    const e = exporter();
    const value = (exponentialHistogram({ name: 'x' }).dataPoints[0] as { value: object }).value;
    const bad = {
      ...exponentialHistogram({ name: 'bad' }),
      aggregationTemporality: AggregationTemporality.DELTA,
      dataPoints: [{ ...point(value), endTime: undefined }, ''],
    } as unknown as MetricData;
    const goodDelta = histogram(
      { name: 'good' },
      [point(histogramValue([1, 10], [0, 1, 2], 7), { p: '0' })],
      AggregationTemporality.DELTA,
    );
    const rm = resourceMetrics([bad]);
    rm.scopeMetrics.push({ scope: { name: 'other' }, metrics: [goodDelta] });
    const result = await exportOnce(e, rm);
    assert.match(
      result.error?.message ?? '',
      /metric "bad": 2 of 2 points not sent: a data point's endTime is not a valid time/,
    );
    const names = receiver.requests.flatMap((r) => r.decoded.timeseries.map((t) => labelsOf(t)['__name__']));
    assert.deepEqual(names.sort(), ['good_bucket', 'good_bucket', 'good_bucket', 'good_count', 'good_sum']);
    assert.equal(e.stats().samplesDropped.malformed, 2);
    await e.shutdown();
  });
});

describe('delta exponential histograms', () => {
  it('buckets far apart in two exports (±1e9 at scale 20) are added at a coarser scale, not in a 2e9 array', async () => {
    const e = exporter();
    const at = (offset: number, ms: number) =>
      ({
        ...exponentialHistogram({ name: 'wide' }),
        aggregationTemporality: AggregationTemporality.DELTA,
        dataPoints: [
          point(
            {
              count: 1,
              sum: 1,
              scale: 20,
              zeroCount: 0,
              positive: { offset, bucketCounts: [1] },
              negative: { offset: 0, bucketCounts: [] },
            },
            {},
            ms,
          ),
        ],
      }) as unknown as MetricData;
    await exportOnce(e, resourceMetrics([at(-1_000_000_000, T0_MS)]));
    const result = await exportOnce(e, resourceMetrics([at(1_000_000_000, T0_MS + 1000)]));
    assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message);
    const last = receiver.requests.at(-1)!.decoded.timeseries[0]!.histograms![0]!;
    assert.equal(last.countInt, 2);
    assert.ok(last.schema >= -4 && last.schema < 0, `schema ${last.schema}`);
    assert.deepEqual(v1BodyProblems(receiver.requests.at(-1)!.raw), []);
    await e.shutdown();
  });
});

describe('attribute keys and values', () => {
  it('keys that leave no label name are dropped with one warning per metric, and counted', async () => {
    const e = exporter();
    const attrs = { ok: 'x', '': 'empty', '!!!': 'bang', ключ: 'cyrillic', '\ud800': 'surrogate' };
    const { result, warnings } = await withWarnings(async () => {
      const first = await exportOnce(e, resourceMetrics([gauge({ name: 'g' }, [point(1, attrs, T0_MS)])]));
      await exportOnce(e, resourceMetrics([gauge({ name: 'g' }, [point(2, { ...attrs }, T0_MS + 1000)])]));
      return first;
    });
    assert.equal(result.code, ExportResultCode.SUCCESS);
    assert.deepEqual([...received().keys()], ['g{"ok":"x"}']);
    const about = warnings.filter((w) => w.includes('attributes of metric "g"'));
    assert.equal(about.length, 1, warnings.join('\n'));
    assert.match(about[0]!, /left out of its labels/);
    assert.equal(e.stats().attributesDropped, 8, 'four keys, twice (a new attributes object each time)');
    await e.shutdown();
  });

  it('under the UTF-8 strategies such keys are kept except the empty one; a lone surrogate becomes U+FFFD', async () => {
    const e = exporter({ translationStrategy: 'NoTranslation' });
    const { warnings } = await withWarnings(() =>
      exportOnce(
        e,
        resourceMetrics([gauge({ name: 'g' }, [point(1, { '': 'x', ключ: 'v', 'a\ud800': 'w' })])]),
      ),
    );
    const labels = labelsOf(receiver.requests[0]!.decoded.timeseries[0]!);
    assert.equal(labels['ключ'], 'v');
    assert.equal(labels['a\ufffd'], 'w');
    assert.equal(e.stats().attributesDropped, 1);
    assert.equal(warnings.filter((w) => w.includes('lone surrogate')).length, 1);
    await e.shutdown();
  });

  it('points that collapse into one series are counted as duplicate_series and the result says so', async () => {
    const e = exporter();
    const points = [
      point(1, { k: 'v', '': 'a' }),
      point(2, { k: 'v', '!!!': 'b' }),
      point(3, { k: 'v', ключ: 'c' }),
      point(4, { k: 'v', '\ud800': 'd' }),
    ];
    const result = await exportOnce(e, resourceMetrics([gauge({ name: 'dup' }, points), good('other')]));
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(
      result.error?.message ?? '',
      /3 samples not sent: their series was produced twice in this export .*dup\{/,
    );
    assert.deepEqual(received().get('dup{"k":"v"}'), [1]);
    assert.deepEqual(received().get('other{"k":"v"}'), [1]);
    assert.equal(e.stats().samplesDropped.duplicate_series, 3);
    await e.shutdown();
  });

  it('the drops are recorded on the meter passed in', async () => {
    class ManualReader extends MetricReader {
      protected onShutdown(): Promise<void> {
        return Promise.resolve();
      }
      protected onForceFlush(): Promise<void> {
        return Promise.resolve();
      }
    }
    const reader = new ManualReader();
    const provider = new MeterProvider({ readers: [reader] });
    const e = exporter({ meter: provider.getMeter('self') });
    const points = [
      point(1, { k: 'v', '!!!': 'a' }),
      point(2, { k: 'v', ключ: 'b' }),
      point(undefined as unknown as number),
    ];
    await exportOnce(e, resourceMetrics([gauge({ name: 'm' }, points)]));
    const { resourceMetrics: rm } = await reader.collect();
    const values = new Map<string, unknown>();
    for (const m of rm.scopeMetrics.flatMap((x) => x.metrics)) {
      for (const p of m.dataPoints) {
        const reason = p.attributes['reason'];
        values.set(reason ? `${m.descriptor.name}{${String(reason)}}` : m.descriptor.name, p.value);
      }
    }
    assert.equal(values.get('prometheus_remote_write.attributes.dropped'), 2);
    assert.equal(values.get('prometheus_remote_write.samples.dropped{malformed}'), 1);
    assert.equal(values.get('prometheus_remote_write.samples.dropped{duplicate_series}'), 1);
    assert.equal(values.get('prometheus_remote_write.samples.dropped{unsupported}'), 0);
    await e.shutdown();
    await provider.shutdown();
  });

  it('a lone surrogate in a label value is sent as U+FFFD, with one warning per metric', async () => {
    const e = exporter();
    const { warnings } = await withWarnings(async () => {
      await exportOnce(e, resourceMetrics([gauge({ name: 's' }, [point(1, { v: 'a\ud800b' }, T0_MS)])]));
      await exportOnce(e, resourceMetrics([gauge({ name: 's' }, [point(1, { v: 'x\udc00' }, T0_MS + 1)])]));
    });
    const values = receiver.requests.map((r) => labelsOf(r.decoded.timeseries[0]!)['v']);
    assert.deepEqual(values, ['a\ufffdb', 'x\ufffd']);
    const about = warnings.filter((w) => w.includes('lone surrogate'));
    assert.equal(about.length, 1);
    assert.match(about[0]!, /labels of metric "s" held a lone surrogate .* sent as U\+FFFD/);
    await e.shutdown();
  });

  it('attribute values JSON cannot write (a BigInt in an array, a cycle) are dropped and counted', async () => {
    const e = exporter();
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    const attrs = { ok: 'x', big: 10n, bigs: [1n], cycle, fn: () => 1 } as unknown as Record<string, string>;
    const result = await exportOnce(e, resourceMetrics([gauge({ name: 'g' }, [point(1, attrs)])]));
    assert.equal(result.code, ExportResultCode.SUCCESS);
    assert.deepEqual([...received().keys()], ['g{"big":"10","ok":"x"}']);
    assert.equal(e.stats().attributesDropped, 3);
    await e.shutdown();
  });
});

describe('options checked at construction', () => {
  it('an external label value that is not valid UTF-8 is refused', () => {
    assert.throws(
      () => exporter({ externalLabels: { region: 'eu\ud800' } }),
      (err: Error) => err instanceof InvalidOptionError && /externalLabels\.region.*UTF-8/.test(err.message),
    );
  });

  it('timeouts that a timer cannot hold are refused instead of firing at once', () => {
    for (const option of ['timeoutMillis', 'flushTimeoutMillis', 'shutdownTimeoutMillis']) {
      assert.throws(
        () => exporter({ [option]: 2 ** 31 }),
        (err: Error) => err instanceof InvalidOptionError && err.message.includes(`"${option}"`),
        option,
      );
    }
    assert.doesNotThrow(() => exporter({ maxRetryElapsedMillis: Infinity }).shutdown());
  });
});
