/**
 * Snappy **block** format, as RW1 §Protocol requires (the framed/stream format is a classic
 * interop bug). The native `snappy` package compresses whole blocks; where it cannot load (no
 * Node-API, a bundle without `node_modules`, a platform without a prebuilt binary), the
 * pure-JavaScript encoder of snappy-js.ts takes over. The choice is made once, when this module
 * loads, and shows as `exporter.compression` and one `diag` line (exporter.ts).
 *
 * The addon is loaded with `require` inside a try, not a static import: a static import of a
 * missing addon fails the whole module graph at load, with nothing left to fall back on.
 *
 * `copyOutputData: true`: by default the package hands its native output buffer to V8 as an
 * external buffer, and on glibc Linux that memory is never given back (RSS grows by about the
 * body's size at every call: Brooooooklyn/snappy#323), which also makes later calls slow while
 * the kernel supplies fresh pages. Copying the output into a V8-allocated buffer frees the native
 * one at once; test/snappy-memory.test.ts guards it.
 */
import { createRequire } from 'node:module';
import type * as NativeSnappy from 'snappy';
import { jsSnappy, type Compression, type SnappyCodec } from './snappy-js.js';

export type { Compression, SnappyCodec } from './snappy-js.js';
export { jsSnappy } from './snappy-js.js';

const COPY = { copyOutputData: true } as const;

function asBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function nativeCodec(addon: typeof NativeSnappy): SnappyCodec {
  return {
    kind: 'native',
    compress: (body) => addon.compressSync(asBuffer(body), COPY),
    uncompress: (body) => addon.uncompressSync(asBuffer(body), { asBuffer: true, ...COPY }) as Buffer,
  };
}

/** The addon, or why it could not be used. */
function loadNative(): { codec: SnappyCodec } | { reason: string } {
  try {
    const addon = createRequire(import.meta.url)('snappy') as typeof NativeSnappy;
    const codec = nativeCodec(addon);
    // Loading can succeed and the first call still fail (a runtime with partial Node-API).
    codec.compress(new Uint8Array(16));
    return { codec };
  } catch (err) {
    return { reason: err instanceof Error ? err.message.split('\n')[0]! : String(err) };
  }
}

const loaded = loadNative();

/** The encoder in use: native when the addon loads, else JavaScript. */
export const snappy: SnappyCodec = 'codec' in loaded ? loaded.codec : jsSnappy;

/** Why the addon is not used (undefined when it is). */
export const nativeSnappyProblem: string | undefined = 'reason' in loaded ? loaded.reason : undefined;

/** The addon's encoder, for the benchmark and tests (undefined where it cannot load). */
export const nativeSnappy: SnappyCodec | undefined = 'codec' in loaded ? loaded.codec : undefined;

export function snappyCodec(kind: Compression): SnappyCodec {
  if (kind === 'js') return jsSnappy;
  if (!nativeSnappy) throw new Error(`the native snappy addon cannot be loaded: ${nativeSnappyProblem}`);
  return nativeSnappy;
}

export function snappyCompress(body: Uint8Array): Buffer {
  return snappy.compress(body);
}

export function snappyUncompress(body: Uint8Array): Buffer {
  return snappy.uncompress(body);
}
