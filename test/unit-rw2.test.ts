import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import {
  MetricType,
  ResetHint,
  seriesKey,
  type Label,
  type MetricFamilyMetadata,
  type NativeHistogram,
  type TimeSeries,
} from '../src/model.js';
import { SeriesState } from '../src/steady-state/series-state.js';
import { DeltaAccumulator } from '../src/translate/delta.js';
import { explicitToCustomBuckets, exponentialToNative } from '../src/translate/native-histogram.js';
import { translate, type TranslateOptions } from '../src/translate/translate.js';
import { decodeRequestV2, requestV2ToModel, type DecodedRequestV2 } from '../src/wire/decode.js';
import { ProtobufWriter } from '../src/wire/protobuf-writer.js';
import { STALE_NAN_BYTES } from '../src/wire/rw1.js';
import { encodeRequestV2 } from '../src/wire/rw2.js';
import { RW2_HEADERS } from '../src/deliver/sender.js';
import { snappyCompress } from '../src/wire/snappy.js';
import { T0_MS, gauge, histogram, histogramValue, point, resourceMetrics, sum } from './helpers/otel.js';

const root = protobuf.loadSync(fileURLToPath(new URL('../proto/write-v2.proto', import.meta.url)));
const Request = root.lookupType('io.prometheus.write.v2.Request');

function series(
  family: string,
  labels: Label[],
  samples: TimeSeries['samples'],
  histograms?: NativeHistogram[],
): TimeSeries {
  const sorted = [...labels].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    key: seriesKey(sorted),
    labels: sorted,
    family,
    samples,
    ...(histograms ? { histograms } : {}),
  };
}

function meta(type: MetricType, familyName: string, help = '', unit = ''): [string, MetricFamilyMetadata] {
  return [familyName, { type, familyName, help, unit }];
}

const exp = exponentialToNative(
  {
    count: 12,
    sum: 3.25,
    scale: 3,
    zeroCount: 1,
    positive: { offset: -2, bucketCounts: [4, 0, 0, 0, 6] },
    negative: { offset: 5, bucketCounts: [1] },
  },
  T0_MS,
  T0_MS - 30_000,
);
assert.ok('histogram' in exp);
const nativeHistogram = exp.histogram;
const customBuckets = explicitToCustomBuckets(
  histogramValue([0.1, 1, 10], [1, 0, 0, 2 ** 40], 7),
  T0_MS,
  T0_MS - 1,
) as NativeHistogram;
const long = 'y'.repeat(300);

