/**
 * Remote-Write 1.0 `prometheus.WriteRequest` encoder (proto/remote.proto, proto/types.proto).
 */
import type { MetricFamilyMetadata, TimeSeries } from '../model.js';
import { ProtobufWriter } from './protobuf-writer.js';

/** The stale marker NaN 0x7ff0000000000002, little-endian (RW1 §Stale Markers). */
export const STALE_NAN_BYTES = Uint8Array.from([0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);

// Field numbers, as upstream prompb.
const WRITE_REQUEST_TIMESERIES = 1;
const WRITE_REQUEST_METADATA = 3;
const TIMESERIES_LABELS = 1;
const TIMESERIES_SAMPLES = 2;
const LABEL_NAME = 1;
const LABEL_VALUE = 2;
const SAMPLE_VALUE = 1;
const SAMPLE_TIMESTAMP = 2;
const METADATA_TYPE = 1;
const METADATA_FAMILY = 2;
const METADATA_HELP = 4;
const METADATA_UNIT = 5;

/**
 * Encodes one request. `writer` is reused between calls to avoid reallocating its buffer; the
 * result is a view into it, valid until the writer's next use (the exporter compresses it at once).
 */
export function encodeWriteRequest(
  series: readonly TimeSeries[],
  metadata: readonly MetricFamilyMetadata[],
  writer: ProtobufWriter = new ProtobufWriter(),
): Buffer {
  writer.reset();
  for (const s of series) {
    const ts = writer.begin(WRITE_REQUEST_TIMESERIES);
    for (const label of s.labels) {
      const l = writer.begin(TIMESERIES_LABELS);
      if (label.name !== '') writer.string(LABEL_NAME, label.name);
      if (label.value !== '') writer.string(LABEL_VALUE, label.value);
      writer.end(l);
    }
    for (const sample of s.samples) {
      const m = writer.begin(TIMESERIES_SAMPLES);
      // proto3 leaves zero values out; so does this encoder, for the same bytes as protobufjs.
      if (sample.stale) writer.rawDouble(SAMPLE_VALUE, STALE_NAN_BYTES);
      else if (sample.value !== 0 || Object.is(sample.value, -0)) writer.double(SAMPLE_VALUE, sample.value);
      if (sample.timestampMs !== 0) writer.int64(SAMPLE_TIMESTAMP, sample.timestampMs);
      writer.end(m);
    }
    writer.end(ts);
  }
  for (const meta of metadata) {
    const m = writer.begin(WRITE_REQUEST_METADATA);
    if (meta.type !== 0) writer.uint(METADATA_TYPE, meta.type);
    if (meta.familyName) writer.string(METADATA_FAMILY, meta.familyName);
    if (meta.help) writer.string(METADATA_HELP, meta.help);
    if (meta.unit) writer.string(METADATA_UNIT, meta.unit);
    writer.end(m);
  }
  return writer.view();
}
