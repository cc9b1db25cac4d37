/**
 * The entry of dist/web.js, the build without Node-only imports (package.json `exports`
 * condition `workerd`): the exporter and the client, compressing with snappyjs and
 * sending with `fetch`. tsup.web.config.ts swaps each module `x.ts` that has an `x.web.ts` for it.
 * Not here: what needs a file system, a server or the process (decodeWriteRequest,
 * startDebugReceiver, flushOnExit).
 */
export { PrometheusRemoteWriteExporter } from './exporter.js';
export { InvalidOptionError, type PrometheusRemoteWriteExporterOptions } from './options.js';
export { RemoteWriteError } from './deliver/sender.js';
export type { DeliveryStats, DropReason } from './deliver/stats.js';
export type { Protocol } from './options.js';
export type { TranslationStrategy } from './translate/names.js';
export type {
  TimeSeries,
  Label,
  Sample,
  NativeHistogram,
  BucketSpan,
  MetricFamilyMetadata,
} from './model.js';
export { VERSION } from './version.js';
export { RemoteWriteClient, DEFAULT_BUCKETS, type RemoteWriteClientOptions } from './client/client.js';
export { RemoteWriteClientError, type Labels, type LabelValue, type Timestamp } from './client/validate.js';
export { formatDebugText, type DebugTextOptions } from './wire/debug-text.js';
export type { Compression } from './wire/snappy.js';
export type { Transport } from './runtime.js';
