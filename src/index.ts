// Everything dist/web.js has (web.ts), and what needs Node: options and types for TLS, OAuth2
// and SigV4, flushOnExit, the decoders and the debug receiver.
export * from './web.js';
export type { OAuth2Options, SigV4Options } from './options.js';
export type { AwsCredentials, AwsCredentialsProvider } from './deliver/auth/sigv4.js';
export type { HeadersFunction } from './deliver/auth/headers-function.js';
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
export type { TlsOptions, Pem } from './deliver/tls.js';
export { startDebugReceiver, type DebugReceiver, type DebugReceiverOptions } from './cli/receiver.js';
