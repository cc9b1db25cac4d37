/**
 * A loopback remote-write receiver for what a real one cannot show: exact headers, raw bytes,
 * scripted answers. Every request is decoded with protobufjs from proto/ (decodeWriteRequest),
 * independently of the exporter's own encoder.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  decodeRequestV2,
  decodeWriteRequest,
  type DecodedRequestV2,
  type DecodedWriteRequest,
} from '../../src/wire/decode.js';
import { snappyUncompress } from '../../src/wire/snappy.js';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The body as sent (compressed). */
  body: Buffer;
  /** The body after snappy block decompression. */
  raw: Buffer;
  /** The body decoded as RW 1.0 (empty for a RW 2.0 body, as a 1.x receiver would see it). */
  decoded: DecodedWriteRequest;
  /** The body decoded as RW 2.0, when the Content-Type says so. */
  decodedV2?: DecodedRequestV2;
  /** performance.now() when the request had arrived whole. */
  at: number;
}

export interface Answer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Never answer. */
  hang?: boolean;
  /** Close the connection without answering, once the request has arrived. */
  destroy?: boolean;
  /** Answer with the X-Prometheus-Remote-Write-*-Written headers of what was received (as a 2.0 receiver). */
  written?: boolean;
}

export interface MockReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** Answers for the next requests, in order; after them, 204. */
  answers: Answer[];
  close(): Promise<void>;
}

export async function startMockReceiver(
  options: {
    path?: string;
    tls?: { key: Buffer; cert: Buffer };
    /** Answer for requests once `answers` is empty. Default 204. */
    fallback?: (req: ReceivedRequest) => Answer;
  } = {},
): Promise<MockReceiver> {
  const path = options.path ?? '/api/v1/write';
  const requests: ReceivedRequest[] = [];
  const answers: Answer[] = [];
  const hanging = new Set<http.ServerResponse>();
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const raw = snappyUncompress(body);
      const isV2 = (req.headers['content-type'] ?? '').includes('proto=io.prometheus.write.v2.Request');
      const received: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        raw,
        decoded: decodeWriteRequest(raw, { compressed: false }),
        at: performance.now(),
      };
      if (isV2) received.decodedV2 = decodeRequestV2(raw, { compressed: false });
      requests.push(received);
      const answer = answers.shift() ?? options.fallback?.(received) ?? { status: 204 };
      if (answer.hang) {
        hanging.add(res);
        return;
      }
      if (answer.destroy) {
        req.socket.destroy();
        return;
      }
      const reply = (): void => {
        res.writeHead(answer.status, {
          ...answer.headers,
          ...(answer.written ? writtenHeaders(received) : {}),
        });
        res.end(answer.body ?? '');
      };
      if (answer.delayMs) setTimeout(reply, answer.delayMs);
      else reply();
    });
  };
  const server = options.tls ? https.createServer(options.tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}${path}`,
    requests,
    answers,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Labels of a decoded series as an object. */
export function labelsOf(series: { labels: Array<{ name: string; value: string }> }): Record<string, string> {
  return Object.fromEntries(series.labels.map((l) => [l.name, l.value]));
}

/** All decoded series of all requests whose `__name__` is `name`. */
export function seriesNamed(requests: ReceivedRequest[], name: string) {
  return requests.flatMap((r) => r.decoded.timeseries).filter((s) => labelsOf(s)['__name__'] === name);
}

/** What a 2.0 receiver says it wrote: everything in the request. */
function writtenHeaders(req: ReceivedRequest): Record<string, string> {
  const series = req.decodedV2?.timeseries ?? req.decoded.timeseries;
  let samples = 0;
  let histograms = 0;
  for (const s of series) {
    samples += s.samples.length;
    histograms += s.histograms?.length ?? 0;
  }
  return {
    'X-Prometheus-Remote-Write-Samples-Written': String(samples),
    'X-Prometheus-Remote-Write-Histograms-Written': String(histograms),
    'X-Prometheus-Remote-Write-Exemplars-Written': '0',
  };
}
