export { PrometheusRemoteWriteExporter } from './exporter.js';
export { InvalidOptionError, type PrometheusRemoteWriteExporterOptions } from './options.js';
export type { OAuth2Options, SigV4Options } from './options.js';
export type { AwsCredentials, AwsCredentialsProvider } from './deliver/auth/sigv4.js';
export type { HeadersFunction } from './deliver/auth/headers-function.js';
export { RemoteWriteError } from './deliver/sender.js';
export { flushOnExit, type FlushOnExitOptions, type Shutdownable } from './exit.js';
export {
  decodeWriteRequest,
  type DecodedWriteRequest,
  type DecodedTimeSeries,
  type DecodedLabel,
  type DecodedSample,
  type DecodedMetadata,
  type DecodedHistogram,
  type DecodedBucketSpan,
  decodeRequestV2,
  requestV2ToModel,
  writeRequestToModel,
  type DecodedRequestV2,
  type DecodedTimeSeriesV2,
  type DecodedSampleV2,
  type DecodedHistogramV2,
  type DecodedMetadataV2,
} from './wire/decode.js';
export type { DeliveryStats, DropReason } from './deliver/stats.js';
export type { Protocol } from './options.js';
export type { TlsOptions, Pem } from './deliver/tls.js';
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
export type { Compression } from './wire/snappy.js';
export type { Transport } from './runtime.js';
export { RemoteWriteClient, DEFAULT_BUCKETS, type RemoteWriteClientOptions } from './client/client.js';
export { RemoteWriteClientError, type Labels, type LabelValue, type Timestamp } from './client/validate.js';
export { formatDebugText, type DebugTextOptions } from './wire/debug-text.js';
export { startDebugReceiver, type DebugReceiver, type DebugReceiverOptions } from './cli/receiver.js';
