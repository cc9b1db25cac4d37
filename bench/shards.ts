/**
 * The steady export with 4 shards against 1, side by side in one process on the same input:
 * 100,000 counter series, two exporters (no-op `post`), exported alternately; the medians of the
 * synchronous `export()` call and their ratio. With more than one shard a frame is laid out
 * shard by shard (translate/frames.ts), so each shard takes its part as one run.
 * Run by bench/run.ts, or alone: node --import tsx bench/shards.ts
 */
import { PrometheusRemoteWriteExporter } from '../src/exporter.js';
import { counterMetrics, streamPool } from './inputs.js';
import { median } from './results.js';

const SERIES = 100_000;
const EXPORTS = 40;
const WARMUP = 5;

export interface ShardsResult {
  series: number;
  /** Timed exports per exporter. */
  exports: number;
  oneShardMs: number;
  fourShardsMs: number;
}

export async function measureShards(): Promise<ShardsResult> {
  const ok = { status: 204, statusText: 'No Content', headers: {}, bodyPrefix: '' };
  const make = (shards: number) =>
    new PrometheusRemoteWriteExporter(
      { url: 'http://127.0.0.1:9/api/v1/write', maxConcurrentRequests: shards },
      { post: async () => ok },
    );
  const exporters = [make(1), make(4)] as const;
  const times: [number[], number[]] = [[], []];
  const pool = streamPool(SERIES);
  for (let k = 0; k < EXPORTS + WARMUP; k++) {
    const rm = counterMetrics(pool, k);
    // Alternate which goes first, so that neither always follows the other's garbage.
    const order = k % 2 === 0 ? [0, 1] : [1, 0];
    for (const which of order) {
      const exporter = exporters[which as 0 | 1];
      const t0 = performance.now();
      exporter.export(rm, () => {});
      const elapsed = performance.now() - t0;
      await exporter.forceFlush();
      if (k >= WARMUP) times[which as 0 | 1].push(elapsed);
    }
  }
  for (const exporter of exporters) {
    const stats = exporter.stats();
    if (stats.samplesSent !== SERIES * (EXPORTS + WARMUP))
      throw new Error(`samples sent: ${stats.samplesSent}`);
    await exporter.shutdown();
  }
  return { series: SERIES, exports: EXPORTS, oneShardMs: median(times[0]), fourShardsMs: median(times[1]) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await measureShards();
  console.log(
    `${r.series} counters, median of ${r.exports}: 1 shard ${r.oneShardMs.toFixed(1)} ms, ` +
      `4 shards ${r.fourShardsMs.toFixed(1)} ms (${(r.fourShardsMs / r.oneShardMs).toFixed(2)}×)`,
  );
}
