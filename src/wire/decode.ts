/**
 * Decoding of remote-write requests with protobufjs from the `.proto` files in `proto/`,
 * independent of the hand-written encoder: the test suite checks one against the other, and a
 * user's own test receiver can use it too.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { snappyUncompress } from './snappy.js';

export interface DecodedLabel {
  name: string;
  value: string;
}
export interface DecodedSample {
  value: number;
  timestamp: number;
}
export interface DecodedTimeSeries {
  labels: DecodedLabel[];
  samples: DecodedSample[];
}
export interface DecodedMetadata {
  type: string;
  metricFamilyName: string;
  help: string;
  unit: string;
}
export interface DecodedWriteRequest {
  timeseries: DecodedTimeSeries[];
  metadata: DecodedMetadata[];
}

let writeRequestType: protobuf.Type | undefined;

/** `proto/` ships with the package, next to `dist/` (and to `src/` in a checkout). */
function protoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'remote.proto'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('proto/remote.proto not found next to the package');
}

function writeRequest(): protobuf.Type {
  writeRequestType ??= protobuf
    .loadSync(join(protoDir(), 'remote.proto'))
    .lookupType('prometheus.WriteRequest');
  return writeRequestType;
}

/** Decodes a RW 1.0 request body; `compressed` (default true) says it is still snappy-compressed. */
export function decodeWriteRequest(
  body: Uint8Array,
  options: { compressed?: boolean } = {},
): DecodedWriteRequest {
  const raw = options.compressed === false ? body : snappyUncompress(body);
  const type = writeRequest();
  const message = type.decode(raw);
  return type.toObject(message, {
    longs: Number,
    enums: String,
    defaults: true,
    arrays: true,
  }) as DecodedWriteRequest;
}
