/**
 * How fast a backlog drains to a slow receiver with 1, 2, 4 and 8 shards
 * (`maxConcurrentRequests`): one export of SERIES counter series split into requests of
 * SAMPLES_PER_SEND, to a loopback receiver that answers each request after DELAY_MS. With one
 * request in flight per shard, the drain time is about requests × delay ÷ shards; the series of
 * a shard stay in order whatever the count. Run by bench/run.ts, or alone:
 *   node --import tsx bench/drain.ts
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExportResultCode } from '@opentelemetry/core';
import { PrometheusRemoteWriteExporter } from '../src/exporter.js';
import { ranAlone } from './results.js';
import { counterMetrics, streamPool } from './inputs.js';

const SERIES = 6_400;
const SAMPLES_PER_SEND = 100;
const DELAY_MS = 50;
export const DRAIN_SHARDS = [1, 2, 4, 8] as const;

export interface DrainResult {
  shards: number;
  requests: number;
  /** From the export's call to the end of the last answer. */
  drainMs: number;
  /** Most requests the receiver had at once. */
  maxInFlight: number;
}

export async function measureDrain(): Promise<DrainResult[]> {
  let inFlight = 0;
  let maxInFlight = 0;
  let requests = 0;
  const server = http.createServer((req, res) => {
    inFlight++;
    requests++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    req.resume();
    req.on('end', () =>
      setTimeout(() => {
        inFlight--;
        res.writeHead(204).end();
      }, DELAY_MS),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`;
  const pool = streamPool(SERIES);
  const out: DrainResult[] = [];
  try {
    for (const shards of DRAIN_SHARDS) {
      requests = 0;
      maxInFlight = 0;
      const exporter = new PrometheusRemoteWriteExporter({
        url,
        maxConcurrentRequests: shards,
        maxSamplesPerSend: SAMPLES_PER_SEND,
        withoutTargetInfo: true,
        flushTimeoutMillis: 60_000,
      });
      const rm = counterMetrics(pool, 0);
      const t0 = performance.now();
      const queued = await new Promise<number>((resolve) => exporter.export(rm, (r) => resolve(r.code)));
      if (queued !== ExportResultCode.SUCCESS) throw new Error(`export with ${shards} shard(s) failed`);
      await exporter.forceFlush();
      const drainMs = performance.now() - t0;
      const stats = exporter.stats();
      await exporter.shutdown();
      if (stats.samplesSent !== SERIES)
        throw new Error(`${shards} shard(s): ${stats.samplesSent} of ${SERIES} sent`);
      out.push({ shards, requests, drainMs, maxInFlight });
    }
  } finally {
    server.close();
  }
  return out;
}

if (ranAlone(import.meta.url, 'drain')) {
  for (const r of await measureDrain())
    console.log(
      `${r.shards} shard(s): ${r.requests} requests drained in ${r.drainMs.toFixed(0)} ms, ` +
        `at most ${r.maxInFlight} in flight`,
    );
}
