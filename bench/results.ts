import { emptyProfile, PrometheusRemoteWriteExporter, type ExportProfile } from '../src/exporter.js';

export { emptyProfile };
import type { PrometheusRemoteWriteExporterOptions } from '../src/options.js';
/**
 * What a workload's child process reports to the parent (JSON), and the small statistics both use.
 */

export const WORKLOAD_IDS = ['a', 'b', 'c', 'd', 'e'] as const;
export type WorkloadId = (typeof WORKLOAD_IDS)[number];

/** Milliseconds of one export: the `export()` call and its phases from the exporter's profile. */
export interface ExportTimes {
  /** The time the export held the thread: its slices, the sum of the profile's phases. */
  total: number;
  /** Each `…Ms` field of the profile, by name without `Ms` (translate, encode, compress…). */
  phases: Record<string, number>;
  /**
   * Wall time from the call to the callback − total: the event loop's turns between the slices
   * (where the delivery of the export's first requests starts).
   */
  other: number;
}

/** Median milliseconds per export of the other implementations, on the same series. */
export interface Comparison {
  /** Timed repetitions each median is taken over. */
  iterations: number;
  /** snappy alone (src/wire/snappy.ts) on our uncompressed bodies of one export. */
  snappyAlone: number;
  /**
   * The same, timed once right after each of our timed exports (outside their timed region), so
   * that both are measured over the same minutes of a machine whose speed drifts.
   */
  snappyInterleaved?: number;
  /** Median over our timed exports of (that export's time ÷ the snappy-alone pass after it). */
  oursOverSnappyInterleaved?: number;
  /** `prometheus-remote-write` 0.5.1 `pushTimeseries`, one awaited call per request of ours. */
  promRemoteWrite: number;
  /** protobufjs 8 reflection `fromObject` + `encode().finish()` + snappy (src/wire/snappy.ts), per request of ours. */
  protobufjs: number;
  /** `@opentelemetry/otlp-transformer` `ProtobufMetricsSerializer.serializeRequest` of the same ResourceMetrics. */
  otlp: number;
  /** Uncompressed bytes protobufjs produced for one export (ours: rawBytesPerExport). */
  protobufjsRawBytes: number;
  /** Bytes of the OTLP request for one export. */
  otlpBytes: number;
}

export interface WorkloadResult {
  id: WorkloadId;
  title: string;
  /** Data points (streams) per export. */
  streams: number;
  /** Exports made in all. */
  exports: number;
  /** Exports left out of the medians (the first ones). */
  warmup: number;
  /** Why fewer exports were made than planned, if so. */
  shortened: string | undefined;
  /** Samples in the request bodies of one (the last) export. */
  samplesPerExport: number;
  requestsPerExport: number;
  rawBytesPerExport: number;
  compressedBytesPerExport: number;
  /** The first export of the process. */
  cold: ExportTimes;
  /** The second (its series known, sent from the frames built after the first). */
  second: ExportTimes;
  /** Time spent building the first export's frames after it was delivered, before the second (ms). */
  framesBuiltAfterFirstMs: number;
  /**
   * The longest the event loop was held (monitorEventLoopDelay max, ms) during the first export,
   * the second, and any later one.
   */
  longestBlockMs: { first: number; second: number; steady: number };
  /** Medians over the exports after the warm-up (each phase's own median). */
  median: ExportTimes;
  /** Milliseconds to build one export's ResourceMetrics (outside the timed region), median. */
  buildMs: number;
  memory: {
    /** RSS right before the first export, input of that export built (KB). */
    baselineRssKB: number;
    /** process.resourceUsage().maxRSS when the first export starts (KB). */
    maxRssBeforeKB: number;
    /** process.resourceUsage().maxRSS after the last export (KB). */
    peakRssKB: number;
    /** process.resourceUsage().maxRSS when the first export calls back, every request of it queued (KB). */
    peakFirstRssKB: number;
    /** The same once the first export's frames were built after it (LaterFrame) (KB). */
    peakFramedRssKB: number;
    /** heapUsed after a full GC, after `heapEarlyAt` exports and after the last one (bytes). */
    heapEarly: number;
    heapEarlyAt: number;
    heapLate: number;
    /** After the last export and a full GC: RSS, and what V8 accounts for (heap + external). */
    endRss: number;
    endHeapTotal: number;
    endExternal: number;
  };
  comparison: Comparison | undefined;
}

/**
 * Whether the script `name` (bench/name.ts, or bench-build/name.js) was started itself, not
 * imported. Bundled into bench-build/run.js, a module's import.meta.url is run.js's: the file
 * name tells them apart.
 */
export function ranAlone(metaUrl: string, name: string): boolean {
  const started = process.argv[1];
  return (
    started !== undefined &&
    metaUrl === `file://${started}` &&
    (started.endsWith(`/${name}.ts`) || started.endsWith(`/${name}.js`))
  );
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * An exporter without a network: its `post` answers 204 as a 2.0 receiver would (the samples it
 * wrote), at once or, with `nextTurn`, on the next turn of the event loop as real I/O would.
 */
export function offlineExporter(
  options: Omit<PrometheusRemoteWriteExporterOptions, 'url'>,
  extra: { profile?: ExportProfile; nextTurn?: boolean } = {},
): PrometheusRemoteWriteExporter {
  return new PrometheusRemoteWriteExporter(
    { url: 'http://127.0.0.1:9/api/v1/write', ...options },
    {
      post: async (body) => {
        if (extra.nextTurn) await new Promise((resolve) => setImmediate(resolve));
        return {
          status: 204,
          statusText: 'No Content',
          bodyPrefix: '',
          headers: { 'x-prometheus-remote-write-samples-written': String(body.byteLength) },
        };
      },
      profile: extra.profile,
    },
  );
}
