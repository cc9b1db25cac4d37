/**
 * The snappy **block** format (RW1 §Protocol) in plain JavaScript, for where the native addon
 * cannot load: Cloudflare Workers, a bundle without `node_modules`, a runtime without Node-API.
 * snappyjs writes the same format as the addon (a varint of the uncompressed length, then the
 * literal/copy elements of format_description.txt), so receivers cannot tell them apart; it is
 * slower (see `npm run bench`).
 */
import { compress, uncompress } from 'snappyjs';

/** Which encoder compresses the bodies: the `snappy` addon, or snappyjs. */
export type Compression = 'native' | 'js';

export interface SnappyCodec {
  readonly kind: Compression;
  compress(body: Uint8Array): Buffer;
  uncompress(body: Uint8Array): Buffer;
}

/**
 * snappyjs is given a plain Uint8Array view, so that it answers the same in every runtime (it
 * treats a Buffer specially only where it detects Node), and its answer is handed on as a Buffer
 * view without copying, as the native encoder's is (the queue and spool keep Buffers; Workers
 * have `Buffer` with the `nodejs_compat` flag the README asks for).
 */
function plain(body: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(body) === Uint8Array.prototype
    ? body
    : new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export const jsSnappy: SnappyCodec = {
  kind: 'js',
  compress: (body) => toBuffer(compress(plain(body))),
  uncompress: (body) => toBuffer(uncompress(plain(body))),
};
