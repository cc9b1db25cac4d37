/**
 * One workload of the benchmark, in a process of its own so that its RSS figures are its own:
 *   node --expose-gc --import tsx bench/workload.ts <a|b|c|d|e> --out FILE
 * Runs the exporter with a no-op `post` on fresh ResourceMetrics per export, times each
 * synchronous `export()` call (translate → batch → encode → compress), reads the per-phase
 * profile, tracks RSS and heap, then (for some workloads) times other implementations on the
 * same series (compare.ts). Writes a WorkloadResult as JSON to FILE; progress goes to stderr.
 */
import { writeFileSync } from 'node:fs';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { PrometheusRemoteWriteExporter, type ExportProfile } from '../src/exporter.js';
import { snappyCompress } from '../src/wire/snappy.js';
import { compare } from './compare.js';
import { ChurningPool, counterMetrics, histogramMetrics, streamPool } from './inputs.js';
import {
  emptyProfile,
  median,
  type Comparison,
  type ExportTimes,
  type WorkloadId,
  type WorkloadResult,
} from './results.js';

interface Spec {
  title: string;
  streams: number;
  /** Exports planned; fewer when `budgetMs` runs out (never fewer than `minExports`). */
  exports: number;
  minExports: number;
  budgetMs: number;
  /** The first exports, left out of the medians. */
  warmup: number;
  /** Heap is read after this many exports and after the last one. */
  heapEarlyAt: number;
  /** Returns `collect(k)`, the ResourceMetrics of export k; called once per k, in order. */
  setup(): (k: number) => ResourceMetrics;
  /** Steady workloads only: the comparisons call `collect` again for the last export's k. */
  compare?: { iterations: number; warmup: number };
}

const steadyCounters = (n: number) => () => {
  const pool = streamPool(n);
  return (k: number) => counterMetrics(pool, k);
};

const WORKLOADS: Record<WorkloadId, Spec> = {
  a: {
    title: '(a) 10k counters',
    streams: 10_000,
    exports: 100,
    minExports: 30,
    budgetMs: 60_000,
    warmup: 10,
    heapEarlyAt: 10,
    setup: steadyCounters(10_000),
    compare: { iterations: 30, warmup: 5 },
  },
  b: {
    title: '(b) 1k histograms × 12 bounds',
    streams: 1_000,
    exports: 100,
    minExports: 30,
    budgetMs: 60_000,
    warmup: 10,
    heapEarlyAt: 10,
    setup: () => {
      const pool = streamPool(1_000);
      return (k) => histogramMetrics(pool, k);
    },
    compare: { iterations: 30, warmup: 5 },
  },
  c: {
    title: '(c) 100k counters',
    streams: 100_000,
    exports: 100,
    minExports: 12,
    budgetMs: 50_000,
    // Three: the bodies for the comparisons are copied in the last one, not in the second, which is reported.
    warmup: 3,
    heapEarlyAt: 10,
    setup: steadyCounters(100_000),
    compare: { iterations: 5, warmup: 1 },
  },
  d: {
    title: '(d) 1M counters',
    streams: 1_000_000,
    exports: 5,
    minExports: 2,
    budgetMs: 100_000,
    // The first export is the cold one, reported on its own.
    warmup: 1,
    heapEarlyAt: 1,
    setup: steadyCounters(1_000_000),
  },
  e: {
    title: '(e) 10k counters, 10% churn',
    streams: 10_000,
    exports: 100,
    minExports: 30,
    budgetMs: 60_000,
    warmup: 10,
    heapEarlyAt: 10,
    setup: () => {
      const churn = new ChurningPool(10_000, 0.1);
      return (k) => {
        churn.advanceTo(k);
        return counterMetrics(churn.pool, k);
      };
    },
  },
};

const id = process.argv[2] as WorkloadId;
const outIndex = process.argv.indexOf('--out');
const outFile = outIndex > 0 ? process.argv[outIndex + 1] : undefined;
const spec = WORKLOADS[id];
if (!spec || !outFile) throw new Error('usage: bench/workload.ts <a|b|c|d|e> --out FILE');
if (!globalThis.gc) throw new Error('run with node --expose-gc');
if (spec.compare && spec.warmup < 3) throw new Error(`${id}: copying bodies would time the second export`);
const gc = globalThis.gc;
/** The wait after the first export's frames are built (see its use). */
const COMPILE_PAUSE_MS = 200;

/**
 * Two full collections: entries of a WeakMap whose keys died are only gone after the second
 * (the first one finds the keys dead, the values they held go in the next).
 */
function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const log = (line: string): void => void process.stderr.write(`  [${id}] ${line}\n`);

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function checkStats(exporter: PrometheusRemoteWriteExporter, when: string): void {
  const s = exporter.stats();
  const dropped = Object.entries(s.samplesDropped).filter(([, n]) => n > 0);
  if (dropped.length > 0 || s.samplesFailed > 0 || s.requestsFailed > 0) {
    throw new Error(`${when}: exporter stats show failures: ${JSON.stringify(s)}`);
  }
}

