import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import {
  AggregationTemporality,
  AggregationType,
  DataPointType,
  InstrumentType,
  MeterProvider,
  MetricReader,
  type ExponentialHistogram,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { MetricType, ResetHint, seriesKey, type NativeHistogram, type TimeSeries } from '../src/model.js';
import { DeltaAccumulator, addExponentialHistograms, downscaleBuckets } from '../src/translate/delta.js';
import {
  DEFAULT_ZERO_THRESHOLD,
  bucketsToSpans,
  explicitToCustomBuckets,
  exponentialToNative,
} from '../src/translate/native-histogram.js';
import { SeriesState } from '../src/steady-state/series-state.js';
import { translate, type TranslateOptions } from '../src/translate/translate.js';
import { decodeWriteRequest } from '../src/wire/decode.js';
import { ProtobufWriter } from '../src/wire/protobuf-writer.js';
import { encodeWriteRequest, STALE_NAN_BYTES } from '../src/wire/rw1.js';
import { T0_MS, histogram, histogramValue, point, resourceMetrics } from './helpers/otel.js';

const defaults: TranslateOptions = {
  addMetricSuffixes: true,
  namespace: '',
  externalLabels: new Map(),
  withoutTargetInfo: true,
  withoutScopeInfo: true,
  promoteResourceAttributes: [],
};

function newState() {
  return { deltas: new DeltaAccumulator(), warned: new Set<string>(), series: new SeriesState() };
}

function exp(
  scale: number,
  positive: [offset: number, counts: number[]],
  negative: [offset: number, counts: number[]] = [0, []],
  zeroCount = 0,
  sum = 10,
): ExponentialHistogram {
  const count = zeroCount + positive[1].reduce((a, b) => a + b, 0) + negative[1].reduce((a, b) => a + b, 0);
  return {
    count,
    sum,
    scale,
    zeroCount,
    positive: { offset: positive[0], bucketCounts: positive[1] },
    negative: { offset: negative[0], bucketCounts: negative[1] },
  };
}

function native(value: ExponentialHistogram, timestampMs: number, startMs?: number): NativeHistogram {
  const result = exponentialToNative(value, timestampMs, startMs);
  assert.ok('histogram' in result, 'not dropped');
  return result.histogram;
}

/** Spans + deltas → { Prometheus bucket index: count }, the form the expectations are written in. */
function expand(spans: readonly { offset: number; length: number }[], deltas: readonly number[]) {
  const out: Record<number, number> = {};
  let index = 0;
  let count = 0;
  let d = 0;
  spans.forEach((span, s) => {
    index += s === 0 ? span.offset : span.offset + 1;
    for (let i = 0; i < span.length; i++, index++) {
      count += deltas[d++] ?? NaN;
      out[index] = count;
    }
    index--;
  });
  assert.equal(d, deltas.length, 'one delta per bucket of the spans');
  return out;
}

describe('exponential → native histogram: bucket layouts (hand-computed)', () => {
  // OTel bucket i at scale s covers (2^(i/2^s), 2^((i+1)/2^s)]; the Prometheus bucket with the
  // same upper bound is i + 1. Downscaling by d maps OTel index i to i >> d (floor).
  const cases: Array<{
    name: string;
    value: ExponentialHistogram;
    schema: number;
    positiveSpans: Array<{ offset: number; length: number }>;
    positiveDeltas: number[];
    negativeSpans?: Array<{ offset: number; length: number }>;
    negativeDeltas?: number[];
  }> = [
    {
      name: 'one bucket at index 0 becomes Prometheus bucket 1',
      value: exp(0, [0, [1]]),
      schema: 0,
      positiveSpans: [{ offset: 1, length: 1 }],
      positiveDeltas: [1],
    },
    {
      name: 'consecutive buckets: one span, deltas against the previous count',
      value: exp(3, [-2, [4, 6, 1]]),
      schema: 3,
      positiveSpans: [{ offset: -1, length: 3 }],
      positiveDeltas: [4, 2, -5],
    },
    {
      name: 'a gap of 2 empty buckets is filled with zero deltas',
      value: exp(0, [0, [2, 0, 0, 3]]),
      schema: 0,
      positiveSpans: [{ offset: 1, length: 4 }],
      positiveDeltas: [2, -2, 0, 3],
    },
    {
      name: 'a gap of 3 empty buckets starts a new span (offset = gap)',
      value: exp(1, [-3, [2, 0, 0, 0, 3]]),
      schema: 1,
      positiveSpans: [
        { offset: -2, length: 1 },
        { offset: 3, length: 1 },
      ],
      positiveDeltas: [2, 1],
    },
    {
      name: 'leading and trailing empty buckets are left out',
      value: exp(2, [5, [0, 0, 7, 0]]),
      schema: 2,
      positiveSpans: [{ offset: 8, length: 1 }],
      positiveDeltas: [7],
    },
    {
      name: 'negative buckets use their own spans and deltas, same index rule',
      value: exp(0, [0, [1]], [2, [1, 4, 0, 0, 0, 0, 2]], 3),
      schema: 0,
      positiveSpans: [{ offset: 1, length: 1 }],
      positiveDeltas: [1],
      negativeSpans: [
        { offset: 3, length: 2 },
        { offset: 4, length: 1 },
      ],
      negativeDeltas: [1, 3, -2],
    },
    {
      name: 'scale 9 → schema 8: pairs of buckets merge',
      value: exp(9, [3, [1, 1, 1, 1]]),
      schema: 8,
      // OTel 3 → 1, 4 and 5 → 2, 6 → 3; then + 1.
      positiveSpans: [{ offset: 2, length: 3 }],
      positiveDeltas: [1, 1, -1],
    },
    {
      name: 'scale 20 → schema 8: 4096 buckets merge into one',
      value: exp(20, [4094, [1, 2, 3]], [-4097, [5, 6]]),
      schema: 8,
      // 4094 and 4095 → 0, 4096 → 1; negative −4097 → −2, −4096 → −1 (floor); then + 1.
      positiveSpans: [{ offset: 1, length: 2 }],
      positiveDeltas: [3, 0],
      negativeSpans: [{ offset: -1, length: 2 }],
      negativeDeltas: [5, 1],
    },
    {
      name: 'scale −4, the coarsest schema, is kept',
      value: exp(-4, [-1, [2, 3]]),
      schema: -4,
      positiveSpans: [{ offset: 0, length: 2 }],
      positiveDeltas: [2, 1],
    },
    {
      name: 'no buckets at all (only zeros): no spans',
      value: exp(0, [0, []], [0, []], 4),
      schema: 0,
      positiveSpans: [],
      positiveDeltas: [],
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const result = exponentialToNative(c.value, T0_MS, T0_MS - 1000);
      assert.ok('histogram' in result);
      const h = result.histogram;
      assert.equal(h.schema, c.schema);
      assert.deepEqual(h.positiveSpans, c.positiveSpans);
      assert.deepEqual(h.positiveDeltas, c.positiveDeltas);
      assert.deepEqual(h.negativeSpans, c.negativeSpans ?? []);
      assert.deepEqual(h.negativeDeltas, c.negativeDeltas ?? []);
      assert.equal(h.count, c.value.count);
      assert.equal(h.sum, c.value.sum);
      assert.equal(h.zeroCount, c.value.zeroCount);
      assert.equal(h.zeroThreshold, DEFAULT_ZERO_THRESHOLD);
      assert.equal(h.resetHint, ResetHint.UNKNOWN);
      assert.equal(h.timestampMs, T0_MS);
      assert.equal(h.startTimestampMs, T0_MS - 1000);
      // Integer counts, and what the buckets hold adds up to the count.
      const buckets = [
        ...Object.values(expand(h.positiveSpans, h.positiveDeltas)),
        ...Object.values(expand(h.negativeSpans, h.negativeDeltas)),
      ];
      for (const b of buckets) assert.ok(Number.isInteger(b) && b >= 0, `bucket count ${b}`);
      assert.equal(buckets.reduce((a, b) => a + b, 0) + h.zeroCount, h.count);
    });
  }

  it('scale −5 cannot be represented: dropped', () => {
    assert.deepEqual(exponentialToNative(exp(-5, [0, [1]]), T0_MS), { dropped: 'scale', scale: -5 });
  });

  it('a point without sum is dropped (OTel spec)', () => {
    const { sum: _, ...noSum } = exp(0, [0, [1]]);
    assert.deepEqual(exponentialToNative(noSum, T0_MS), { dropped: 'sum', scale: 0 });
  });

  it('a point that carries a zero threshold keeps it', () => {
    const result = exponentialToNative(
      { ...exp(0, [0, [1]]), zeroThreshold: 0.001 } as ExponentialHistogram,
      1,
    );
    assert.ok('histogram' in result);
    assert.equal(result.histogram.zeroThreshold, 0.001);
  });

  it('bucketsToSpans: custom-bucket indices start at 0 without shift', () => {
    assert.deepEqual(bucketsToSpans(0, [0, 1, 0, 0, 0, 2], 0, 0), {
      spans: [
        { offset: 1, length: 1 },
        { offset: 3, length: 1 },
      ],
      deltas: [1, 1],
    });
  });
});