const cases: Array<{
  name: string;
  series: TimeSeries[];
  metadata: Map<string, MetricFamilyMetadata>;
}> = [
  { name: 'empty request', series: [], metadata: new Map() },
  {
    name: 'counter with start time, gauge, shared label values',
    series: [
      series(
        'http_requests_total',
        [
          { name: '__name__', value: 'http_requests_total' },
          { name: 'job', value: 'api' },
          { name: 'method', value: 'GET' },
        ],
        [{ value: 1027, timestampMs: T0_MS, startTimestampMs: T0_MS - 60_000 }],
      ),
      series(
        'http_requests_total',
        [
          { name: '__name__', value: 'http_requests_total' },
          { name: 'job', value: 'api' },
          { name: 'method', value: 'POST' },
        ],
        [{ value: 3, timestampMs: T0_MS, startTimestampMs: T0_MS - 60_000 }],
      ),
      series(
        'temp_celsius',
        [
          { name: '__name__', value: 'temp_celsius' },
          { name: 'job', value: 'api' },
        ],
        [{ value: -12.5, timestampMs: T0_MS + 1 }],
      ),
    ],
    metadata: new Map([
      meta(MetricType.COUNTER, 'http_requests_total', 'Requests.'),
      meta(MetricType.GAUGE, 'temp_celsius', '', 'celsius'),
    ]),
  },
  {
    name: 'edge values, a family without metadata, a start after the sample',
    series: [
      series(
        'edge',
        [
          { name: '__name__', value: 'edge' },
          { name: 'unicode', value: 'Grüße 日本 🎉 "quoted" \\ \n' },
          { name: 'long', value: long },
        ],
        [
          { value: 0, timestampMs: 1 },
          { value: Infinity, timestampMs: 2, startTimestampMs: 3 },
          { value: -Infinity, timestampMs: 3, startTimestampMs: 3 },
          { value: 5e-324, timestampMs: 4 },
          { value: NaN, timestampMs: 5, stale: true },
          { value: Number.MAX_VALUE, timestampMs: 2 ** 52 },
          { value: 1, timestampMs: -1000 },
        ],
      ),
    ],
    metadata: new Map([meta(MetricType.HISTOGRAM, 'h', 'multi\nline "help" ✓', 'seconds')]),
  },
  {
    name: 'native histograms: exponential with negative buckets, custom buckets, stale',
    series: [
      series(
        'lat_seconds',
        [
          { name: '__name__', value: 'lat_seconds' },
          { name: 'job', value: 'api' },
        ],
        [],
        [
          nativeHistogram,
          { ...nativeHistogram, timestampMs: T0_MS + 1, resetHint: ResetHint.NO, sum: -0 },
          {
            ...nativeHistogram,
            stale: true,
            count: 0,
            zeroCount: 0,
            timestampMs: T0_MS + 2,
            startTimestampMs: undefined,
          },
        ],
      ),
      series(
        'size_bytes',
        [
          { name: '__name__', value: 'size_bytes' },
          { name: 'job', value: 'api' },
        ],
        [],
        [customBuckets],
      ),
    ],
    metadata: new Map([meta(MetricType.HISTOGRAM, 'lat_seconds', 'Latency.', 'seconds')]),
  },
  {
    name: 'many series (refs and lengths over one byte)',
    series: Array.from({ length: 500 }, (_, i) =>
      series(
        `m${i % 7}`,
        [
          { name: '__name__', value: `m${i % 7}` },
          { name: 'i', value: String(i) },
          { name: 'pad', value: long.slice(0, i % 200) },
        ],
        [{ value: i / 7, timestampMs: T0_MS + i, startTimestampMs: T0_MS - i }],
      ),
    ),
    metadata: new Map([meta(MetricType.COUNTER, 'm3', 'three'), meta(MetricType.GAUGE, 'm5', '', 'bytes')]),
  },
];

/**
 * The same request through protobufjs. Symbols in order of first use (a series' labels, then its
 * family's help and unit the first time the family is seen), the encoder's documented order.
 */
function reference(c: (typeof cases)[number]): Uint8Array {
  const symbols: string[] = [''];
  const ref = (s: string) => {
    let i = symbols.indexOf(s);
    if (i < 0) i = symbols.push(s) - 1;
    return i;
  };
  const families = new Map<string, { type: number; helpRef: number; unitRef: number }>();
  const timeseries = c.series.map((s) => {
    const labelsRefs = s.labels.flatMap((l) => [ref(l.name), ref(l.value)]);
    if (!families.has(s.family)) {
      const m = c.metadata.get(s.family);
      families.set(
        s.family,
        m
          ? { type: m.type, helpRef: ref(m.help), unitRef: ref(m.unit) }
          : { type: 0, helpRef: 0, unitRef: 0 },
      );
    }
    const start = (st: number | undefined, ts: number) => (st !== undefined && st <= ts ? st : 0);
    return {
      labelsRefs,
      samples: s.samples.map((x) => ({
        value: x.value,
        timestamp: x.timestampMs,
        startTimestamp: start(x.startTimestampMs, x.timestampMs),
      })),
      histograms: (s.histograms ?? []).map((h) => ({
        countInt: h.count,
        sum: h.sum,
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
        startTimestamp: start(h.startTimestampMs, h.timestampMs),
      })),
      metadata: families.get(s.family),
    };
  });
  return Request.encode(Request.fromObject({ symbols, timeseries })).finish();
}

/** protobufjs writes JavaScript's NaN; ours writes the stale marker. Put our bits in its output. */
function withStaleBits(ours: Buffer, theirs: Buffer): Buffer {
  const out = Buffer.from(theirs);
  for (
    let at = ours.indexOf(Buffer.from(STALE_NAN_BYTES));
    at >= 0;
    at = ours.indexOf(Buffer.from(STALE_NAN_BYTES), at + 1)
  ) {
    out.set(STALE_NAN_BYTES, at);
  }
  return out;
}

