/**
 * Snappy **block** format, as RW1 §Protocol requires (the framed/stream format is a classic
 * interop bug). The native `snappy` package compresses whole blocks.
 *
 * `copyOutputData: true`: by default the package hands its native output buffer to V8 as an
 * external buffer, and on glibc Linux that memory is never given back (RSS grows by about the
 * body's size at every call: Brooooooklyn/snappy#323), which also makes later calls slow while
 * the kernel supplies fresh pages. Copying the output into a V8-allocated buffer frees the native
 * one at once; test/snappy-memory.test.ts guards it.
 */
import { compressSync, uncompressSync } from 'snappy';

const COPY = { copyOutputData: true } as const;

export function snappyCompress(body: Uint8Array): Buffer {
  return compressSync(Buffer.from(body.buffer, body.byteOffset, body.byteLength), COPY);
}

export function snappyUncompress(body: Uint8Array): Buffer {
  return uncompressSync(Buffer.from(body.buffer, body.byteOffset, body.byteLength), {
    asBuffer: true,
    ...COPY,
  }) as Buffer;
}
