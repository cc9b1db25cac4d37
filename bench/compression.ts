/**
 * The two snappy encoders side by side (wire/snappy.ts): the native `snappy` addon, which Node,
 * Bun and Deno load, and snappyjs, which Workers and runtimes without Node-API get. Both
 * compress the same uncompressed bodies, real requests of the exporter (10,000 counter series
 * cut into requests of ≤ 2000 samples, RW 1.0), alternately, and the medians of the time per
 * body are compared. Run alone with `node --import tsx bench/compression.ts`.
 */
import { PrometheusRemoteWriteExporter } from '../src/exporter.js';
import { jsSnappy, nativeSnappy, type SnappyCodec } from '../src/wire/snappy.js';
import { counterMetrics, streamPool } from './inputs.js';
import { emptyProfile, median, ranAlone } from './results.js';

export interface CompressionResult {
  encoder: 'native' | 'js';
  /** Median ms to compress one body. */
  msPerBody: number;
  /** Uncompressed MB per second. */
  mbPerSecond: number;
  /** Compressed ÷ uncompressed bytes. */
  ratio: number;
}

/** The uncompressed bodies of one export of 10,000 counters, as the exporter makes them. */
async function bodies(): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  const exporter = new PrometheusRemoteWriteExporter(
    { url: 'http://127.0.0.1:9/api/v1/write' },
    {
      post: async () => ({ status: 204, statusText: 'No Content', headers: {}, bodyPrefix: '' }),
      profile: { ...emptyProfile(), onBody: (raw) => out.push(raw.slice()) },
    },
  );
  await new Promise((resolve) => exporter.export(counterMetrics(streamPool(10_000), 1), resolve));
  await exporter.shutdown();
  return out;
}

export async function measureCompression(rounds = 30): Promise<CompressionResult[]> {
  const input = await bodies();
  const rawBytes = input.reduce((n, b) => n + b.byteLength, 0);
  const codecs: SnappyCodec[] = nativeSnappy ? [nativeSnappy, jsSnappy] : [jsSnappy];
  const times = new Map<SnappyCodec, number[]>(codecs.map((c) => [c, []]));
  const sizes = new Map<SnappyCodec, number>();
  for (let round = 0; round < rounds + 3; round++) {
    // Alternate which goes first, so that a drifting machine skews both alike.
    for (const codec of round % 2 === 0 ? codecs : [...codecs].reverse()) {
      const t0 = performance.now();
      let compressed = 0;
      for (const body of input) compressed += codec.compress(body).byteLength;
      const ms = performance.now() - t0;
      if (round >= 3) times.get(codec)!.push(ms / input.length); // the first rounds warm up
      sizes.set(codec, compressed);
    }
  }
  return codecs.map((codec) => {
    const msPerBody = median(times.get(codec)!);
    return {
      encoder: codec.kind,
      msPerBody,
      mbPerSecond: rawBytes / input.length / 1e6 / (msPerBody / 1000),
      ratio: sizes.get(codec)! / rawBytes,
    };
  });
}

export function compressionTable(results: CompressionResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.encoder === 'native' ? 'snappy (native addon)' : 'snappyjs (JavaScript)'} | ${r.msPerBody.toFixed(3)} | ` +
      `${r.mbPerSecond.toFixed(0)} | ${r.ratio.toFixed(3)} |`,
  );
  return [
    '| Encoder | ms per body | MB/s | Compressed ÷ raw |',
    '| --- | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

if (ranAlone(import.meta.url, 'compression')) {
  console.log(compressionTable(await measureCompression()));
}
