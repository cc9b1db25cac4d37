/**
 * The shapes of test/fuzz-export.test.ts (fast-check arbitraries): well-formed metrics, and
 * malformed ones at every level, made into one `ResourceMetrics` per case. Shared with
 * test/e2e-bad-input.test.ts, which sends some of them to a real Prometheus.
 */
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import type { PrometheusRemoteWriteExporterOptions } from '../../src/index.js';
import type { ReceivedRequest } from './mock-receiver.js';
import { T0_MS, hr } from './otel.js';
import { oddString, oddValue } from './fuzz.js';

/** Times of odd points are around this (ms); a real receiver wants them near its own clock. */
let timeBase = T0_MS;
export function setTimeBase(ms: number): void {
  timeBase = ms;
}

export type Plain = Record<string, unknown>;

// ---- well-formed metrics ------------------------------------------------------------------

export type GoodKind = 'gauge' | 'counter' | 'histogram' | 'exponential';

export interface GoodMetric {
  kind: GoodKind;
  values: number[];
  delta: boolean;
}

export const goodMetric: fc.Arbitrary<GoodMetric> = fc.record({
  kind: fc.constantFrom<GoodKind>('gauge', 'counter', 'histogram', 'exponential'),
  values: fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 4 }),
  delta: fc.boolean(),
});

/**
 * The attributes object of point `j`: one object per position, handed over again at every export
 * as the SDK does, so that a sequence of exports reaches translate's steady state (frames).
 */
const attributeObjects: Array<Record<string, string>> = [];
function attributesOf(j: number): Record<string, string> {
  return (attributeObjects[j] ??= { p: String(j), 'service.kind': 'fuzz' });
}

/** A point of well-formed metric `name`, point `j`, at `endMs`: attribute `p` = j. */
function goodPoint(kind: GoodKind, value: number, j: number, endMs: number): Plain {
  const attributes = attributesOf(j);
  const times = { startTime: hr(endMs - 60_000), endTime: hr(endMs) };
  switch (kind) {
    case 'gauge':
    case 'counter':
      return { attributes, ...times, value };
    case 'histogram':
      return {
        attributes,
        ...times,
        value: { buckets: { boundaries: [1, 10, 100], counts: [value, 1, 0, 2] }, count: value + 3, sum: 7 },
      };
    case 'exponential':
      return {
        attributes,
        ...times,
        value: {
          scale: 2,
          count: value + 3,
          sum: 12.5,
          zeroCount: 1,
          positive: { offset: -3, bucketCounts: [value, 0, 1] },
          negative: { offset: 0, bucketCounts: [1] },
        },
      };
  }
}

function goodMetricData(name: string, m: GoodMetric, endMs: number): Plain {
  const type = {
    gauge: DataPointType.GAUGE,
    counter: DataPointType.SUM,
    histogram: DataPointType.HISTOGRAM,
    exponential: DataPointType.EXPONENTIAL_HISTOGRAM,
  }[m.kind];
  return {
    descriptor: { name, unit: '', description: 'well-formed', valueType: 1 },
    dataPointType: type,
    aggregationTemporality:
      m.delta && m.kind !== 'gauge' ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE,
    isMonotonic: m.kind === 'counter',
    dataPoints: m.values.map((v, j) => goodPoint(m.kind, v, j, endMs)),
  };
}

// ---- malformed metrics --------------------------------------------------------------------

const oddTime = fc.oneof(
  fc.constantFrom<unknown>([NaN, 0], [1e20, 0], 'now', [1, 1e12], [-5, 0], [1.5, 0], null, undefined),
  fc.integer({ min: -120_000, max: 1000 }).map((d) => hr(timeBase + d)), // out of time order
);

const oddAttributes = fc.oneof(
  fc.dictionary(oddString, oddValue, { maxKeys: 5 }),
  fc.constantFrom<unknown>(null, undefined, 'k=v', [1, 2]),
);

