/**
 * What the exporter keeps per live series: heap and memory outside the heap (frames, request
 * templates) after a few exports of the same 1M counter series, above a control that holds only
 * what an SDK holds anyway (its streams and one collection's ResourceMetrics). One process per
 * protocol (run.ts), with --expose-gc:
 *   node --expose-gc --import tsx bench/memory.ts 1000000 v1 [--out FILE]
 */
import { writeFileSync } from 'node:fs';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { counterMetrics, streamPool } from './inputs.js';
import { offlineExporter, ranAlone } from './results.js';

export interface MemoryResult {
  series: number;
  protocol: 'v1' | 'v2';
  /** Bytes per series on V8's heap above the control. */
  heapPerSeries: number;
  /** Bytes per series outside the heap (ArrayBuffers: frames, templates) above the control. */
  outsidePerSeries: number;
}

const EXPORTS = 4;

function settle(): { heap: number; outside: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, outside: m.arrayBuffers };
}

export async function measureMemory(
  series: number,
  protocol: MemoryResult['protocol'],
): Promise<MemoryResult> {
  const pool = streamPool(series);
  // The control: the SDK's streams and one collection, nothing else.
  let held: ResourceMetrics | undefined = counterMetrics(pool, 0);
  const control = settle();
  const exporter = offlineExporter({ protocol, markStaleWhenMissing: true, queueCapacity: 50_000_000 });
  for (let k = 0; k < EXPORTS; k++) {
    const rm: ResourceMetrics = k === 0 ? (held as ResourceMetrics) : counterMetrics(pool, k);
    await new Promise<void>((resolve, reject) =>
      exporter.export(rm, (r) => (r.error ? reject(r.error) : resolve())),
    );
    await exporter.forceFlush();
    // One collection held at the end, as in the control.
    held = rm;
  }
  const after = settle();
  const result = {
    series,
    protocol,
    heapPerSeries: (after.heap - control.heap) / series,
    outsidePerSeries: (after.outside - control.outside) / series,
  };
  // Still in use here, so that neither the exporter nor the input was collected before `after`.
  if (exporter.stats().samplesSent === 0 || held === undefined) throw new Error('nothing exported');
  return result;
}

if (ranAlone(import.meta.url, 'memory')) {
  const [series = '1000000', protocol = 'v1'] = process.argv.slice(2);
  const out = process.argv.indexOf('--out');
  const result = await measureMemory(Number(series), protocol as MemoryResult['protocol']);
  if (out > 0) writeFileSync(process.argv[out + 1] as string, JSON.stringify(result));
  else console.log(JSON.stringify(result));
}