/** Prometheus's bucket for a value: the j with base^(j−1) < v ≤ base^j, base = 2^(2^−schema). */
function prometheusBucket(v: number, schema: number): number {
  return Math.ceil(Math.log2(v) * 2 ** schema);
}

class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

async function recordWithSdk(values: number[]) {
  const reader = new TestReader({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  const provider = new MeterProvider({
    readers: [reader],
    views: [{ instrumentName: 'sizes', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  });
  const h = provider.getMeter('m').createHistogram('sizes', { unit: 'By' });
  for (const v of values) h.record(v);
  const { resourceMetrics: rm } = await reader.collect();
  await provider.shutdown();
  return rm;
}

describe('exponential → native histogram: data recorded by the SDK', () => {
  for (const [name, values] of [
    ['wide range (SDK scale ≤ 8)', Array.from({ length: 200 }, (_, i) => 0.0013 * 1.071 ** i)],
    ['narrow range (SDK scale > 8, downscaled)', Array.from({ length: 50 }, (_, i) => 1.0001 + i * 0.00037)],
  ] as const) {
    it(`${name}: every value is counted in the Prometheus bucket that contains it`, async () => {
      const rm = await recordWithSdk([...values]);
      const metric = rm.scopeMetrics[0]!.metrics[0]!;
      assert.equal(metric.dataPointType, DataPointType.EXPONENTIAL_HISTOGRAM);
      const sdkScale = (metric.dataPoints[0]!.value as ExponentialHistogram).scale;
      const batch = translate(rm, defaults, newState());
      const series = batch.series.find((s) => s.labels.some((l) => l.value === 'sizes_bytes'));
      assert.ok(series?.histograms);
      const h = series.histograms[0]!;
      assert.equal(h.schema, Math.min(sdkScale, 8));
      if (name.startsWith('narrow')) assert.ok(sdkScale > 8, `SDK scale ${sdkScale}`);
      const expected: Record<number, number> = {};
      for (const v of values) {
        const j = prometheusBucket(v, h.schema);
        expected[j] = (expected[j] ?? 0) + 1;
      }
      const got = Object.fromEntries(
        Object.entries(expand(h.positiveSpans, h.positiveDeltas)).filter(([, c]) => c !== 0),
      );
      assert.deepEqual(got, expected);
      assert.equal(h.count, values.length);
      assert.ok(Math.abs(h.sum - values.reduce((a, b) => a + b, 0)) < 1e-9);
    });
  }
});

describe('translate: native histograms', () => {
  function expMetric(
    points: Array<[ExponentialHistogram, number, number]>,
    temporality = AggregationTemporality.CUMULATIVE,
  ) {
    return {
      descriptor: {
        name: 'lat',
        unit: 's',
        description: 'Latency',
        type: InstrumentType.HISTOGRAM,
        valueType: 1,
      },
      dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
      aggregationTemporality: temporality,
      dataPoints: points.map(([v, end, start]) => point(v, {}, end, start)),
    } as MetricData;
  }

  it('one series per point named as the family, type HISTOGRAM, start time from the point', () => {
    const b = translate(
      resourceMetrics([expMetric([[exp(0, [0, [1]]), T0_MS + 1, T0_MS - 5000]])]),
      defaults,
      newState(),
    );
    assert.equal(b.series.length, 1);
    const s = b.series[0]!;
    assert.equal(s.labels.find((l) => l.name === '__name__')?.value, 'lat_seconds');
    assert.equal(s.family, 'lat_seconds');
    assert.deepEqual(s.samples, []);
    assert.equal(s.histograms?.[0]?.startTimestampMs, T0_MS - 5000);
    assert.deepEqual(b.metadata.get('lat_seconds'), {
      type: MetricType.HISTOGRAM,
      familyName: 'lat_seconds',
      help: 'Latency',
      unit: 'seconds',
    });
  });

  it('scale below −4 is dropped with one warning naming the metric', async () => {
    const { diag, DiagLogLevel } = await import('@opentelemetry/api');
    const warnings: string[] = [];
    diag.setLogger(
      { error: () => {}, warn: (m) => warnings.push(m), info: () => {}, debug: () => {}, verbose: () => {} },
      { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
    );
    const state = newState();
    try {
      const rm = resourceMetrics([expMetric([[exp(-5, [0, [1]]), T0_MS, T0_MS - 1]])]);
      assert.equal(translate(rm, defaults, state).series.length, 0);
      translate(rm, defaults, state);
    } finally {
      diag.disable();
    }
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /"lat".*scale -5/);
  });

  it('delta exponential histograms accumulate at the coarser scale, keeping the first start time', () => {
    const state = newState();
    const delta = AggregationTemporality.DELTA;
    translate(
      resourceMetrics([expMetric([[exp(1, [0, [1, 1]]), T0_MS, T0_MS - 10_000]], delta)]),
      defaults,
      state,
    );
    const b = translate(
      resourceMetrics([expMetric([[exp(0, [0, [0, 2]], [0, []], 1), T0_MS + 10_000, T0_MS]], delta)]),
      defaults,
      state,
    );
    const h = b.series[0]!.histograms![0]!;
    // Scale 1 buckets 0, 1 → scale 0 bucket 0 (2), plus scale 0 bucket 1 (2); then + 1.
    assert.equal(h.schema, 0);
    assert.deepEqual(expand(h.positiveSpans, h.positiveDeltas), { 1: 2, 2: 2 });
    assert.equal(h.count, 5);
    assert.equal(h.zeroCount, 1);
    assert.equal(h.sum, 20);
    assert.equal(h.startTimestampMs, T0_MS - 10_000);
    assert.equal(h.timestampMs, T0_MS + 10_000);
  });

  it('downscaleBuckets / addExponentialHistograms keep totals and bound the bucket count', () => {
    assert.deepEqual(downscaleBuckets({ offset: -3, bucketCounts: [1, 2, 3, 4] }, 1), {
      offset: -2,
      bucketCounts: [1, 5, 4],
    });
    const wide = addExponentialHistograms(exp(0, [0, [1]]), exp(0, [400, [1]]));
    assert.ok(wide.positive.bucketCounts.length <= 160);
    assert.equal(wide.scale, -2);
    assert.equal(
      wide.positive.bucketCounts.reduce((a, b) => a + b, 0),
      2,
    );
  });

  it('explicitHistogramsAsNative: custom buckets (schema −53), bounds without +Inf, start time', () => {
    const b = translate(
      resourceMetrics([
        histogram({ name: 'size', unit: 'By' }, [point(histogramValue([1, 5, 10], [3, 0, 0, 2], 42))]),
      ]),
      { ...defaults, explicitHistogramsAsNative: true },
      newState(),
    );
    assert.equal(b.series.length, 1);
    const h = b.series[0]!.histograms![0]!;
    assert.equal(b.series[0]!.labels.find((l) => l.name === '__name__')?.value, 'size_bytes');
    assert.equal(h.schema, -53);
    assert.deepEqual(h.customValues, [1, 5, 10]);
    // Buckets (−Inf,1]: 3 and (10,+Inf]: 2; the gap of two is filled.
    assert.deepEqual(h.positiveSpans, [{ offset: 0, length: 4 }]);
    assert.deepEqual(h.positiveDeltas, [3, -3, 0, 2]);
    assert.equal(h.count, 5);
    assert.equal(h.sum, 42);
    assert.equal(h.startTimestampMs, T0_MS - 60_000);
  });

  it('explicitToCustomBuckets: a point without sum stays classic; a +Inf bound is not a custom value', () => {
    assert.equal(explicitToCustomBuckets(histogramValue([1], [1, 1]), 1), undefined);
    const h = explicitToCustomBuckets(histogramValue([1, Infinity], [1, 1, 0], 3), 1);
    assert.deepEqual(h?.customValues, [1]);
    assert.deepEqual(h?.positiveDeltas, [1, 0]);
  });

  it('start timestamps: counters and classic histogram series have them, gauges not', () => {
    const b = translate(
      resourceMetrics([
        histogram({ name: 'h' }, [point(histogramValue([1], [1, 1], 2), {}, T0_MS, T0_MS - 7)]),
      ]),
      defaults,
      newState(),
    );
    assert.equal(b.series.length, 4);
    for (const s of b.series) assert.equal(s.samples[0]?.startTimestampMs, T0_MS - 7);
  });
});

describe('per-series state for native histograms', () => {
  const nh = (ts: number): NativeHistogram => native(exp(0, [0, [1]]), ts);
  const s = (key: string, ts: number): TimeSeries => ({
    key,
    labels: [{ name: '__name__', value: key }],
    family: key,
    samples: [],
    histograms: [nh(ts)],
  });

  it('a histogram at or before the last one of its series is moved 1 ms after it', () => {
    const state = new SeriesState();
    state.admit([s('a', 1000)], 0);
    const again = [s('a', 1000)];
    state.admit(again, 0);
    assert.equal(again[0]!.histograms![0]!.timestampMs, 1001);
  });

  it('a vanished histogram series gets a stale histogram (stale NaN sum, count 0), with its metadata', () => {
    const state = new SeriesState();
    const meta = new Map([['h', { type: MetricType.HISTOGRAM, familyName: 'h', help: 'H', unit: '' }]]);
    state.admit([s('h', 1000)], 0, meta);
    const metadata = new Map();
    const [stale] = state.admit([], 5000, metadata);
    assert.deepEqual(stale?.samples, []);
    const h = stale?.histograms?.[0];
    assert.equal(h?.stale, true);
    assert.equal(h?.count, 0);
    assert.equal(h?.timestampMs, 5000);
    assert.equal(metadata.get('h')?.type, MetricType.HISTOGRAM, 'metadata of the vanished family added');
    // On the wire: the sum is the stale marker's exact bits.
    const body = encodeWriteRequest([stale!], []);
    assert.ok(body.indexOf(Buffer.from([0x19, ...STALE_NAN_BYTES])) > 0);
  });

  it('staleAll gives stale histograms for histogram series and stale samples for the others', () => {
    const state = new SeriesState();
    const sample: TimeSeries = {
      key: 'g',
      labels: [{ name: '__name__', value: 'g' }],
      family: 'g',
      samples: [{ value: 1, timestampMs: 1 }],
    };
    state.admit([s('h', 1000), sample], 0);
    const stale = state.staleAll(2000);
    // In no particular order (the state's index is split by hash).
    assert.deepEqual(stale.map((x) => [x.key, x.samples.length, x.histograms?.length ?? 0]).sort(), [
      ['g', 1, 0],
      ['h', 0, 1],
    ]);
  });
});

describe('RW1 native histograms (TimeSeries field 4)', () => {
  const root = protobuf.loadSync(fileURLToPath(new URL('../proto/remote.proto', import.meta.url)));
  const WriteRequest = root.lookupType('prometheus.WriteRequest');
  const labels = [
    { name: '__name__', value: 'lat_seconds' },
    { name: 'job', value: 'api' },
  ];
  const h1 = native(exp(20, [4094, [1, 2, 3]], [-4097, [5, 6]], 2), T0_MS, T0_MS - 1);
  const h2 = { ...h1, sum: -0.5, schema: -4, timestampMs: T0_MS + 1, resetHint: ResetHint.GAUGE };
  const nhcb = explicitToCustomBuckets(
    histogramValue([0.1, 1, 10], [1, 0, 0, 1e12], 3.5),
    T0_MS,
  ) as NativeHistogram;
  const stale: NativeHistogram = { ...h1, stale: true, count: 0, zeroCount: 0, timestampMs: T0_MS + 2 };
  const series: TimeSeries[] = [
    { key: seriesKey(labels), labels, family: 'lat_seconds', samples: [], histograms: [h1, h2, stale] },
    { key: 'n', labels: [{ name: '__name__', value: 'n' }], family: 'n', samples: [], histograms: [nhcb] },
  ];

  function reference(): Uint8Array {
    const toObject = (h: NativeHistogram) => ({
      countInt: h.count,
      sum: h.stale ? NaN : h.sum,
      schema: h.schema,
      zeroThreshold: h.zeroThreshold,
      zeroCountInt: h.zeroCount,
      negativeSpans: h.negativeSpans,
      negativeDeltas: h.negativeDeltas,
      positiveSpans: h.positiveSpans,
      positiveDeltas: h.positiveDeltas,
      resetHint: h.resetHint,
      timestamp: h.timestampMs,
      customValues: h.customValues ?? [],
    });
    const bytes = WriteRequest.encode(
      WriteRequest.fromObject({
        timeseries: series.map((s) => ({ labels: s.labels, histograms: s.histograms!.map(toObject) })),
      }),
    ).finish();
    return bytes;
  }

  it('byte for byte what protobufjs encodes from proto/ (stale NaN bits aside)', () => {
    const ours = Buffer.from(encodeWriteRequest(series, [], new ProtobufWriter(16)));
    const theirs = Buffer.from(reference());
    assert.equal(ours.length, theirs.length);
    // The only difference allowed: the 8 bytes of the stale sum.
    const at = ours.indexOf(Buffer.from([0x19, ...STALE_NAN_BYTES]));
    assert.ok(at > 0);
    theirs.set(STALE_NAN_BYTES, at + 1);
    assert.equal(Buffer.compare(ours, theirs), 0);
  });

  it('decodes back with the same layout', () => {
    const decoded = decodeWriteRequest(encodeWriteRequest(series, []), { compressed: false });
    const d = decoded.timeseries[0]!.histograms![0]!;
    assert.equal(d.countInt, h1.count);
    assert.equal(d.zeroCountInt, 2);
    assert.equal(d.schema, 8);
    assert.deepEqual(d.positiveSpans, h1.positiveSpans);
    assert.deepEqual(d.negativeDeltas, h1.negativeDeltas);
    assert.equal(d.zeroThreshold, DEFAULT_ZERO_THRESHOLD);
    assert.equal(d.timestamp, T0_MS);
    assert.equal(decoded.timeseries[0]!.histograms![1]!.schema, -4);
    assert.equal(decoded.timeseries[0]!.histograms![2]!.countInt, 0);
    assert.ok(Number.isNaN(decoded.timeseries[0]!.histograms![2]!.sum));
    const c = decoded.timeseries[1]!.histograms![0]!;
    assert.equal(c.schema, -53);
    assert.deepEqual(c.customValues, [0.1, 1, 10]);
    assert.equal(c.countInt, 1e12 + 1);
    assert.deepEqual(decoded.timeseries[0]!.samples, []);
  });
});