const oddHistogram = fc.record({
  buckets: fc.record({
    boundaries: fc.array(fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, 1, 1)), {
      maxLength: 6,
    }),
    counts: fc.array(fc.oneof(fc.integer({ min: -3, max: 10 }), fc.double()), { maxLength: 7 }),
  }),
  count: fc.oneof(fc.integer({ min: -2, max: 40 }), oddValue),
  sum: fc.oneof(fc.double(), fc.constant(undefined)),
});

const oddBuckets = fc.record({
  offset: fc.oneof(
    fc.integer({ min: -50, max: 50 }),
    fc.constantFrom(2 ** 40, -(2 ** 40), NaN, 1.5, 2 ** 31, 1e9, -1e9),
  ),
  bucketCounts: fc.array(fc.oneof(fc.integer({ min: -2, max: 10 }), fc.double()), { maxLength: 8 }),
});

const oddExponential = fc.record({
  scale: fc.oneof(fc.integer({ min: -30, max: 40 }), fc.constantFrom(1e9, -1e9, NaN, 0.5)),
  count: fc.oneof(fc.integer({ min: -2, max: 80 }), oddValue),
  sum: fc.oneof(fc.double(), fc.constant(undefined)),
  zeroCount: fc.oneof(fc.integer({ min: -2, max: 5 }), oddValue),
  zeroThreshold: fc.oneof(fc.constant(undefined), fc.double()),
  positive: fc.oneof(oddBuckets, oddValue),
  negative: fc.oneof(oddBuckets, oddValue),
});

const pointTypes = [
  DataPointType.GAUGE,
  DataPointType.SUM,
  DataPointType.HISTOGRAM,
  DataPointType.EXPONENTIAL_HISTOGRAM,
] as const;

const oddPoint = fc.record({
  attributes: oddAttributes,
  startTime: oddTime,
  endTime: oddTime,
  value: fc.oneof(oddValue, oddHistogram, oddExponential),
});

const oddMetric = fc.record({
  descriptor: fc.oneof(
    fc.record({
      name: oddString,
      unit: fc.oneof(oddString, fc.constantFrom('s', 'By', '1', '{x}')),
      description: oddString,
    }),
    oddValue,
  ),
  dataPointType: fc.oneof(fc.constantFrom(...pointTypes), oddValue),
  aggregationTemporality: fc.constantFrom<unknown>(
    AggregationTemporality.CUMULATIVE,
    AggregationTemporality.DELTA,
    7,
    undefined,
  ),
  isMonotonic: fc.oneof(fc.boolean(), oddValue),
  dataPoints: fc.oneof(fc.array(oddPoint, { maxLength: 5 }), oddValue),
});

