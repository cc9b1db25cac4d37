/**
 * Snappy **block** format, as RW1 §Protocol requires (the framed/stream format is a classic
 * interop bug). The native `snappy` package compresses whole blocks.
 */
import { compressSync, uncompressSync } from 'snappy';

export function snappyCompress(body: Uint8Array): Buffer {
  return compressSync(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
}

export function snappyUncompress(body: Uint8Array): Buffer {
  return uncompressSync(Buffer.from(body.buffer, body.byteOffset, body.byteLength), {
    asBuffer: true,
  }) as Buffer;
}
