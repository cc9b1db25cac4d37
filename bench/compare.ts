/**
 * The same export done by other means, to put the exporter's cost in perspective:
 * - snappy alone (the package's own call, src/wire/snappy.ts) on our uncompressed bodies: the floor (compression has to
 *   happen whatever the encoder);
 * - `prometheus-remote-write` 0.5.1 (protobufjs 7 static code + snappyjs), with a no-op fetch;
 * - protobufjs 8 reflection on `proto/remote.proto` + native snappy;
 * - the OTLP protobuf serializer of `@opentelemetry/otlp-transformer` (what the OTLP exporter pays).
 * The first three get the very labels and samples our exporter sent (decoded from our bodies),
 * ready-made, split into the same requests: they do not pay for translating OTel data, ours does.
 */
import { fileURLToPath } from 'node:url';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { pushTimeseries } from 'prometheus-remote-write';
import protobuf from 'protobufjs';
import { snappyCompress } from '../src/wire/snappy.js';
import { decodeWriteRequest, type DecodedWriteRequest } from '../src/wire/decode.js';
import { median, type Comparison } from './results.js';

/** prometheus-remote-write's input: labels as an object, `__name__` among them. */
interface PrwSeries {
  labels: { __name__: string; [name: string]: string };
  samples: { value: number; timestamp: number }[];
}

export interface CompareInput {
  /** Our uncompressed bodies of one export (copies). */
  readonly bodies: readonly Buffer[];
  /** Builds a fresh ResourceMetrics of the workload (outside the timed region). */
  readonly collect: () => ResourceMetrics;
  readonly iterations: number;
  readonly warmup: number;
  readonly log: (line: string) => void;
}

/** Runs `fn` warmup + iterations times; the median of the timed ones. */
async function timeMedian(
  warmup: number,
  iterations: number,
  fn: () => Promise<void> | void,
  before?: () => void,
): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < warmup + iterations; i++) {
    before?.();
    const t0 = performance.now();
    await fn();
    const t = performance.now() - t0;
    if (i >= warmup) times.push(t);
  }
  return median(times);
}

const noopResponse = { status: 204, statusText: 'No Content', text: async () => '' };

export async function compare(input: CompareInput): Promise<Comparison> {
  const { bodies, warmup, iterations, log } = input;
  const decoded: DecodedWriteRequest[] = bodies.map((b) => decodeWriteRequest(b, { compressed: false }));
  const seriesCount = decoded.reduce((n, r) => n + r.timeseries.length, 0);

  const snappyAlone = await timeMedian(warmup, iterations, () => {
    for (const body of bodies) snappyCompress(body);
  });
  log(`snappy alone ${snappyAlone.toFixed(2)} ms`);

  const prwRequests: PrwSeries[][] = decoded.map((r) =>
    r.timeseries.map((ts) => ({
      labels: Object.fromEntries(ts.labels.map((l) => [l.name, l.value])) as PrwSeries['labels'],
      samples: ts.samples.map((s) => ({ value: s.value, timestamp: s.timestamp })),
    })),
  );
  let prwSent: ArrayBufferLike[] = [];
  const prwOptions = {
    url: 'http://127.0.0.1:9/unused',
    fetch: async (_url: string, init?: { body: ArrayBufferLike }) => {
      if (init) prwSent.push(init.body);
      return noopResponse;
    },
  };
  const promRemoteWrite = await timeMedian(
    warmup,
    iterations,
    async () => {
      for (const request of prwRequests) {
        const result = await pushTimeseries(request, prwOptions);
        if (result.status !== 204) throw new Error(`prometheus-remote-write: ${result.statusText}`);
      }
    },
    () => (prwSent = []),
  );
  // Same series went out (checked on the last repetition's bodies).
  const prwSeries = prwSent.reduce(
    // snappyjs hands over a Uint8Array, typed ArrayBufferLike: converted here, outside the timed region.
    (n, body) => n + decodeWriteRequest(new Uint8Array(body)).timeseries.length,
    0,
  );
  if (prwSeries !== seriesCount)
    throw new Error(`prometheus-remote-write sent ${prwSeries} series, ours ${seriesCount}`);
  log(`prometheus-remote-write ${promRemoteWrite.toFixed(2)} ms`);

  const protoPath = fileURLToPath(new URL('../proto/remote.proto', import.meta.url));
  const WriteRequest = protobuf.loadSync(protoPath).lookupType('prometheus.WriteRequest');
  let protobufjsRawBytes = 0;
  const protobufjsMs = await timeMedian(
    warmup,
    iterations,
    () => {
      for (const request of decoded) {
        const raw = WriteRequest.encode(WriteRequest.fromObject(request)).finish();
        protobufjsRawBytes += raw.length;
        snappyCompress(raw);
      }
    },
    () => (protobufjsRawBytes = 0),
  );
  log(`protobufjs 8 + snappy ${protobufjsMs.toFixed(2)} ms`);

  let rm: ResourceMetrics | undefined;
  let otlpBytes = 0;
  const otlp = await timeMedian(
    warmup,
    iterations,
    () => {
      otlpBytes = ProtobufMetricsSerializer.serializeRequest(rm as ResourceMetrics)?.length ?? 0;
    },
    () => (rm = input.collect()),
  );
  if (otlpBytes === 0) throw new Error('OTLP serializer produced nothing');
  log(`OTLP protobuf ${otlp.toFixed(2)} ms`);

  return {
    iterations,
    snappyAlone,
    promRemoteWrite,
    protobufjs: protobufjsMs,
    otlp,
    protobufjsRawBytes,
    otlpBytes,
  };
}