/** Sets or deletes a field somewhere in a tree: `at` picks one of its (parent, key) places. */
interface Mutation {
  at: number;
  value: unknown;
  remove: boolean;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({ at: fc.nat(), value: oddValue, remove: fc.boolean() });

function places(root: object): Array<[Plain, string]> {
  const out: Array<[Plain, string]> = [];
  const walk = (node: unknown, depth: number): void => {
    if (typeof node !== 'object' || node === null || depth > 6) return;
    for (const key of Object.keys(node)) {
      out.push([node as Plain, key]);
      walk((node as Plain)[key], depth + 1);
    }
  };
  walk(root, 0);
  return out;
}

function mutate(root: object, mutations: readonly Mutation[]): void {
  for (const m of mutations) {
    const all = places(root);
    if (all.length === 0) return;
    const [parent, key] = all[m.at % all.length]!;
    if (m.remove) delete parent[key];
    else parent[key] = typeof m.value === 'object' && m.value !== null ? structuredClone(m.value) : m.value;
  }
}

/** A well-formed metric made malformed, or one malformed from the start. */
const badMetric = fc.oneof(
  fc
    .tuple(goodMetric, fc.array(mutation, { minLength: 1, maxLength: 3 }))
    .map(([m, mutations]) => ({ kind: 'mutated' as const, m, mutations })),
  oddMetric.map((metric) => ({ kind: 'odd' as const, metric })),
);

const oddScope = fc.oneof(
  fc.constantFrom<unknown>(null, undefined, 5, 'scope', { name: 'no-metrics' }, { scope: null, metrics: [] }),
  fc.record({
    scope: fc.oneof(
      fc.record({ name: oddString, version: oddValue, schemaUrl: oddValue, attributes: oddAttributes }),
      oddValue,
    ),
    metrics: oddValue,
  }),
);

export const exportCase = fc.record({
  good: fc.array(goodMetric, { minLength: 1, maxLength: 4 }),
  bad: fc.array(badMetric, { maxLength: 4 }),
  badScopes: fc.array(oddScope, { maxLength: 2 }),
  /** Where the well-formed scope goes among the others. */
  goodFirst: fc.boolean(),
  options: fc.record({
    protocol: fc.constantFrom<'v1' | 'v2'>('v1', 'v2'),
    explicitHistogramsAsNative: fc.boolean(),
    translationStrategy: fc.constantFrom(
      'UnderscoreEscapingWithSuffixes',
      'UnderscoreEscapingWithoutSuffixes',
      'NoUTF8EscapingWithSuffixes',
      'NoTranslation',
    ) as fc.Arbitrary<PrometheusRemoteWriteExporterOptions['translationStrategy']>,
    maxSamplesPerSend: fc.constantFrom(1, 3, 2000),
    maxConcurrentRequests: fc.constantFrom(1, 3),
    withoutScopeInfo: fc.boolean(),
  }),
});

export type ExportCase = typeof exportCase extends fc.Arbitrary<infer T> ? T : never;

// ---- one case -------------------------------------------------------------------------------

export interface ReceivedSeries {
  labels: Record<string, string>;
  values: number[];
  histograms: number;
}

export function seriesOf(requests: readonly ReceivedRequest[]): ReceivedSeries[] {
  const out: ReceivedSeries[] = [];
  for (const r of requests) {
    if (r.decodedV2) {
      const symbols = r.decodedV2.symbols;
      for (const s of r.decodedV2.timeseries) {
        const labels: Record<string, string> = {};
        for (let i = 0; i + 1 < s.labelsRefs.length; i += 2)
          labels[symbols[s.labelsRefs[i]!]!] = symbols[s.labelsRefs[i + 1]!]!;
        out.push({ labels, values: s.samples.map((x) => x.value), histograms: s.histograms.length });
      }
    } else {
      for (const s of r.decoded.timeseries) {
        const labels = Object.fromEntries(s.labels.map((l) => [l.name, l.value]));
        out.push({ labels, values: s.samples.map((x) => x.value), histograms: s.histograms?.length ?? 0 });
      }
    }
  }
  return out;
}

export function buildExport(
  c: ExportCase,
  endMs: number,
  tag: string,
): { rm: ResourceMetrics; names: string[] } {
  const names = c.good.map((_, i) => `good_${tag}_${i}`);
  const goodScope = {
    scope: { name: 'good-scope', version: '1' },
    metrics: c.good.map((m, i) => goodMetricData(names[i]!, m, endMs)),
  };
  const badMetrics = c.bad.map((b, i) => {
    if (b.kind === 'odd') return b.metric;
    // A copy: the attribute objects of the well-formed metrics are shared.
    const metric = structuredClone(goodMetricData(`bad_${tag}_${i}`, b.m, endMs));
    mutate(metric, b.mutations);
    return metric;
  });
  const scopes: unknown[] = [{ scope: { name: 'bad-metrics' }, metrics: badMetrics }, ...c.badScopes];
  if (c.goodFirst) scopes.unshift(goodScope);
  else scopes.push(goodScope);
  const rm = {
    resource: resourceFromAttributes({
      'service.name': 'fuzz',
      'service.instance.id': tag,
      'host.name': 'h',
    }),
    scopeMetrics: scopes,
  } as unknown as ResourceMetrics;
  return { rm, names };
}
