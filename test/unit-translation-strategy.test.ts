/**
 * The `translationStrategy` option: how it combines with `addMetricSuffixes` and `namespace`,
 * what it does to the series translate builds, and that RemoteWriteClient names alike.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvalidOptionError, PrometheusRemoteWriteExporter, RemoteWriteClient } from '../src/index.js';
import { MetricType, type TimeSeries } from '../src/model.js';
import { resolveNaming, resolveOptions, type PrometheusRemoteWriteExporterOptions } from '../src/options.js';
import { DeltaAccumulator } from '../src/translate/delta.js';
import type { TranslationStrategy } from '../src/translate/names.js';
import { SeriesState } from '../src/steady-state/series-state.js';
import { translate, type TranslateOptions } from '../src/translate/translate.js';
import { gauge, histogram, histogramValue, point, resourceMetrics, sum } from './helpers/otel.js';
import { labelsOf, seriesNamed, startMockReceiver, type MockReceiver } from './helpers/mock-receiver.js';

const url = 'http://127.0.0.1:9/api/v1/write';

describe('translationStrategy and addMetricSuffixes', () => {
  // [options, strategy, addMetricSuffixes] as resolved
  const table: Array<[Partial<PrometheusRemoteWriteExporterOptions>, TranslationStrategy, boolean]> = [
    [{}, 'UnderscoreEscapingWithSuffixes', true],
    [{ addMetricSuffixes: true }, 'UnderscoreEscapingWithSuffixes', true],
    [{ addMetricSuffixes: false }, 'UnderscoreEscapingWithoutSuffixes', false],
    [
      { translationStrategy: 'UnderscoreEscapingWithoutSuffixes' },
      'UnderscoreEscapingWithoutSuffixes',
      false,
    ],
    [{ translationStrategy: 'NoUTF8EscapingWithSuffixes' }, 'NoUTF8EscapingWithSuffixes', true],
    [{ translationStrategy: 'NoTranslation' }, 'NoTranslation', false],
    // Both given and agreeing.
    [
      { translationStrategy: 'NoUTF8EscapingWithSuffixes', addMetricSuffixes: true },
      'NoUTF8EscapingWithSuffixes',
      true,
    ],
    [{ translationStrategy: 'NoTranslation', addMetricSuffixes: false }, 'NoTranslation', false],
  ];
  for (const [options, strategy, suffixes] of table) {
    it(`${JSON.stringify(options)} → ${strategy}`, () => {
      const r = resolveOptions({ url, ...options });
      assert.equal(r.translationStrategy, strategy);
      assert.equal(r.addMetricSuffixes, suffixes);
    });
  }

  it('refuses the two options when they disagree, naming both', () => {
    for (const options of [
      { translationStrategy: 'NoTranslation', addMetricSuffixes: true },
      { translationStrategy: 'UnderscoreEscapingWithSuffixes', addMetricSuffixes: false },
    ] as const) {
      assert.throws(
        () => new PrometheusRemoteWriteExporter({ url, ...options }),
        (err: unknown) =>
          err instanceof InvalidOptionError &&
          /"addMetricSuffixes and translationStrategy" disagree/.test(err.message) &&
          err.message.includes(options.translationStrategy),
      );
    }
  });

  it('refuses an unknown strategy, listing the accepted ones', () => {
    assert.throws(
      () =>
        new PrometheusRemoteWriteExporter({ url, translationStrategy: 'Underscores' as TranslationStrategy }),
      (err: unknown) =>
        err instanceof InvalidOptionError &&
        err.message.includes('"translationStrategy" must be one of "UnderscoreEscapingWithSuffixes", ') &&
        err.message.includes('"NoTranslation", got "Underscores"'),
    );
  });
});

describe('namespace', () => {
  // [strategy, namespace, resolved]
  const table: Array<[TranslationStrategy, string, string]> = [
    // Sanitized as otlptranslator sanitizes it, not refused.
    ['UnderscoreEscapingWithSuffixes', 'test@namespace!!??', 'test_namespace'],
    ['UnderscoreEscapingWithoutSuffixes', 'test@namespace!!??', 'test_namespace'],
    // Runs of `_` collapse with suffixes, as in names; without, underscores stay as in names.
    ['UnderscoreEscapingWithSuffixes', 'my__ns', 'my_ns'],
    ['UnderscoreEscapingWithoutSuffixes', 'my__ns', 'my__ns'],
    ['NoUTF8EscapingWithSuffixes', 'test@namespace', 'test@namespace'],
    ['NoTranslation', 'höhe', 'höhe'],
  ];
  for (const [strategy, namespace, resolved] of table) {
    it(`${strategy}: ${JSON.stringify(namespace)} → ${JSON.stringify(resolved)}`, () => {
      assert.equal(resolveOptions({ url, translationStrategy: strategy, namespace }).namespace, resolved);
    });
  }

  it('a namespace with nothing valid left is refused under the escaping strategies', () => {
    assert.throws(
      () => resolveOptions({ url, namespace: '@@@' }),
      /"namespace" has no character valid in a Prometheus name/,
    );
    assert.equal(
      resolveOptions({ url, namespace: '@@@', translationStrategy: 'NoTranslation' }).namespace,
      '@@@',
    );
    assert.throws(
      () => resolveOptions({ url, namespace: 'a\ud800', translationStrategy: 'NoTranslation' }),
      /"namespace" must be valid UTF-8/,
    );
  });

  it('a leading digit is prefixed with `_` in the name, target_info included', () => {
    const options = translateOptions({ namespace: '1abc' });
    const batch = run(options, [gauge({ name: 'x' }, [point(1)])], { 'service.name': 's', host: 'h' });
    assert.deepEqual(names(batch), ['_1abc_target_info', '_1abc_x']);
  });
});

describe('externalLabels under the strategies', () => {
  it('escaping strategies take classic names only; UTF-8 strategies any non-empty UTF-8 name', () => {
    assert.throws(
      () => resolveOptions({ url, externalLabels: { 'ort.name': 'x' } }),
      /"externalLabels\.ort\.name" must be a label name matching/,
    );
    for (const translationStrategy of ['NoUTF8EscapingWithSuffixes', 'NoTranslation'] as const) {
      const r = resolveOptions({ url, translationStrategy, externalLabels: { 'ort.name': 'Köln' } });
      assert.equal(r.externalLabels.get('ort.name'), 'Köln');
      assert.throws(
        () => resolveOptions({ url, translationStrategy, externalLabels: { __name__: 'x' } }),
        /"externalLabels\.__name__" must be a non-empty UTF-8 label name/,
      );
      assert.throws(
        () => resolveOptions({ url, translationStrategy, externalLabels: { 'a\udc00': 'x' } }),
        /must be a non-empty UTF-8 label name/,
      );
    }
  });
});

function translateOptions(options: Partial<PrometheusRemoteWriteExporterOptions> = {}): TranslateOptions {
  return resolveOptions({ url, ...options });
}

function run(
  options: TranslateOptions,
  metrics: Parameters<typeof resourceMetrics>[0],
  resource: Parameters<typeof resourceMetrics>[1] = {},
  scope?: Parameters<typeof resourceMetrics>[2],
) {
  const state = { deltas: new DeltaAccumulator(), warned: new Set<string>(), series: new SeriesState() };
  return translate(resourceMetrics(metrics, resource, scope), options, state);
}

function names(batch: { series: TimeSeries[] }): string[] {
  return [...new Set(batch.series.map((s) => labels(s)['__name__'] as string))].sort();
}

function labels(s: TimeSeries): Record<string, string> {
  return Object.fromEntries(s.labels.map((l) => [l.name, l.value]));
}

describe('series under each strategy', () => {
  const metrics = () => [
    gauge({ name: 'höhe.wasser', unit: 'm' }, [point(1, { 'ort.name': 'Köln', a__b: 'x' })]),
    sum({ name: 'http.requests', unit: '{request}' }, [point(2)]),
    histogram({ name: 'rpc.duration', unit: 's' }, [point(histogramValue([1], [1, 0], 0.5))]),
  ];
  // [strategy, metric names, labels of the gauge besides job/instance/scope]
  const table: Array<[TranslationStrategy, string[], Record<string, string>]> = [
    [
      'UnderscoreEscapingWithSuffixes',
      [
        'h_he_wasser_meters',
        'http_requests_total',
        'rpc_duration_seconds_bucket',
        'rpc_duration_seconds_count',
        'rpc_duration_seconds_sum',
      ],
      { ort_name: 'Köln', a_b: 'x' },
    ],
    [
      'UnderscoreEscapingWithoutSuffixes',
      ['h_he_wasser', 'http_requests', 'rpc_duration_bucket', 'rpc_duration_count', 'rpc_duration_sum'],
      { ort_name: 'Köln', a_b: 'x' },
    ],
    [
      'NoUTF8EscapingWithSuffixes',
      [
        'http.requests_total',
        'höhe.wasser_meters',
        'rpc.duration_seconds_bucket',
        'rpc.duration_seconds_count',
        'rpc.duration_seconds_sum',
      ],
      { 'ort.name': 'Köln', a__b: 'x' },
    ],
    [
      'NoTranslation',
      ['http.requests', 'höhe.wasser', 'rpc.duration_bucket', 'rpc.duration_count', 'rpc.duration_sum'],
      { 'ort.name': 'Köln', a__b: 'x' },
    ],
  ];
  for (const [strategy, expectedNames, gaugeLabels] of table) {
    it(strategy, () => {
      const batch = run(
        translateOptions({ translationStrategy: strategy, withoutScopeInfo: true }),
        metrics(),
      );
      assert.deepEqual(names(batch), expectedNames);
      const g = batch.series.find((s) => labels(s)['__name__']?.startsWith('h'));
      const { __name__, ...rest } = labels(g as TimeSeries);
      assert.deepEqual(rest, gaugeLabels, String(__name__));
    });
  }

  it('UNIT metadata: unknown units are sanitized only under the escaping strategies', () => {
    const m = () => [gauge({ name: 'g', unit: 'foo.bar/s' }, [point(1)])];
    const unit = (strategy: TranslationStrategy) =>
      [...run(translateOptions({ translationStrategy: strategy }), m()).metadata.values()][0]?.unit;
    assert.equal(unit('UnderscoreEscapingWithSuffixes'), 'foo_bar_per_second');
    assert.equal(unit('NoUTF8EscapingWithSuffixes'), 'foo.bar_per_second');
  });

  it('a metric named `___` is sent without suffixes (otlptranslator keeps it), not with them', () => {
    const m = () => [gauge({ name: '___' }, [point(1)])];
    assert.deepEqual(names(run(translateOptions({ addMetricSuffixes: false }), m())), ['___']);
    assert.deepEqual(names(run(translateOptions({}), m())), []);
  });

  it('scope attributes get `otel_scope_` before the key is named: `_x` → `otel_scope_x`', () => {
    const batch = run(
      translateOptions({}),
      [gauge({ name: 'g' }, [point(1)])],
      {},
      {
        name: 's',
        attributes: { _x: '1', 'a..b': '2' },
      },
    );
    const l = labels(batch.series[0] as TimeSeries);
    assert.equal(l['otel_scope_x'], '1');
    assert.equal(l['otel_scope_a_b'], '2');
    assert.equal(l['otel_scope__x'], undefined);
  });

  it('target_info is named with the namespace under every strategy', () => {
    const resource = { 'service.name': 's', 'host.name': 'h' };
    const targetInfo = (strategy: TranslationStrategy) =>
      names(run(translateOptions({ translationStrategy: strategy, namespace: 'my.app' }), [], resource));
    const m = [gauge({ name: 'g' }, [point(1)])];
    const withData = (strategy: TranslationStrategy) =>
      names(run(translateOptions({ translationStrategy: strategy, namespace: 'my.app' }), m, resource));
    assert.deepEqual(targetInfo('UnderscoreEscapingWithSuffixes'), []); // no data, no target_info
    assert.deepEqual(withData('UnderscoreEscapingWithSuffixes'), ['my_app_g', 'my_app_target_info']);
    assert.deepEqual(withData('NoTranslation'), ['my.app_g', 'my.app_target_info']);
    const batch = run(translateOptions({ translationStrategy: 'NoTranslation' }), m, resource);
    const info = batch.series.find((s) => labels(s)['__name__'] === 'target_info') as TimeSeries;
    assert.equal(labels(info)['host.name'], 'h');
    assert.equal(batch.metadata.get('target_info')?.type, MetricType.GAUGE);
  });

  it('UTF-8 label names are sorted in UTF-8 byte order, not UTF-16 order', () => {
    // U+E000 is EE 80 80 in UTF-8, U+1F600 is F0 9F 98 80: U+E000 first. In UTF-16 the
    // surrogate D83D comes first.
    const batch = run(translateOptions({ translationStrategy: 'NoTranslation', withoutScopeInfo: true }), [
      gauge({ name: 'g' }, [point(1, { 'a\u{1F600}': '1', 'a\uE000': '2', b: '3' })]),
    ]);
    const order = (batch.series[0] as TimeSeries).labels.map((l) => l.name);
    assert.deepEqual(order, ['__name__', 'a\uE000', 'a\u{1F600}', 'b']);
    const bytes = order.map((n) => Buffer.from(n));
    for (let i = 1; i < bytes.length; i++) {
      assert.ok(Buffer.compare(bytes[i - 1] as Buffer, bytes[i] as Buffer) < 0);
    }
  });
});

describe('RemoteWriteClient names with the same strategy', () => {
  let receiver: MockReceiver;
  before(async () => {
    receiver = await startMockReceiver();
  });
  after(async () => {
    await receiver.close();
  });

  it('resolveNaming is what the exporter resolves', () => {
    const options = { translationStrategy: 'NoUTF8EscapingWithSuffixes', namespace: 'a@b' } as const;
    const r = resolveOptions({ url, ...options });
    assert.deepEqual(resolveNaming(options), {
      translationStrategy: r.translationStrategy,
      addMetricSuffixes: r.addMetricSuffixes,
      namespace: r.namespace,
    });
  });

  it('NoTranslation: a counter has no `_total`, and a gauge of the same name is refused as a second type', async () => {
    const cli = new RemoteWriteClient({
      url: receiver.url,
      flushOnExit: false,
      translationStrategy: 'NoTranslation',
      namespace: 'job',
    });
    try {
      await cli.counterInc('runs', 1, { shard: 'a' });
      // Under the default strategy the counter is `job_runs_total` and `job_runs` is free.
      await assert.rejects(cli.gaugeSet('runs', 1), /"job_runs" is already a counter/);
      const series = seriesNamed(receiver.requests, 'job_runs');
      assert.equal(series.length, 1);
      assert.equal(labelsOf(series[0] as { labels: Array<{ name: string; value: string }> })['shard'], 'a');
    } finally {
      await cli.close();
    }
  });

  it('a conflicting pair of options is refused by the client as by the exporter', () => {
    assert.throws(
      () =>
        new RemoteWriteClient({
          url: receiver.url,
          flushOnExit: false,
          translationStrategy: 'NoTranslation',
          addMetricSuffixes: true,
        }),
      InvalidOptionError,
    );
  });
});
