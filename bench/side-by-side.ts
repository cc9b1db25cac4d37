/**
 * Two exporter configurations on the same input, side by side in one process: exported
 * alternately (which goes first alternates too), the medians of the synchronous `export()` call
 * and their ratio, so that a machine whose speed drifts skews both alike. No network: a no-op
 * `post` that answers as a 2.0 receiver would.
 */
import { ExportResultCode } from '@opentelemetry/core';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { PrometheusRemoteWriteExporter, ExportProfile } from '../src/exporter.js';
import type { PrometheusRemoteWriteExporterOptions } from '../src/options.js';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { counterMetrics, histogramMetrics, streamPool } from './inputs.js';
import { emptyProfile, median, offlineExporter } from './results.js';

export interface SideBySide {
  name: string;
  /** Timed exports per configuration. */
  exports: number;
  /** Median ms of the timed exports of each (steady ones, or first ones: firstSideBySide). */
  steadyMs: [number, number];
  /** The target for second ÷ first (PASS when at or under it); undefined: information only. */
  limit: number | undefined;
}

type Options = Omit<PrometheusRemoteWriteExporterOptions, 'url'>;
/** One side of a first-export comparison: an exporter configuration, or another serializer's call. */
type FirstSide = Options | ((rm: ResourceMetrics) => unknown);

const busy = (p: ExportProfile | undefined): number =>
  p ? p.translateMs + p.encodeMs + p.compressMs + p.queueMs : 0;

export async function sideBySide(
  name: string,
  input: (k: number) => ResourceMetrics,
  configurations: [Options, Options],
  exports: number,
  warmup: number,
  limit: number,
): Promise<SideBySide> {
  const profiles = configurations.map(emptyProfile);
  // A 2.0 receiver's answer (Written headers), so that 'v2' takes every request as delivered.
  const exporters = configurations.map((options, which) =>
    offlineExporter(options, { profile: profiles[which] }),
  );
  const times: [number[], number[]] = [[], []];
  for (let k = 0; k < exports + warmup; k++) {
    const rm = input(k);
    for (const which of k % 2 === 0 ? [0, 1] : [1, 0]) {
      const exporter = exporters[which] as PrometheusRemoteWriteExporter;
      // The time the export held the thread: its slices (the profile's phases), not the event
      // loop's turns between them, where delivery of its first requests already runs.
      const profile = profiles[which as 0 | 1];
      const before = busy(profile);
      await new Promise<void>((resolve) => exporter.export(rm, () => resolve()));
      const elapsed = busy(profile) - before;
      await exporter.forceFlush();
      if (k >= warmup) times[which as 0 | 1].push(elapsed);
    }
  }
  for (const exporter of exporters) {
    const dropped = Object.values(exporter.stats().samplesDropped).reduce((a, b) => a + b, 0);
    if (dropped > 0) throw new Error(`${name}: ${dropped} samples dropped`);
    await exporter.shutdown();
  }
  return { name, exports, steadyMs: [median(times[0]), median(times[1])], limit };
}

/**
 * Rounds of a first-export comparison left out while V8 compiles the code. At 10k counters (two
 * processes, 20 rounds) the exporter's first export took 32–55 ms in rounds 1–3, and a median of
 * 13–14 ms from round 4 on; the OTLP serializer's 9–22 ms, then 10–11 ms: with one round left
 * out, a median of 6 measured mostly the compiler.
 */
const COLD_ROUNDS = 5;

/**
 * The first export of each side, side by side: new exporters every round (every series new to
 * them), the code warm after COLD_ROUNDS rounds, which are left out. The median of the time the
 * export held the thread; for a serializer's call (which keeps nothing between calls), the time
 * of the call.
 */
export async function firstSideBySide(
  name: string,
  input: ResourceMetrics,
  sides: [FirstSide, FirstSide],
  rounds: number,
  limit: number,
): Promise<SideBySide> {
  const times: [number[], number[]] = [[], []];
  for (let round = 1 - COLD_ROUNDS; round <= rounds; round++) {
    for (const which of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const held = await firstExportMs(sides[which as 0 | 1], input, name);
      if (round > 0) times[which as 0 | 1].push(held);
    }
  }
  return { name, exports: rounds, steadyMs: [median(times[0]), median(times[1])], limit };
}

async function firstExportMs(side: FirstSide, input: ResourceMetrics, name: string): Promise<number> {
  if (typeof side === 'function') {
    const started = performance.now();
    const made = side(input);
    const held = performance.now() - started;
    if (!made) throw new Error(`${name}: the serializer produced nothing`);
    return held;
  }
  const profile = emptyProfile();
  const exporter = offlineExporter(side, { profile });
  const code = await new Promise<ExportResultCode>((resolve) =>
    exporter.export(input, (r) => resolve(r.code)),
  );
  await exporter.shutdown();
  if (code !== ExportResultCode.SUCCESS) throw new Error(`${name}: a first export failed`);
  return busy(profile);
}

