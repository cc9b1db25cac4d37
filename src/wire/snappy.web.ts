/**
 * snappy.ts for the build without Node-only imports (dist/web.js: Workers and other runtimes
 * without Node-API): the JavaScript encoder only, with the same exports.
 */
import { jsSnappy, type Compression, type SnappyCodec } from './snappy-js.js';

export type { Compression, SnappyCodec } from './snappy-js.js';
export { jsSnappy } from './snappy-js.js';

export const snappy: SnappyCodec = jsSnappy;
export const nativeSnappyProblem: string | undefined = 'this build has no native addon (Node-API)';
export const nativeSnappy: SnappyCodec | undefined = undefined;

export function snappyCodec(kind: Compression): SnappyCodec {
  if (kind === 'js') return jsSnappy;
  throw new Error(`the native snappy addon cannot be loaded: ${nativeSnappyProblem}`);
}

export function snappyCompress(body: Uint8Array): Buffer {
  return jsSnappy.compress(body);
}

export function snappyUncompress(body: Uint8Array): Buffer {
  return jsSnappy.uncompress(body);
}
