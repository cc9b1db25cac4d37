/**
 * Exponential histograms recorded by a real MeterProvider, pushed as native histograms (RW 1.0,
 * the default protocol, TimeSeries field 4) into Prometheus 2.42 started with
 * `--enable-feature=native-histograms`, and read back with histogram_count/sum/quantile.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  AggregationTemporality,
  AggregationType,
  MeterProvider,
  MetricReader,
  PeriodicExportingMetricReader,
  type ExponentialHistogram,
} from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { PrometheusRemoteWriteExporter } from '../src/index.js';
import { receiverOrSkip, startPrometheus, type Receiver } from './helpers/receivers.js';
import { valueOf } from './e2e-scenario.js';

const { skip } = receiverOrSkip('prometheus');

/** Reads the SDK's own point, to learn the scale it chose for the values. */
class PeekReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

interface Bucket {
  lower: number;
  upper: number;
  count: number;
}

/**
 * The native buckets the values fall in at `schema`: bucket j is (2^((j−1)/2^schema), 2^(j/2^schema)]
 * (positive values only, as a Histogram instrument records).
 */
function bucketsOf(values: readonly number[], schema: number): Bucket[] {
  const counts = new Map<number, number>();
  for (const v of values) {
    const j = Math.ceil(Math.log2(v) * 2 ** schema);
    counts.set(j, (counts.get(j) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => a[0] - b[0])
    .map(([j, count]) => ({ lower: 2 ** ((j - 1) / 2 ** schema), upper: 2 ** (j / 2 ** schema), count }));
}

/**
 * histogram_quantile over native buckets as Prometheus 2.42 computes it (promql/quantile.go):
 * the bucket where the cumulative count reaches q·count, then linear interpolation inside it.
 */
function expectedQuantile(q: number, buckets: readonly Bucket[]): { value: number; bucket: Bucket } {
  const total = buckets.reduce((a, b) => a + b.count, 0);
  const rank = q * total;
  let cumulative = 0;
  for (const b of buckets) {
    cumulative += b.count;
    if (cumulative >= rank) {
      const inBucket = rank - (cumulative - b.count);
      return { value: b.lower + (b.upper - b.lower) * (inBucket / b.count), bucket: b };
    }
  }
  throw new Error('rank beyond the last bucket');
}

/** The sample quantile of the raw values (nearest rank). */
function trueQuantile(q: number, values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

describe('end to end: native histograms in Prometheus 2.42', { skip }, () => {
  let prometheus: Receiver;
  before(async () => {
    prometheus = await startPrometheus();
  });
  after(async () => {
    await prometheus?.stop();
  });

  const cases = [
    // 1000 durations from 5 ms to ~5.4 s: about 10 octaves, so the SDK (160 buckets) picks scale 4.
    {
      name: 'job.duration',
      unit: 's',
      metric: 'job_duration_seconds',
      values: Array.from({ length: 1000 }, (_, i) => 0.005 * 1.007 ** i),
    },
    // A narrow range: the SDK keeps a scale above 8, which must be downscaled to schema 8.
    {
      name: 'payload.ratio',
      unit: '',
      metric: 'payload_ratio',
      values: Array.from({ length: 300 }, (_, i) => 1.001 + i * 0.0001),
    },
  ];

  it('histogram_count, histogram_sum and histogram_quantile match what the SDK recorded', async () => {
    const exporter = new PrometheusRemoteWriteExporter({ url: prometheus.writeUrl, withoutTargetInfo: true });
    const peek = new PeekReader({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'batch', 'service.instance.id': 'run-1' }),
      views: cases.map((c) => ({
        instrumentName: c.name,
        aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM },
      })),
      readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 }), peek],
    });
    const meter = provider.getMeter('batch');
    for (const c of cases) {
      const h = meter.createHistogram(c.name, { unit: c.unit });
      for (const v of c.values) h.record(v, { step: 'load' });
    }
    const { resourceMetrics } = await peek.collect();
    const scales = new Map(
      resourceMetrics.scopeMetrics[0]!.metrics.map((m) => [
        m.descriptor.name,
        (m.dataPoints[0]!.value as ExponentialHistogram).scale,
      ]),
    );
    await provider.forceFlush();
    const time = Date.now() / 1000 + 1;

    for (const c of cases) {
      const scale = scales.get(c.name)!;
      const schema = Math.min(scale, 8);
      if (c.metric === 'payload_ratio') assert.ok(scale > 8, `SDK scale ${scale} should need downscaling`);
      const q = (promql: string) => prometheus.queryUntil(promql, (r) => r.length > 0, { time });
      assert.equal(valueOf(await q(`histogram_count(${c.metric})`)), c.values.length, c.metric);
      const sum = c.values.reduce((a, b) => a + b, 0);
      const gotSum = valueOf(await q(`histogram_sum(${c.metric})`));
      assert.ok(Math.abs(gotSum - sum) <= 1e-9 * sum, `${c.metric} sum ${gotSum} vs ${sum}`);

      const buckets = bucketsOf(c.values, schema);
      for (const quantile of [0.5, 0.9, 0.99]) {
        const got = valueOf(await q(`histogram_quantile(${quantile}, ${c.metric})`));
        const { value: expected, bucket } = expectedQuantile(quantile, buckets);
        // A native histogram only knows which bucket a value is in: any estimate inside the
        // bucket that holds the rank is as right as another (Prometheus 2.42 interpolates
        // linearly, later versions exponentially). So the tolerance is that bucket's width
        // (2^(2^−schema) − 1 of its lower bound: 4.4% at schema 4, 0.27% at schema 8).
        const width = bucket.upper - bucket.lower;
        assert.ok(
          got >= bucket.lower && got <= bucket.upper,
          `${c.metric} q${quantile}: ${got} outside (${bucket.lower}, ${bucket.upper}]`,
        );
        assert.ok(
          Math.abs(got - expected) <= width,
          `${c.metric} q${quantile}: ${got} vs ${expected} ± ${width}`,
        );
        // And the recorded data's own quantile lies in that bucket too: the layout is right.
        const truth = trueQuantile(quantile, c.values);
        assert.ok(
          truth > bucket.lower && truth <= bucket.upper,
          `${c.metric} q${quantile}: true ${truth} not in the bucket`,
        );
        assert.ok(
          Math.abs(got - truth) <= width,
          `${c.metric} q${quantile}: ${got} vs recorded ${truth} ± ${width}`,
        );
      }
    }
    const [series] = await prometheus.query('job_duration_seconds', time);
    assert.equal(series?.metric['step'], 'load');
    assert.equal(series?.metric['job'], 'batch');
    await provider.shutdown();
  });
});