/** The RW 2.0 rules a receiver and the compliance suite check (spec digest §2.4, §4.2). */
function assertValidRequest(d: DecodedRequestV2): void {
  assert.equal(d.symbols[0], '', 'symbols[0] is ""');
  assert.equal(new Set(d.symbols).size, d.symbols.length, 'every string once');
  for (const ts of d.timeseries) {
    assert.equal(ts.labelsRefs.length % 2, 0, 'even number of label refs');
    for (const r of ts.labelsRefs) assert.ok(r < d.symbols.length, `ref ${r} in range`);
    const names = ts.labelsRefs.filter((_, i) => i % 2 === 0).map((r) => d.symbols[r]!);
    assert.deepEqual(names, [...names].sort(), 'label names sorted');
    assert.ok(names.includes('__name__'));
    assert.ok(ts.metadata, 'metadata on every series');
    assert.ok(ts.metadata.helpRef < d.symbols.length && ts.metadata.unitRef < d.symbols.length);
    assert.ok(ts.samples.length === 0 || ts.histograms.length === 0, 'samples or histograms, never both');
    for (const x of [...ts.samples, ...ts.histograms]) {
      assert.ok(x.startTimestamp === 0 || x.startTimestamp <= x.timestamp, 'start ≤ timestamp');
    }
  }
}

