/**
 * A tiny remote-write receiver for developing a job before a real Prometheus exists: it decodes
 * every request and hands it on in the debug format (`prw receive`, `npm run example`, and the
 * sink of `prw push --dry-run`). Answers as Prometheus does: 204, 400 with the reason for a body
 * it cannot decode, 415 for an encoding or message type it does not know, 405 for non-POST.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricFamilyMetadata, TimeSeries } from '../model.js';
import {
  decodeRequestV2,
  decodeWriteRequest,
  requestV2ToModel,
  writeRequestToModel,
} from '../wire/decode.js';
import { formatDebugText } from '../wire/debug-text.js';
import { snappyUncompress } from '../wire/snappy.js';

export interface DebugReceiverOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1: only this machine can send. */
  host?: string;
  /** Print sample timestamps. Default false. */
  timestamps?: boolean;
  /** Gets the debug text of every request. Default: standard output. */
  onRequest?: (text: string) => void;
}

export interface DebugReceiver {
  /** `http://host:port/api/v1/write` (any path is accepted). */
  readonly url: string;
  readonly port: number;
  /** Requests decoded so far. */
  readonly received: number;
  close(): Promise<void>;
}

/** What one decoded request turns into: the model the debug text is made from. */
interface Decoded {
  series: TimeSeries[];
  metadata: Map<string, MetricFamilyMetadata>;
  /** RW 2.0 answers say how much was written. */
  written?: { samples: number; histograms: number; exemplars: number };
}

/** Decoders by protobuf message (`Content-Type: application/x-protobuf;proto=<message>`). */
const DECODERS: Readonly<Record<string, (raw: Buffer) => Decoded>> = {
  'prometheus.WriteRequest': (raw) => writeRequestToModel(decodeWriteRequest(raw, { compressed: false })),
  'io.prometheus.write.v2.Request': (raw) => {
    const request = decodeRequestV2(raw, { compressed: false });
    const model = requestV2ToModel(request);
    let samples = 0;
    let histograms = 0;
    let exemplars = 0;
    for (const ts of request.timeseries) {
      samples += ts.samples.length;
      histograms += ts.histograms.length;
      exemplars += ts.exemplars.length;
    }
    return { ...model, written: { samples, histograms, exemplars } };
  },
};

const MAX_BODY_BYTES = 64 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startDebugReceiver(options: DebugReceiverOptions = {}): Promise<DebugReceiver> {
  const onRequest = options.onRequest ?? ((text: string) => void process.stdout.write(text));
  let seq = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      try {
        if (size > MAX_BODY_BYTES) throw new HttpError(413, `body over ${MAX_BODY_BYTES} bytes`);
        const decoded = decode(req, Buffer.concat(chunks));
        onRequest(
          formatDebugText(++seq, decoded.series, decoded.metadata, { timestamps: options.timestamps }),
        );
        const headers: Record<string, string> = {};
        if (decoded.written) {
          headers['X-Prometheus-Remote-Write-Samples-Written'] = String(decoded.written.samples);
          headers['X-Prometheus-Remote-Write-Histograms-Written'] = String(decoded.written.histograms);
          headers['X-Prometheus-Remote-Write-Exemplars-Written'] = String(decoded.written.exemplars);
        }
        res.writeHead(204, headers).end();
      } catch (err) {
        const status = err instanceof HttpError ? err.status : 400;
        const reason = err instanceof Error ? err.message : String(err);
        res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(reason + '\n');
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port, family } = server.address() as AddressInfo;
  const host = family === 'IPv6' ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}/api/v1/write`,
    port,
    get received() {
      return seq;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function decode(req: http.IncomingMessage, body: Buffer): Decoded {
  if (req.method !== 'POST')
    throw new HttpError(405, `method ${req.method} not allowed: remote write is POST`);
  const encoding = (req.headers['content-encoding'] ?? '').toLowerCase();
  if (encoding !== 'snappy') {
    throw new HttpError(415, `Content-Encoding must be snappy, got ${JSON.stringify(encoding)}`);
  }
  const message = protoMessage(req.headers['content-type'] ?? '');
  const decoder = DECODERS[message];
  if (!decoder) throw new HttpError(415, `unsupported message type ${JSON.stringify(message)}`);
  let raw: Buffer;
  try {
    raw = snappyUncompress(body);
  } catch (err) {
    throw new HttpError(400, `body is not a snappy block: ${(err as Error).message}`);
  }
  try {
    return decoder(raw);
  } catch (err) {
    throw new HttpError(400, `cannot decode ${message}: ${(err as Error).message}`);
  }
}

/** `application/x-protobuf` is RW 1.0; `;proto=` names the message (RW 2.0 §Content-Type). */
function protoMessage(contentType: string): string {
  const [mediaType = '', ...params] = contentType.split(';').map((p) => p.trim());
  if (mediaType.toLowerCase() !== 'application/x-protobuf') {
    throw new HttpError(
      415,
      `Content-Type must be application/x-protobuf, got ${JSON.stringify(contentType)}`,
    );
  }
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq > 0 && p.slice(0, eq).trim() === 'proto') return p.slice(eq + 1).trim();
  }
  return 'prometheus.WriteRequest';
}
