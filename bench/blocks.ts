/**
 * How long the exporter holds the event loop at a time, for Remote-Write 1.0 and 2.0, at 10k,
 * 100k and 1M counter series and 1,000 classic histograms: the first export of the process, the
 * second, the longest of three later ones, and between exports (the frames of the first export are
 * built once it is delivered, steady-state/frames.ts LaterFrame). Each configuration runs in a
 * process of its own (so that one's heap does not weigh on another's collections):
 *   node --expose-gc --import tsx bench/blocks.ts 1000000 v2 counters [--out FILE]
 *
 * A block is the longest gap between the ticks of a 1 ms timer while export() runs (from the call
 * to the callback), less the period. V8's garbage-collection pauses land in such gaps; the
 * `gc` performance entries that start within a gap are subtracted to give the part outside them
 * (what the exporter's own slices and the event loop's other work took). Incremental marking
 * steps that V8 runs inside our slices are not reported as entries: they stay in that part.
 * Run with `node --no-incremental-marking`, V8 marks in one reported pause instead, and the part
 * outside the pauses is the exporter's own work (bench/run.ts does so at 1M series).
 * The receiver is a no-op `post` that answers on the next turn of the event loop.
 */
import { writeFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { counterMetrics, histogramMetrics, streamPool } from './inputs.js';
import { offlineExporter, ranAlone } from './results.js';

export interface Block {
  /** The longest gap, ms. */
  ms: number;
  /** The longest gap less the GC pauses that started in it, ms. */
  outsideGcMs: number;
}

export interface BlockResult {
  kind: 'counters' | 'histograms';
  series: number;
  protocol: 'v1' | 'v2';
  first: Block;
  second: Block;
  /** The longest of exports 3–5. */
  steady: Block;
  /** The longest between two exports: the exporter's background work (frames built). */
  between: Block;
  /** Run with `--no-incremental-marking` (bench/run.ts BLOCK_RUNS). */
  atomicMarking: boolean;
}

const EXPORTS = 5;

export async function measureBlocks(
  kind: BlockResult['kind'],
  streams: number,
  protocol: BlockResult['protocol'],
): Promise<BlockResult> {
  const pauses: Array<{ start: number; duration: number }> = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push({ start: e.startTime, duration: e.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  const exporter = offlineExporter(
    // A whole 1M-series export fits: nothing dropped.
    { protocol, markStaleWhenMissing: true, queueCapacity: 50_000_000 },
    { nextTurn: true },
  );
  const pool = streamPool(streams);
  // An SDK holds a stream's attributes from its first recording, an interval or more before
  // its first export: by then V8 has moved them to the old generation. Built just now, a
  // million of them would be copied by V8's young collections inside the exporter's slices
  // (the bench's objects, not the exporter's). With `--expose-gc` (bench/run.ts gives it) they are
  // settled first; each export's points are made just before it, as the SDK's collect() does.
  (globalThis as { gc?: () => void }).gc?.();
  const input = (k: number): ResourceMetrics =>
    kind === 'counters' ? counterMetrics(pool, k) : histogramMetrics(pool, k);
  /** The longest block while `work` runs: gaps between the ticks of a 1 ms timer, less the period. */
  const watch = async (work: () => Promise<void>): Promise<Block> => {
    const gaps: Array<{ at: number; ms: number }> = [];
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      if (now - last > 2) gaps.push({ at: last, ms: now - last });
      last = now;
    }, 1);
    await work();
    const end = performance.now();
    clearInterval(ticker);
    gaps.push({ at: last, ms: end - last });
    // GC entries are delivered after the fact.
    await new Promise((resolve) => setTimeout(resolve, 20));
    let longest = 0;
    let outside = 0;
    for (const g of gaps) {
      let gc = 0;
      for (const p of pauses) if (p.start >= g.at && p.start < g.at + g.ms) gc += p.duration;
      longest = Math.max(longest, g.ms - 1);
      outside = Math.max(outside, g.ms - 1 - gc);
    }
    pauses.length = 0;
    return { ms: longest, outsideGcMs: Math.max(0, outside) };
  };
  const blocks: Block[] = [];
  const between: Block[] = [];
  for (let k = 0; k < EXPORTS; k++) {
    const rm = input(k);
    blocks.push(
      await watch(
        () =>
          new Promise<void>((resolve, reject) =>
            exporter.export(rm, (r) => (r.error ? reject(r.error) : resolve())),
          ),
      ),
    );
    // Delivery, then what the exporter does before the next export (a reader's interval).
    between.push(await watch(async () => (await exporter.forceFlush(), await exporter.idle())));
  }
  observer.disconnect();
  await exporter.shutdown();
  const later = blocks.slice(2);
  return {
    kind,
    series: kind === 'counters' ? streams : streams * 15,
    protocol,
    first: blocks[0] as Block,
    second: blocks[1] as Block,
    steady: {
      ms: Math.max(...later.map((b) => b.ms)),
      outsideGcMs: Math.max(...later.map((b) => b.outsideGcMs)),
    },
    between: {
      ms: Math.max(...between.map((b) => b.ms)),
      outsideGcMs: Math.max(...between.map((b) => b.outsideGcMs)),
    },
    atomicMarking: process.execArgv.includes('--no-incremental-marking'),
  };
}

if (ranAlone(import.meta.url, 'blocks')) {
  const [streams = '10000', protocol = 'v1', kind = 'counters'] = process.argv.slice(2);
  const out = process.argv.indexOf('--out');
  const result = await measureBlocks(
    kind as BlockResult['kind'],
    Number(streams),
    protocol as BlockResult['protocol'],
  );
  if (out > 0) writeFileSync(process.argv[out + 1] as string, JSON.stringify(result));
  else console.log(JSON.stringify(result));
}
