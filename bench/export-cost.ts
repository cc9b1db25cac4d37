/**
 * `npm run bench`: the cost of one export without the network, split into translate / encode /
 * compress, on fixed workloads. Medians over 50 exports after 10 warm-up exports, one core.
 *   (a) 10,000 counter series, each __name__ + 5 attributes + job, every export the same series
 *   (b) 1,000 classic histograms with 12 bounds (16,000 series: 13 buckets, _sum, _count... per point)
 */
import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  InstrumentType,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { DeltaAccumulator } from '../src/translate/delta.js';
import { translate, type TranslateOptions } from '../src/translate/translate.js';
import { ProtobufWriter } from '../src/wire/protobuf-writer.js';
import { encodeWriteRequest } from '../src/wire/rw1.js';
import { snappyCompress } from '../src/wire/snappy.js';

const now = Date.now();
const time = (ms: number): [number, number] => [Math.floor(ms / 1000), (ms % 1000) * 1e6];

function resourceMetrics(metric: MetricData): ResourceMetrics {
  return {
    resource: resourceFromAttributes({ 'service.name': 'bench', 'service.instance.id': 'i-1' }),
    scopeMetrics: [{ scope: { name: 'bench', version: '1.0.0' }, metrics: [metric] }],
  };
}

function points<T>(n: number, value: (i: number) => T) {
  return Array.from({ length: n }, (_, i) => ({
    attributes: {
      method: 'GET',
      route: `/r${i % 100}`,
      status: String(200 + (i % 5)),
      pod: `p${i}`,
      zone: 'eu-1',
    } as Attributes,
    startTime: time(now - 60_000),
    endTime: time(now),
    value: value(i),
  }));
}

const descriptor = (name: string, type: InstrumentType) => ({
  name,
  unit: 's',
  description: '',
  type,
  valueType: 1,
});

const workloads: Array<[string, ResourceMetrics]> = [
  [
    '(a) 10,000 counters x 6 labels',
    resourceMetrics({
      descriptor: descriptor('http.requests', InstrumentType.COUNTER),
      dataPointType: DataPointType.SUM,
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      isMonotonic: true,
      dataPoints: points(10_000, (i) => i * 3),
    } as MetricData),
  ],
  [
    '(b) 1,000 histograms x 12 bounds',
    resourceMetrics({
      descriptor: descriptor('http.duration', InstrumentType.HISTOGRAM),
      dataPointType: DataPointType.HISTOGRAM,
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPoints: points(1_000, (i) => ({
        buckets: {
          boundaries: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5],
          counts: Array.from({ length: 13 }, (_, b) => (i + b) % 7),
        },
        count: 39,
        sum: i / 10,
      })),
    } as MetricData),
  ],
];

const options: TranslateOptions = {
  addMetricSuffixes: true,
  namespace: '',
  externalLabels: new Map(),
  withoutTargetInfo: true,
  withoutScopeInfo: false,
  promoteResourceAttributes: [],
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

console.log(`node ${process.version}, ${process.arch}`);
for (const [name, rm] of workloads) {
  const state = { deltas: new DeltaAccumulator(), warned: new Set<string>() };
  const writer = new ProtobufWriter();
  const t = { translate: [] as number[], encode: [] as number[], compress: [] as number[] };
  let samples = 0;
  let raw = 0;
  let compressed = 0;
  for (let i = 0; i < 60; i++) {
    const t0 = performance.now();
    const batch = translate(rm, options, state);
    const t1 = performance.now();
    const body = encodeWriteRequest(batch.series, [...batch.metadata.values()], writer);
    const t2 = performance.now();
    const out = snappyCompress(body);
    const t3 = performance.now();
    if (i < 10) continue;
    t.translate.push(t1 - t0);
    t.encode.push(t2 - t1);
    t.compress.push(t3 - t2);
    samples = batch.series.length;
    raw = body.length;
    compressed = out.length;
  }
  const [tr, en, co] = [median(t.translate), median(t.encode), median(t.compress)];
  const total = tr + en + co;
  console.log(
    `${name}: ${samples} samples; translate ${tr.toFixed(1)} ms, encode ${en.toFixed(1)} ms, ` +
      `snappy ${co.toFixed(1)} ms, total ${total.toFixed(1)} ms (${(total / co).toFixed(1)}x snappy); ` +
      `${(((samples / total) * 1000) / 1e6).toFixed(2)} M samples/s; ${raw} B raw, ${(compressed / samples).toFixed(1)} B/sample compressed`,
  );
}
