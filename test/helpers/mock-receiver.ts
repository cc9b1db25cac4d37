/**
 * A loopback remote-write receiver for what a real one cannot show: exact headers, raw bytes,
 * scripted answers. Every request is decoded with protobufjs from proto/ (decodeWriteRequest),
 * independently of the exporter's own encoder.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { decodeWriteRequest, type DecodedWriteRequest } from '../../src/wire/decode.js';
import { snappyUncompress } from '../../src/wire/snappy.js';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The body as sent (compressed). */
  body: Buffer;
  /** The body after snappy block decompression. */
  raw: Buffer;
  decoded: DecodedWriteRequest;
}

export interface Answer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Never answer. */
  hang?: boolean;
}

export interface MockReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** Answers for the next requests, in order; after them, 204. */
  answers: Answer[];
  close(): Promise<void>;
}

export async function startMockReceiver(
  options: { path?: string; tls?: { key: Buffer; cert: Buffer } } = {},
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
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        raw,
        decoded: decodeWriteRequest(raw, { compressed: false }),
      });
      const answer = answers.shift() ?? { status: 204 };
      if (answer.hang) {
        hanging.add(res);
        return;
      }
      const reply = (): void => {
        res.writeHead(answer.status, answer.headers);
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
