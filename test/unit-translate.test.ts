import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { captureWarnings } from './helpers/diag.js';
import { AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { MetricType, type SeriesBatch, type TimeSeries } from '../src/model.js';
import { DeltaAccumulator } from '../src/translate/delta.js';
import { SeriesState } from '../src/steady-state/series-state.js';
import { hrTimeToMillis, translate, type TranslateOptions } from '../src/translate/translate.js';
import {
  T0_MS,
  exponentialHistogram,
  gauge,
  histogram,
  histogramValue,
  point,
  resourceMetrics,
  sum,
} from './helpers/otel.js';

const defaults: TranslateOptions = {
  addMetricSuffixes: true,
  namespace: '',
  externalLabels: new Map(),
  withoutTargetInfo: false,
  withoutScopeInfo: false,
  promoteResourceAttributes: [],
};

function newState() {
  return { deltas: new DeltaAccumulator(), warned: new Set<string>(), series: new SeriesState() };
}

function labels(s: TimeSeries): Record<string, string> {
  return Object.fromEntries(s.labels.map((l) => [l.name, l.value]));
}

function byName(series: TimeSeries[], name: string): TimeSeries[] {
  return series.filter((s) => labels(s)['__name__'] === name);
}

/** Captures diag warnings during fn. */
function warningsOf(fn: () => void): string[] {
  const { warnings, stop } = captureWarnings();
  try {
    fn();
  } finally {
    stop();
  }
  return warnings;
}

describe('type mapping', () => {
  const rm = resourceMetrics([
    sum({ name: 'orders', unit: '{order}', description: 'Orders placed' }, [point(5, { shop: 'a' })]),
    sum({ name: 'queue.size', unit: '{item}' }, [point(-3)], { monotonic: false }),
    gauge({ name: 'cpu.usage', unit: '1' }, [point(0.25)]),
    histogram({ name: 'latency', unit: 's' }, [point(histogramValue([1e-7, 0.1, 1], [1, 2, 3, 4], 7.5))]),
  ]);
  const batch = translate(rm, defaults, newState());

  it('monotonic cumulative sum → counter with _total', () => {
    const [s] = byName(batch.series, 'orders_total');
    assert.ok(s);
    assert.equal(s.samples[0]?.value, 5);
    assert.equal(s.samples[0]?.timestampMs, T0_MS);
    assert.deepEqual(batch.metadata.get('orders_total'), {
      type: MetricType.COUNTER,
      familyName: 'orders_total',
      help: 'Orders placed',
      unit: '',
    });
  });

  it('non-monotonic sum → gauge without _total', () => {
    assert.equal(byName(batch.series, 'queue_size')[0]?.samples[0]?.value, -3);
    assert.equal(batch.metadata.get('queue_size')?.type, MetricType.GAUGE);
  });

  it('gauge with unit 1 → _ratio', () => {
    assert.equal(byName(batch.series, 'cpu_usage_ratio')[0]?.samples[0]?.value, 0.25);
  });

  it('histogram → cumulative _bucket with +Inf, _sum, _count; le without exponent', () => {
    const buckets = byName(batch.series, 'latency_seconds_bucket').map((s) => [
      labels(s)['le'],
      s.samples[0]?.value,
    ]);
    assert.deepEqual(buckets, [
      ['0.0000001', 1],
      ['0.1', 3],
      ['1', 6],
      ['+Inf', 10],
    ]);
    assert.equal(byName(batch.series, 'latency_seconds_sum')[0]?.samples[0]?.value, 7.5);
    assert.equal(byName(batch.series, 'latency_seconds_count')[0]?.samples[0]?.value, 10);
    assert.deepEqual(batch.metadata.get('latency_seconds'), {
      type: MetricType.HISTOGRAM,
      familyName: 'latency_seconds',
      help: '',
      unit: 'seconds',
    });
    // Every series of the histogram (4 buckets, _sum, _count) belongs to one metadata family.
    const histogramSeries = batch.series.filter((x) => labels(x)['__name__']?.startsWith('latency_seconds_'));
    assert.equal(histogramSeries.length, 6);
    for (const s of histogramSeries) assert.equal(s.family, 'latency_seconds');
  });

  it('histogram without sum has no _sum series', () => {
    const b = translate(
      resourceMetrics([histogram({ name: 'h' }, [point(histogramValue([1], [1, 1]))])]),
      defaults,
      newState(),
    );
    assert.equal(byName(b.series, 'h_sum').length, 0);
    assert.equal(byName(b.series, 'h_count')[0]?.samples[0]?.value, 2);
  });

  it('each histogram gets the le values of its own bounds, also when a bounds array changes in place', () => {
    const bounds = [1, 2.5];
    const les = (b: SeriesBatch) => byName(b.series, 'h_bucket').map((x) => labels(x)['le']);
    const hist = (name: string, boundaries: number[]) =>
      histogram({ name }, [
        point(
          histogramValue(
            boundaries,
            [...boundaries, 0].map(() => 1),
            3,
          ),
          { k: 'v' },
        ),
      ]);
    const state = newState();
    assert.deepEqual(les(translate(resourceMetrics([hist('h', bounds)]), defaults, state)), [
      '1',
      '2.5',
      '+Inf',
    ]);
    bounds[1] = 5;
    const second = translate(resourceMetrics([hist('h', bounds), hist('g', [0.5])]), defaults, state);
    assert.deepEqual(les(second), ['1', '5', '+Inf']);
    assert.deepEqual(
      byName(second.series, 'g_bucket').map((x) => labels(x)['le']),
      ['0.5', '+Inf'],
    );
  });

  it('labels are sorted by name, unique, and carry __name__', () => {
    for (const s of batch.series) {
      const names = s.labels.map((l) => l.name);
      assert.deepEqual(names, [...names].sort());
      assert.equal(new Set(names).size, names.length);
      assert.ok(names.includes('__name__'));
    }
  });

  it('a metric whose name has no valid character is skipped with a warning; the others are sent', () => {
    let batch: SeriesBatch | undefined;
    const warnings = warningsOf(() => {
      batch = translate(
        resourceMetrics([gauge({ name: '@@@' }, [point(1)]), gauge({ name: 'ok' }, [point(2)])], {}),
        defaults,
        newState(),
      );
    });
    assert.deepEqual(
      batch!.series.map((s) => labels(s)['__name__']),
      ['ok'],
    );
    assert.match(warnings.join('\n'), /"@@@" is not sent: its name has no character valid/);
  });

  it('addMetricSuffixes: false keeps _bucket/_sum/_count but adds no unit or _total', () => {
    const rm = resourceMetrics(
      [
        histogram({ name: 'rpc.duration', unit: 'ms' }, [point(histogramValue([1], [1, 1], 3))]),
        sum({ name: 'rpc.calls', unit: '{call}' }, [point(2)]),
      ],
      {},
    );
    const names = translate(rm, { ...defaults, addMetricSuffixes: false }, newState()).series.map(
      (s) => labels(s)['__name__'],
    );
    assert.deepEqual(
      [...new Set(names)],
      ['rpc_duration_bucket', 'rpc_duration_sum', 'rpc_duration_count', 'rpc_calls'],
    );
  });

  it('exponential histograms become one native-histogram series per point, named as the family', () => {
    const b = translate(
      resourceMetrics([
        exponentialHistogram({ name: 'exp.latency', unit: 's' }),
        gauge({ name: 'g' }, [point(1)]),
      ]),
      defaults,
      newState(),
    );
    const [s] = byName(b.series, 'exp_latency_seconds');
    assert.ok(s, 'no _bucket/_sum/_count suffix');
    assert.deepEqual(s.samples, []);
    assert.equal(s.histograms?.length, 1);
    const h = s.histograms![0]!;
    assert.deepEqual(
      { count: h.count, sum: h.sum, schema: h.schema, spans: h.positiveSpans, deltas: h.positiveDeltas },
      { count: 1, sum: 1, schema: 0, spans: [{ offset: 1, length: 1 }], deltas: [1] },
    );
    assert.equal(h.timestampMs, T0_MS);
    assert.equal(h.startTimestampMs, T0_MS - 60_000);
    assert.equal(b.metadata.get('exp_latency_seconds')?.type, MetricType.HISTOGRAM);
    assert.equal(byName(b.series, 'g').length, 1);
  });
});

describe('labels from attributes, resource and scope', () => {
  it('job, instance, scope labels, target_info', () => {
    const rm = resourceMetrics(
      [gauge({ name: 'g' }, [point(1, { 'http.method': 'GET', empty: '' })])],
      {
        'service.name': 'api',
        'service.namespace': 'shop',
        'service.instance.id': 'pod-7',
        'host.name': 'h1',
        'deployment.environment': 'prod',
      },
      { name: 'my-lib', version: '2.0.0', schemaUrl: 'https://opentelemetry.io/schemas/1.21.0' },
    );
    const batch = translate(rm, defaults, newState());
    assert.deepEqual(labels(byName(batch.series, 'g')[0]!), {
      __name__: 'g',
      http_method: 'GET',
      job: 'shop/api',
      instance: 'pod-7',
      otel_scope_name: 'my-lib',
      otel_scope_version: '2.0.0',
      otel_scope_schema_url: 'https://opentelemetry.io/schemas/1.21.0',
    });
    const info = byName(batch.series, 'target_info');
    assert.equal(info.length, 1);
    assert.deepEqual(labels(info[0]!), {
      __name__: 'target_info',
      job: 'shop/api',
      instance: 'pod-7',
      host_name: 'h1',
      deployment_environment: 'prod',
    });
    assert.equal(info[0]!.samples[0]?.value, 1);
    assert.equal(info[0]!.samples[0]?.timestampMs, T0_MS);
  });

  it('scope attributes become otel_scope_<attr>; they cannot replace name, version or schema URL', () => {
    const scope = {
      name: 'lib',
      version: '1',
      attributes: { 'team.name': 'payments', name: 'other', version: '9' },
    };
    const rm = resourceMetrics([gauge({ name: 'g' }, [point(1)])], {}, scope);
    assert.deepEqual(labels(translate(rm, defaults, newState()).series[0]!), {
      __name__: 'g',
      otel_scope_name: 'lib',
      otel_scope_version: '1',
      otel_scope_team_name: 'payments',
    });
  });

  it('timestamps: nanoseconds truncate to milliseconds', () => {
    assert.equal(hrTimeToMillis([1_700_000_000, 999_999_999]), 1_700_000_000_999);
    assert.equal(hrTimeToMillis([1_700_000_000, 1_000_000]), 1_700_000_000_001);
    assert.equal(hrTimeToMillis([1_700_000_000, 999_999]), 1_700_000_000_000);
  });

  it('withoutTargetInfo and withoutScopeInfo', () => {
    const rm = resourceMetrics([gauge({ name: 'g' }, [point(1)])], {
      'service.name': 'api',
      'host.name': 'h1',
    });
    const batch = translate(rm, { ...defaults, withoutTargetInfo: true, withoutScopeInfo: true }, newState());
    assert.equal(byName(batch.series, 'target_info').length, 0);
    assert.deepEqual(labels(batch.series[0]!), { __name__: 'g', job: 'api' });
  });

  it('no target_info without job/instance or without other attributes', () => {
    const noIdentity = translate(
      resourceMetrics([gauge({ name: 'g' }, [point(1)])], { 'host.name': 'h' }),
      defaults,
      newState(),
    );
    assert.equal(byName(noIdentity.series, 'target_info').length, 0);
    const noRest = translate(
      resourceMetrics([gauge({ name: 'g' }, [point(1)])], { 'service.name': 's' }),
      defaults,
      newState(),
    );
    assert.equal(byName(noRest.series, 'target_info').length, 0);
  });

  it('namespace applies to target_info', () => {
    const rm = resourceMetrics([gauge({ name: 'g' }, [point(1)])], {
      'service.name': 'api',
      'host.name': 'h1',
    });
    const batch = translate(rm, { ...defaults, namespace: 'ns' }, newState());
    assert.equal(byName(batch.series, 'ns_target_info').length, 1);
    assert.equal(byName(batch.series, 'ns_g').length, 1);
  });

  it('colliding keys are joined with ; in the order of the original keys', () => {
    const rm = resourceMetrics(
      [gauge({ name: 'g' }, [point(1, { 'a.b': 'dot', a_b: 'underscore', 'a-b': 'dash' })])],
      {},
    );
    const batch = translate(rm, { ...defaults, withoutScopeInfo: true }, newState());
    // Sorted original keys: "a-b" < "a.b" < "a_b".
    assert.equal(labels(batch.series[0]!)['a_b'], 'dash;dot;underscore');
  });

  it('__name__ never comes from an attribute; job/instance from the resource win; external labels do not override', () => {
    const rm = resourceMetrics(
      [gauge({ name: 'real' }, [point(1, { __name__: 'fake', job: 'attr-job', region: 'eu' })])],
      {
        'service.name': 'svc',
      },
    );
    const batch = translate(
      rm,
      {
        ...defaults,
        withoutScopeInfo: true,
        externalLabels: new Map([
          ['region', 'us'],
          ['cluster', 'c1'],
        ]),
      },
      newState(),
    );
    assert.deepEqual(labels(batch.series[0]!), { __name__: 'real', job: 'svc', region: 'eu', cluster: 'c1' });
  });

  it('non-string attribute values are stringified', () => {
    const rm = resourceMetrics(
      [gauge({ name: 'g' }, [point(1, { n: 42, f: 1e-7, b: false, arr: ['x', 'y'] })])],
      {},
    );
    const l = labels(translate(rm, { ...defaults, withoutScopeInfo: true }, newState()).series[0]!);
    assert.deepEqual([l['n'], l['f'], l['b'], l['arr']], ['42', '0.0000001', 'false', '["x","y"]']);
  });

  it('promoteResourceAttributes: chosen ones or all but the identifying ones', () => {
    const res = { 'service.name': 'svc', 'service.instance.id': 'i', 'k8s.pod.name': 'p', 'host.name': 'h' };
    const rm = resourceMetrics([gauge({ name: 'g' }, [point(1)])], res);
    const chosen = translate(
      rm,
      { ...defaults, withoutScopeInfo: true, promoteResourceAttributes: ['k8s.pod.name'] },
      newState(),
    );
    assert.deepEqual(labels(byName(chosen.series, 'g')[0]!), {
      __name__: 'g',
      job: 'svc',
      instance: 'i',
      k8s_pod_name: 'p',
    });
    const all = translate(
      rm,
      { ...defaults, withoutScopeInfo: true, promoteResourceAttributes: 'all' },
      newState(),
    );
    assert.deepEqual(labels(byName(all.series, 'g')[0]!), {
      __name__: 'g',
      job: 'svc',
      instance: 'i',
      k8s_pod_name: 'p',
      host_name: 'h',
    });
  });

  it('a series produced twice in one export is sent once, with a warning', () => {
    const rm = resourceMetrics([gauge({ name: 'a.b' }, [point(1)]), gauge({ name: 'a_b' }, [point(2)])], {});
    let batch;
    const warnings = warningsOf(() => {
      batch = translate(rm, defaults, newState());
    });
    assert.equal(byName(batch!.series, 'a_b').length, 1);
    assert.equal(byName(batch!.series, 'a_b')[0]?.samples[0]?.value, 1);
    assert.match(warnings.join('\n'), /a_b\{.*produced twice/);
  });

  it('same name with different types: the second metric is not sent, with a warning', () => {
    const rm = resourceMetrics([gauge({ name: 'x_total' }, [point(1)]), sum({ name: 'x' }, [point(2)])], {});
    let batch;
    const warnings = warningsOf(() => {
      batch = translate(rm, defaults, newState());
    });
    assert.equal(byName(batch!.series, 'x_total').length, 1);
    assert.equal(byName(batch!.series, 'x_total')[0]?.samples[0]?.value, 1);
    assert.match(warnings.join('\n'), /"x_total" with different types/);
  });
});

describe('delta temporality is accumulated into cumulative series', () => {
  it('delta sums add up, keep the first start time, and are reported while absent', () => {
    const state = newState();
    const opts = { ...defaults, withoutScopeInfo: true };
    const delta = AggregationTemporality.DELTA;
    const first = translate(
      resourceMetrics(
        [
          sum({ name: 'req' }, [point(3, { p: 'a' }, T0_MS), point(1, { p: 'b' }, T0_MS)], {
            temporality: delta,
          }),
        ],
        {},
      ),
      opts,
      state,
    );
    const second = translate(
      resourceMetrics(
        [sum({ name: 'req' }, [point(4, { p: 'a' }, T0_MS + 10_000, T0_MS)], { temporality: delta })],
        {},
      ),
      opts,
      state,
    );
    const value = (b: typeof first, p: string) =>
      byName(b.series, 'req_total').find((s) => labels(s)['p'] === p)?.samples[0];
    assert.equal(value(first, 'a')?.value, 3);
    assert.equal(value(second, 'a')?.value, 7);
    // "b" had no new delta but is still reported, at the export's time, with its total.
    assert.equal(value(second, 'b')?.value, 1);
    assert.equal(value(second, 'b')?.timestampMs, T0_MS + 10_000);
    assert.equal(second.metadata.get('req_total')?.type, MetricType.COUNTER);
  });

  it('delta histograms add bucket by bucket; changed bounds restart with a warning', () => {
    const state = newState();
    const opts = { ...defaults, withoutScopeInfo: true };
    const delta = AggregationTemporality.DELTA;
    translate(
      resourceMetrics(
        [histogram({ name: 'h' }, [point(histogramValue([1, 2], [1, 0, 1], 4), {}, T0_MS)], delta)],
        {},
      ),
      opts,
      state,
    );
    const second = translate(
      resourceMetrics(
        [histogram({ name: 'h' }, [point(histogramValue([1, 2], [0, 2, 0], 3), {}, T0_MS + 1000)], delta)],
        {},
      ),
      opts,
      state,
    );
    assert.deepEqual(
      byName(second.series, 'h_bucket').map((s) => s.samples[0]?.value),
      [1, 3, 4],
    );
    assert.equal(byName(second.series, 'h_sum')[0]?.samples[0]?.value, 7);
    let third;
    const warnings = warningsOf(() => {
      third = translate(
        resourceMetrics(
          [histogram({ name: 'h' }, [point(histogramValue([5], [1, 0], 1), {}, T0_MS + 2000)], delta)],
          {},
        ),
        opts,
        state,
      );
    });
    assert.match(warnings.join('\n'), /"h" changed its bucket boundaries/);
    assert.equal(byName(third!.series, 'h_count')[0]?.samples[0]?.value, 1);
  });
});

describe('per-series state: order and staleness', () => {
  const s = (key: string, ts: number, value = 1): TimeSeries => ({
    key,
    labels: [{ name: '__name__', value: key }],
    family: key,
    samples: [{ value, timestampMs: ts }],
  });

  it('a sample at or before the last one of its series is moved 1 ms after it', () => {
    const state = new SeriesState();
    state.admit([s('a', 1000)], 0);
    const again = [s('a', 1000, 2)];
    state.admit(again, 0);
    assert.equal(again[0]!.samples[0]!.timestampMs, 1001);
    assert.equal(again[0]!.samples[0]!.value, 2);
    const back = [s('a', 500, 3)];
    state.admit(back, 0);
    assert.equal(back[0]!.samples[0]!.timestampMs, 1002);
  });

  it('a series missing from an export gets one stale marker, later than its last sample', () => {
    const state = new SeriesState();
    assert.deepEqual(state.admit([s('a', 1000), s('b', 1000)], 900), []);
    const stale = state.admit([s('a', 2000)], 5000);
    assert.equal(stale.length, 1);
    assert.equal(stale[0]!.key, 'b');
    assert.deepEqual(stale[0]!.samples, [{ value: NaN, timestampMs: 5000, stale: true }]);
    assert.deepEqual(state.admit([s('a', 3000)], 6000), [], 'only once');
    // A clock behind the last sample still gives a later marker.
    const late = state.admit([], 10);
    assert.equal(late[0]!.samples[0]!.timestampMs, 3001);
  });

  it('staleAll marks every known series and forgets them', () => {
    const state = new SeriesState();
    state.admit([s('a', 1000), s('b', 2000)], 0);
    const stale = state.staleAll(1500);
    assert.deepEqual(
      stale.map((x) => [x.key, x.samples[0]!.timestampMs, x.samples[0]!.stale]),
      [
        ['a', 1500, true],
        ['b', 2001, true],
      ],
    );
    assert.equal(state.size, 0);
  });
});