/**
 * The second export against the steady ones, in a process whose code is already warm: a new
 * exporter every round (the first round, cold, left out), its first export, the frames built
 * after it (`idle()`, what a reader's interval leaves time for), then exports 2–5 timed. Shows
 * what the workloads' "second export ÷ steady" owes to V8 compiling the steady path on its
 * first use. steadyMs: [median of exports 3–5, median of second exports].
 */
export async function secondAfterWarmCode(
  name: string,
  collect: (k: number) => ResourceMetrics,
  rounds: number,
): Promise<SideBySide> {
  const second: number[] = [];
  const steady: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    const profile = emptyProfile();
    const exporter = offlineExporter({ protocol: 'v1' }, { profile });
    for (let k = 0; k < 5; k++) {
      const input = collect(k);
      const before = busy(profile);
      await new Promise<void>((resolve) => exporter.export(input, () => resolve()));
      const held = busy(profile) - before;
      if (round > 0 && k === 1) second.push(held);
      if (round > 0 && k >= 2) steady.push(held);
      await exporter.forceFlush();
      await exporter.idle();
    }
    await exporter.shutdown();
  }
  return { name, exports: rounds, steadyMs: [median(steady), median(second)], limit: undefined };
}

/** The steady export of 100,000 counters with 4 shards against 1 (frames laid out by shard). */
export function measureShards(): Promise<SideBySide> {
  const pool = streamPool(100_000);
  return sideBySide(
    'steady 100k counters, 4 shards ÷ 1',
    (k) => counterMetrics(pool, k),
    [{ maxConcurrentRequests: 1 }, { maxConcurrentRequests: 4 }],
    30,
    5,
    1.2,
  );
}

/** Remote-Write 2.0 against 1.0 in steady state: counters at 10k and 100k, classic histograms. */
export async function measureProtocols(): Promise<SideBySide[]> {
  const out: SideBySide[] = [];
  const v1v2: [Options, Options] = [{ protocol: 'v1' }, { protocol: 'v2' }];
  for (const n of [10_000, 100_000]) {
    const pool = streamPool(n);
    out.push(
      await sideBySide(
        `steady ${n / 1000}k counters, v2 ÷ v1`,
        (k) => counterMetrics(pool, k),
        v1v2,
        n > 10_000 ? 15 : 40,
        5,
        1.3,
      ),
    );
  }
  const pool = streamPool(1_000);
  out.push(
    await sideBySide(
      'steady 1k histograms × 12 bounds, v2 ÷ v1',
      (k) => histogramMetrics(pool, k),
      v1v2,
      40,
      5,
      1.3,
    ),
  );
  out.push(
    await firstSideBySide(
      'first export, 10k counters, v2 ÷ v1',
      counterMetrics(streamPool(10_000), 0),
      v1v2,
      6,
      1.5,
    ),
    await firstSideBySide(
      'first export, 100k counters, v2 ÷ v1',
      counterMetrics(streamPool(100_000), 0),
      v1v2,
      // Its rounds vary by up to 2× (how many scavenges fall in each): a median of 3 was not enough.
      7,
      1.5,
    ),
    await firstSideBySide(
      'first export, 1k histograms × 12 bounds, v2 ÷ v1',
      histogramMetrics(pool, 0),
      v1v2,
      6,
      1.5,
    ),
  );
  return out;
}

/**
 * The first export (Remote-Write 1.0, default options) against the OTLP exporter's protobuf
 * serializer on the same ResourceMetrics: counters at 10k and 100k, classic histograms. Ours is
 * the whole export (translate, encode, compress, queue) and keeps its series' state; the
 * serializer's call keeps nothing.
 */
export async function measureFirstAgainstOtlp(): Promise<SideBySide[]> {
  const otlp = (rm: ResourceMetrics): unknown => ProtobufMetricsSerializer.serializeRequest(rm)?.length;
  const sides: [FirstSide, FirstSide] = [otlp, { protocol: 'v1' }];
  return [
    await firstSideBySide(
      'first export, 10k counters, 1.0 ÷ OTLP',
      counterMetrics(streamPool(10_000), 0),
      sides,
      6,
      1,
    ),
    await firstSideBySide(
      'first export, 100k counters, 1.0 ÷ OTLP',
      counterMetrics(streamPool(100_000), 0),
      sides,
      7,
      1,
    ),
    await firstSideBySide(
      'first export, 1k histograms × 12 bounds, 1.0 ÷ OTLP',
      histogramMetrics(streamPool(1_000), 0),
      sides,
      6,
      1,
    ),
  ];
}
