export { PrometheusRemoteWriteExporter } from './exporter.js';
export { InvalidOptionError, type PrometheusRemoteWriteExporterOptions } from './options.js';
export { RemoteWriteError } from './deliver/sender.js';
export { flushOnExit, type FlushOnExitOptions, type Shutdownable } from './exit.js';
export {
  decodeWriteRequest,
  type DecodedWriteRequest,
  type DecodedTimeSeries,
  type DecodedLabel,
  type DecodedSample,
  type DecodedMetadata,
} from './wire/decode.js';
export { VERSION } from './version.js';