describe('RW2 encoder', () => {
  const writer = new ProtobufWriter(16); // tiny start: exercises growth
  for (const c of cases) {
    it(`${c.name}: byte for byte what protobufjs encodes from proto/write-v2.proto`, () => {
      const ours = Buffer.from(encodeRequestV2(c.series, c.metadata, writer));
      const theirs = Buffer.from(reference(c));
      assert.equal(ours.length, theirs.length);
      assert.equal(Buffer.compare(ours, withStaleBits(ours, theirs)), 0);
    });

    it(`${c.name}: valid 2.0 request that decodes back to the same series and metadata`, () => {
      const decoded = decodeRequestV2(encodeRequestV2(c.series, c.metadata), { compressed: false });
      assertValidRequest(decoded);
      const back = requestV2ToModel(decoded);
      assert.equal(back.series.length, c.series.length);
      c.series.forEach((s, i) => {
        const b = back.series[i]!;
        assert.deepEqual(b.labels, s.labels);
        assert.equal(b.key, s.key);
        assert.deepEqual(
          b.samples.map((x) => [x.value, x.timestampMs, x.startTimestampMs, x.stale]),
          s.samples.map((x) => [
            x.stale ? NaN : x.value,
            x.timestampMs,
            x.startTimestampMs !== undefined && x.startTimestampMs <= x.timestampMs
              ? x.startTimestampMs
              : undefined,
            x.stale,
          ]),
        );
        assert.deepEqual(
          (b.histograms ?? []).map((h) => ({ ...h, sum: h.stale ? 'stale' : h.sum })),
          (s.histograms ?? []).map((h) => {
            const { startTimestampMs, ...rest } = h;
            return {
              ...rest,
              sum: h.stale ? 'stale' : h.sum,
              ...(startTimestampMs !== undefined ? { startTimestampMs } : {}),
            };
          }),
        );
        const m = c.metadata.get(s.family);
        if (m) assert.deepEqual(back.metadata.get(s.family), m);
      });
    });
  }

  it('metadata: type numbers, help and unit by reference, 0 for empty, UNSPECIFIED when unknown', () => {
    const c = cases[1]!;
    const d = decodeRequestV2(encodeRequestV2(c.series, c.metadata), { compressed: false });
    const [counter, , gauge] = d.timeseries;
    assert.equal(counter?.metadata?.type, 'METRIC_TYPE_COUNTER');
    assert.equal(d.symbols[counter!.metadata!.helpRef], 'Requests.');
    assert.equal(counter?.metadata?.unitRef, 0);
    assert.equal(gauge?.metadata?.type, 'METRIC_TYPE_GAUGE');
    assert.equal(gauge?.metadata?.helpRef, 0);
    assert.equal(d.symbols[gauge!.metadata!.unitRef], 'celsius');
    const unknown = decodeRequestV2(encodeRequestV2(cases[2]!.series, new Map()), { compressed: false });
    assert.deepEqual(unknown.timeseries[0]?.metadata, {
      type: 'METRIC_TYPE_UNSPECIFIED',
      helpRef: 0,
      unitRef: 0,
    });
  });

  it('the stale marker sample is the exact bits 0x7ff0000000000002', () => {
    const body = encodeRequestV2(
      [series('gone', [{ name: '__name__', value: 'gone' }], [{ value: NaN, timestampMs: 5, stale: true }])],
      new Map(),
    );
    const at = body.indexOf(Buffer.from([0x09, ...STALE_NAN_BYTES]));
    assert.ok(at > 0);
    assert.equal(body.readBigUInt64LE(at + 1), 0x7ff0000000000002n);
    assert.equal(
      requestV2ToModel(decodeRequestV2(body, { compressed: false })).series[0]?.samples[0]?.stale,
      true,
    );
  });

  it('a series that carries both samples and histograms goes out as two TimeSeries', () => {
    const s = series(
      'x',
      [{ name: '__name__', value: 'x' }],
      [{ value: 1, timestampMs: 1 }],
      [nativeHistogram],
    );
    const d = decodeRequestV2(encodeRequestV2([s], new Map()), { compressed: false });
    assertValidRequest(d);
    assert.deepEqual(
      d.timeseries.map((t) => [t.samples.length, t.histograms.length]),
      [
        [1, 0],
        [0, 1],
      ],
    );
  });

  it('translated data: counters and histograms carry start_timestamp, gauges do not; types per family', () => {
    const options: TranslateOptions = {
      addMetricSuffixes: true,
      namespace: '',
      externalLabels: new Map(),
      withoutTargetInfo: false,
      withoutScopeInfo: false,
      promoteResourceAttributes: [],
    };
    const start = T0_MS - 60_000;
    const batch = translate(
      resourceMetrics([
        sum({ name: 'orders', description: 'Orders' }, [point(5, { shop: 'a' })]),
        sum({ name: 'queue' }, [point(2)], { monotonic: false }),
        gauge({ name: 'temp', unit: 'Cel' }, [point(21)]),
        histogram({ name: 'lat', unit: 's' }, [point(histogramValue([1], [1, 1], 1.5))]),
      ]),
      options,
      { deltas: new DeltaAccumulator(), warned: new Set(), series: new SeriesState() },
    );
    const d = decodeRequestV2(encodeRequestV2(batch.series, batch.metadata), { compressed: false });
    assertValidRequest(d);
    const byName = new Map(
      d.timeseries.map((t) => {
        const i = t.labelsRefs.findIndex((r, k) => k % 2 === 0 && d.symbols[r] === '__name__');
        return [d.symbols[t.labelsRefs[i + 1]!]!, t] as const;
      }),
    );
    const startOf = (n: string) => byName.get(n)?.samples[0]?.startTimestamp;
    assert.equal(startOf('orders_total'), start);
    for (const n of ['lat_seconds_bucket', 'lat_seconds_sum', 'lat_seconds_count'])
      assert.equal(startOf(n), start, n);
    for (const n of ['queue', 'temp_celsius']) assert.equal(startOf(n), 0, n);
    assert.equal(byName.get('orders_total')?.metadata?.type, 'METRIC_TYPE_COUNTER');
    assert.equal(byName.get('lat_seconds_sum')?.metadata?.type, 'METRIC_TYPE_HISTOGRAM');
    assert.equal(byName.get('queue')?.metadata?.type, 'METRIC_TYPE_GAUGE');
    assert.equal(d.symbols[byName.get('temp_celsius')!.metadata!.unitRef], 'celsius');
    assert.equal(d.symbols[byName.get('orders_total')!.metadata!.helpRef], 'Orders');
  });

  it('requestV2ToModel rejects refs outside the symbol table and odd-length refs', () => {
    const ts = { samples: [], histograms: [], exemplars: [], metadata: null };
    assert.throws(
      () => requestV2ToModel({ symbols: [''], timeseries: [{ ...ts, labelsRefs: [0, 1] }] }),
      /outside/,
    );
    assert.throws(
      () => requestV2ToModel({ symbols: ['', 'a'], timeseries: [{ ...ts, labelsRefs: [1] }] }),
      /odd/,
    );
  });

  it('decodeRequestV2 reads a snappy body by default; content type has no space', () => {
    const c = cases[1]!;
    const body = snappyCompress(encodeRequestV2(c.series, c.metadata));
    assert.equal(decodeRequestV2(body).timeseries.length, 3);
    assert.equal(RW2_HEADERS['Content-Type'], 'application/x-protobuf;proto=io.prometheus.write.v2.Request');
  });
});