async function main(): Promise<WorkloadResult> {
  const profile: ExportProfile = emptyProfile();
  // Read generically, so that a phase added to or renamed in the profile shows up as it is.
  const counters = profile as unknown as Record<string, number>;
  const numericKeys = Object.keys(profile).filter((key) => typeof counters[key] === 'number');
  const phaseKeys = numericKeys.filter((key) => key.endsWith('Ms'));
  const exporter = new PrometheusRemoteWriteExporter(
    // Default queue bounds (maxQueueBytes): a whole 1M-series export fits, and any drop fails the run.
    { url: 'http://127.0.0.1:9/api/v1/write', markStaleWhenMissing: true },
    { post: async () => ({ status: 204, statusText: 'No Content', headers: {}, bodyPrefix: '' }), profile },
  );

  const collect = spec.setup();
  let rm: ResourceMetrics | undefined = collect(0);
  gc();
  // Baseline: Node, the modules and the input of the first export (what the SDK holds anyway).
  const baselineRssKB = process.memoryUsage().rss / 1024;
  const maxRssBeforeKB = process.resourceUsage().maxRSS;

  const times: ExportTimes[] = [];
  /** Per export: the longest the event loop was held, ms. */
  const blocks: number[] = [];
  const builds: number[] = [];
  const bodies: Buffer[] = [];
  const snappyTimes: number[] = [];
  let last = { samples: 0, requests: 0, rawBytes: 0, compressedBytes: 0 };
  let heapEarly = 0;
  let peakFirstRssKB = 0;
  let peakFramedRssKB = 0;
  /** Per export: the time spent building frames after it, before the next (ms). */
  const betweenMs: number[] = [];
  let shortened: string | undefined;
  const started = performance.now();
  let k = 0;
  for (; k < spec.exports; k++) {
    const iterationStart = performance.now();
    // Builds start once the export's requests are delivered: during forceFlush below, or after.
    const builtBefore = profile.framesBuiltMs ?? 0;
    if (rm === undefined) {
      rm = collect(k);
      builds.push(performance.now() - iterationStart);
    }
    // Our bodies for the comparisons are copied during the last warm-up export, which the medians
    // skip; never the first or second, which are reported on their own (see the check below).
    if (spec.compare && k === spec.warmup - 1) profile.onBody = (raw) => void bodies.push(Buffer.from(raw));
    for (const key of numericKeys) counters[key] = 0;
    const sentBefore = exporter.stats().samplesSent;
    let resolveResult!: (r: ExportResult) => void;
    const result = new Promise<ExportResult>((resolve) => (resolveResult = resolve));

    // From the call to its callback: an export is translated in slices with the event loop
    // running between them (nothing else runs here), and called back once all of it is queued.
    // The longest time the event loop was held: the longest gap between the ticks of a 1 ms
    // timer, the first gap counted from the call (monitorEventLoopDelay misses a block that
    // comes before its first tick, as export()'s first slice does), less the 1 ms period.
    let lastTick = 0;
    let longestGap = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - lastTick);
      lastTick = now;
    }, 1);
    let calledBackAt = 0;
    const t0 = performance.now();
    lastTick = t0;
    exporter.export(rm, (r) => {
      calledBackAt = performance.now();
      // The first export's peak: every request of it is queued now, and its frames are built
      // only once they are all delivered (after this; during forceFlush below, or later).
      if (k === 0) peakFirstRssKB = process.resourceUsage().maxRSS;
      resolveResult(r);
    });
    await result;
    const total = calledBackAt - t0;
    clearInterval(ticker);
    longestGap = Math.max(longestGap, calledBackAt - lastTick);
    blocks.push(Math.max(0, longestGap - 1));

    profile.onBody = undefined;
    await withTimeout(exporter.forceFlush(), 120_000, `forceFlush after export ${k + 1}`);
    const outcome = await withTimeout(result, 120_000, `result of export ${k + 1}`);
    // What a periodic reader's interval leaves time for: the frames of the first export are
    // built now, its requests delivered (steady-state/frames.ts LaterFrame), in slices.
    await withTimeout(exporter.idle(), 120_000, `frames built after export ${k + 1}`);
    betweenMs.push((profile.framesBuiltMs ?? 0) - builtBefore);
    if (k === 0) {
      peakFramedRssKB = process.resourceUsage().maxRSS;
      // And time for V8's background compiler: the frames' build above runs the steady path's
      // code for the first time, which TurboFan then compiles on another thread (about 40 ms of
      // it at 10k counters, `--trace-opt`). Back to back, the second export ran before that code
      // was installed and measured the compiler (2.8–4.8× a steady export at 10k); a reader's
      // interval (60 s by default) leaves it the time. The later exports run back to back
      // (docs/decisions.md, "The second export's extra at 10k").
      await new Promise((resolve) => setTimeout(resolve, COMPILE_PAUSE_MS));
    }
    if (outcome.code !== ExportResultCode.SUCCESS) {
      throw new Error(`export ${k + 1} failed: ${outcome.error?.stack ?? outcome.error}`);
    }
    checkStats(exporter, `after export ${k + 1}`);
    if (bodies.length > 0 && k >= spec.warmup) {
      // snappy alone on our bodies, now: the floor, in the same minutes as this export.
      const s0 = performance.now();
      for (const body of bodies) snappyCompress(body);
      snappyTimes.push(performance.now() - s0);
    }
    const phases: Record<string, number> = {};
    let phasesTotal = 0;
    for (const key of phaseKeys) {
      phases[key.slice(0, -2)] = counters[key] as number;
      phasesTotal += counters[key] as number;
    }
    // The export's cost is the time it held the thread (its slices, the profile's phases); the
    // wall time from call to callback also holds the event loop's turns between the slices.
    times.push({ total: phasesTotal, phases, other: total - phasesTotal });
    last = {
      samples: exporter.stats().samplesSent - sentBefore,
      requests: profile.requests,
      rawBytes: profile.rawBytes,
      compressedBytes: profile.compressedBytes,
    };
    if (last.samples === 0) throw new Error(`export ${k + 1} sent no samples`);

    // Released before the next input is built: one input alive at a time, as in an SDK.
    rm = undefined;
    // A full GC only where the heap is read: with one before every export, exports here ran
    // about 2× slower (memory handed back to the OS is faulted in again), not the steady state.
    if (k + 1 === spec.heapEarlyAt) heapEarly = heapAfterGc();
    if (spec.exports > 10 && (k + 1) % 25 === 0) log(`${k + 1} exports, last ${total.toFixed(1)} ms`);
    if (spec.exports <= 10) log(`export ${k + 1}: ${total.toFixed(0)} ms`);

    const elapsed = performance.now() - started;
    const next = performance.now() - iterationStart;
    if (k + 1 >= spec.minExports && k + 1 < spec.exports && elapsed + next > spec.budgetMs) {
      shortened = `stopped after ${k + 1} of ${spec.exports} exports (time budget ${spec.budgetMs / 1000} s)`;
      log(shortened);
      k++;
      break;
    }
  }
  const peakRssKB = process.resourceUsage().maxRSS;
  const heapLate = heapAfterGc();
  const end = process.memoryUsage();
  const exports = k;

  let comparison: Comparison | undefined;
  if (spec.compare && bodies.length > 0) {
    comparison = await compare({
      bodies,
      collect: () => collect(exports - 1),
      iterations: spec.compare.iterations,
      warmup: spec.compare.warmup,
      log,
    });
    const ours = times.slice(spec.warmup, spec.warmup + snappyTimes.length);
    comparison.snappyInterleaved = median(snappyTimes);
    comparison.oursOverSnappyInterleaved = median(ours.map((t, i) => t.total / (snappyTimes[i] as number)));
    log(
      `snappy alone after each export ${comparison.snappyInterleaved.toFixed(2)} ms, ours ÷ it ${comparison.oursOverSnappyInterleaved.toFixed(2)}×`,
    );
  }

  await withTimeout(exporter.shutdown(), 30_000, 'shutdown');
  checkStats(exporter, 'after shutdown');

  const timed = times.slice(spec.warmup);
  const medianTimes: ExportTimes = {
    total: median(timed.map((t) => t.total)),
    phases: Object.fromEntries(
      Object.keys(times[0]?.phases ?? {}).map((name) => [
        name,
        median(timed.map((t) => t.phases[name] ?? 0)),
      ]),
    ),
    other: median(timed.map((t) => t.other)),
  };
  if (medianTimes.other < 0) {
    log('WARNING: the profiled phases add up to more than the export() call: some ran after it returned');
  }
  return {
    id,
    title: spec.title,
    streams: spec.streams,
    exports,
    warmup: spec.warmup,
    shortened,
    samplesPerExport: last.samples,
    requestsPerExport: last.requests,
    rawBytesPerExport: last.rawBytes,
    compressedBytesPerExport: last.compressedBytes,
    cold: times[0] as ExportTimes,
    second: times[1] as ExportTimes,
    framesBuiltAfterFirstMs: betweenMs[0] ?? 0,
    longestBlockMs: {
      first: blocks[0] ?? 0,
      second: blocks[1] ?? 0,
      steady: Math.max(0, ...blocks.slice(2)),
    },
    median: medianTimes,
    buildMs: median(builds),
    memory: {
      baselineRssKB,
      maxRssBeforeKB,
      peakRssKB,
      peakFirstRssKB,
      peakFramedRssKB,
      heapEarly,
      heapEarlyAt: spec.heapEarlyAt,
      heapLate,
      endRss: end.rss,
      endHeapTotal: end.heapTotal,
      endExternal: end.external,
    },
    comparison,
  };
}

const result = await main();
writeFileSync(outFile, JSON.stringify(result, null, 2));
log(
  `${result.exports} exports, median ${result.median.total.toFixed(2)} ms, ` +
    `${result.samplesPerExport} samples in ${result.requestsPerExport} requests`,
);
