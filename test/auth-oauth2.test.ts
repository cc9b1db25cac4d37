/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4) against a token endpoint started here on loopback,
 * with the mock receiver recording the Authorization header of every request.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import { PrometheusRemoteWriteExporter, type PrometheusRemoteWriteExporterOptions } from '../src/index.js';
import { AuthError } from '../src/deliver/auth/authorizer.js';
import { OAuth2Authorizer } from '../src/deliver/auth/oauth2.js';
import { startMockReceiver, type MockReceiver } from './helpers/mock-receiver.js';
import { exportOnce, point, resourceMetrics, sum } from './helpers/otel.js';

const CLIENT_ID = 'my client';
const CLIENT_SECRET = 's&cret:+/x';

interface TokenRequest {
  form: URLSearchParams;
  /** The Basic credentials, base64- and form-decoded. */
  id: string;
  secret: string;
  contentType: string | undefined;
}

interface TokenServer {
  url: string;
  requests: TokenRequest[];
  /** Answers for the next token requests, in order; after them, a fresh token valid 1 h. */
  answers: Array<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

async function startTokenServer(): Promise<TokenServer> {
  const requests: TokenRequest[] = [];
  const answers: Array<{ status: number; body: unknown }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // RFC 6749 §2.3.1: Basic over the form-urlencoded id and secret.
      const basic = Buffer.from(
        (req.headers.authorization ?? '').replace(/^Basic /, ''),
        'base64',
      ).toString();
      const [id = '', secret = ''] = basic.split(':');
      const formDecode = (s: string): string => decodeURIComponent(s.replace(/\+/g, ' '));
      requests.push({
        form: new URLSearchParams(Buffer.concat(chunks).toString()),
        id: formDecode(id),
        secret: formDecode(secret),
        contentType: req.headers['content-type'],
      });
      const answer = answers.shift() ?? {
        status: 200,
        body: { access_token: `token-${requests.length}`, token_type: 'Bearer', expires_in: 3600 },
      };
      res.writeHead(answer.status, { 'Content-Type': 'application/json' });
      res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/oauth2/token?tenant=x`,
    requests,
    answers,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const FAST = { minBackoffMillis: 20, maxBackoffMillis: 80, maxRetryElapsedMillis: 2000 };
const NOW = Date.now();
const metrics = (value: number) =>
  resourceMetrics([sum({ name: 'jobs' }, [point(value, {}, NOW + value, NOW - 60_000)])]);

let receiver: MockReceiver;
let tokens: TokenServer;
const exporters: PrometheusRemoteWriteExporter[] = [];

function exporter(
  options: Partial<PrometheusRemoteWriteExporterOptions> = {},
): PrometheusRemoteWriteExporter {
  const e = new PrometheusRemoteWriteExporter({
    url: receiver.url,
    ...FAST,
    oauth2: {
      tokenUrl: tokens.url,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      scopes: ['metrics:write', 'openid'],
      endpointParams: { audience: 'https://prom.example' },
    },
    ...options,
  });
  exporters.push(e);
  return e;
}

before(async () => {
  receiver = await startMockReceiver();
});
after(async () => {
  await receiver.close();
});
beforeEach(async () => {
  receiver.requests.length = 0;
  receiver.answers.length = 0;
  tokens = await startTokenServer();
});
afterEach(async () => {
  for (const e of exporters.splice(0)) await e.shutdown();
  await tokens.close();
});

describe('oauth2', () => {
  it('fetches a token with the client-credentials grant and sends it as Bearer; cached across requests', async () => {
    const e = exporter();
    for (let i = 1; i <= 3; i++)
      assert.equal((await exportOnce(e, metrics(i))).code, ExportResultCode.SUCCESS);

    assert.equal(tokens.requests.length, 1, 'one token for three requests');
    const t = tokens.requests[0]!;
    assert.equal(t.contentType, 'application/x-www-form-urlencoded');
    assert.equal(t.form.get('grant_type'), 'client_credentials');
    assert.equal(t.form.get('scope'), 'metrics:write openid');
    assert.equal(t.form.get('audience'), 'https://prom.example');
    assert.equal(t.id, CLIENT_ID);
    assert.equal(t.secret, CLIENT_SECRET);
    assert.deepEqual(
      receiver.requests.map((r) => r.headers.authorization),
      ['Bearer token-1', 'Bearer token-1', 'Bearer token-1'],
    );
  });

  it('a 401 from the receiver: exactly one new token and one retry of that request', async () => {
    const e = exporter();
    assert.equal((await exportOnce(e, metrics(1))).code, ExportResultCode.SUCCESS);
    receiver.answers.push({ status: 401, body: 'token revoked' });
    assert.equal((await exportOnce(e, metrics(2))).code, ExportResultCode.SUCCESS);

    assert.equal(tokens.requests.length, 2);
    assert.deepEqual(
      receiver.requests.map((r) => r.headers.authorization),
      ['Bearer token-1', 'Bearer token-1', 'Bearer token-2'],
    );
    assert.equal(receiver.requests[2]!.headers['retry-attempt'], undefined, 'the same attempt, not a retry');
    assert.deepEqual(receiver.requests[1]!.body, receiver.requests[2]!.body);
  });

  it('a second 401 in a row is the answer: permanent, the request is dropped as rejected', async () => {
    const e = exporter();
    receiver.answers.push({ status: 401, body: 'no' }, { status: 401, body: 'still no' });
    const result = await exportOnce(e, metrics(1));
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(result.error!.message, /HTTP 401.*still no/);
    assert.equal(receiver.requests.length, 2);
    assert.equal(tokens.requests.length, 2);
    assert.equal(e.stats().samplesDropped.rejected, 1);
  });

  it('a token endpoint that answers 503 is retried with backoff, then the data is delivered', async () => {
    tokens.answers.push({ status: 503, body: 'busy' }, { status: 503, body: 'busy' });
    const e = exporter();
    assert.equal((await exportOnce(e, metrics(1))).code, ExportResultCode.SUCCESS);
    assert.equal(tokens.requests.length, 3);
    assert.equal(receiver.requests.length, 1);
    assert.equal(receiver.requests[0]!.headers.authorization, 'Bearer token-3');
  });

  it('a token endpoint that is down: a retryable error naming oauth2.tokenUrl, without its query or the secret', async () => {
    await tokens.close();
    const e = exporter({ maxRetryElapsedMillis: 300 });
    const result = await exportOnce(e, metrics(1));
    assert.equal(result.code, ExportResultCode.FAILED);
    const message = result.error!.message;
    assert.match(
      message,
      /oauth2: no token from the token endpoint http:\/\/127\.0\.0\.1:\d+\/oauth2\/token \(oauth2\.tokenUrl\): .*ECONNREFUSED/,
    );
    assert.ok(!message.includes('tenant=x') && !message.includes(CLIENT_SECRET), message);
    assert.equal(receiver.requests.length, 0);
    assert.equal(e.stats().samplesDropped.retries_exhausted, 1, 'retried until the budget was spent');
    assert.equal(e.stats().samplesDropped.rejected, 0);
  });

  it('a token endpoint that refuses the client (HTTP 401 invalid_client): permanent, with its error code', async () => {
    tokens.answers.push({ status: 401, body: { error: 'invalid_client', error_description: 'bad secret' } });
    const e = exporter();
    const result = await exportOnce(e, metrics(1));
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(result.error!.message, /answered HTTP 401: "invalid_client" \("bad secret"\)/);
    assert.equal(tokens.requests.length, 1, 'not retried');
    assert.equal(e.stats().samplesDropped.rejected, 1);
  });
});

describe('OAuth2Authorizer', () => {
  const request = { url: new URL('http://127.0.0.1:9/w'), headers: {}, body: new Uint8Array() };

  it('renews the token shortly before expires_in runs out, and not before', async () => {
    let now = 1_000_000;
    tokens.answers.push(
      { status: 200, body: { access_token: 'a', token_type: 'bearer', expires_in: 3600 } },
      { status: 200, body: { access_token: 'b', expires_in: '5' } },
    );
    const auth = new OAuth2Authorizer(
      {
        tokenUrl: new URL(tokens.url),
        clientId: 'i',
        clientSecret: 's',
        scopes: [],
        endpointParams: {},
      },
      { timeoutMillis: 5000, now: () => now },
    );
    assert.deepEqual(await auth.headers(request), { Authorization: 'Bearer a' });
    now += 3_589_999; // 1 h less the 10 s margin
    assert.deepEqual(await auth.headers(request), { Authorization: 'Bearer a' });
    now += 1;
    assert.deepEqual(await auth.headers(request), { Authorization: 'Bearer b' });
    now += 4_499; // a 5 s token is renewed 10 % (0.5 s) early
    assert.deepEqual(await auth.headers(request), { Authorization: 'Bearer b' });
    now += 1;
    assert.deepEqual(await auth.headers(request), { Authorization: 'Bearer token-3' });
    assert.equal(tokens.requests.length, 3);
    assert.equal(tokens.requests[0]!.form.get('scope'), null, 'no scope parameter without scopes');
  });

  it('attempts that need a token at once share one token request', async () => {
    const auth = new OAuth2Authorizer(
      { tokenUrl: new URL(tokens.url), clientId: 'i', clientSecret: 's', scopes: [], endpointParams: {} },
      { timeoutMillis: 5000 },
    );
    const all = await Promise.all([auth.headers(request), auth.headers(request), auth.headers(request)]);
    assert.deepEqual(
      all.map((h) => h['Authorization']),
      ['Bearer token-1', 'Bearer token-1', 'Bearer token-1'],
    );
    assert.equal(tokens.requests.length, 1);
  });

  it('refuses answers without a usable token, never quoting the token', async () => {
    const cases: Array<[unknown, RegExp, boolean]> = [
      ['<html>proxy error</html>', /not a JSON object/, false],
      [{ token_type: 'Bearer' }, /without an access_token/, false],
      [{ access_token: 'tok\r\nX: 1' }, /access_token that cannot be sent in a header/, true],
      [{ access_token: 'hunter2', token_type: 'mac' }, /token_type "mac", not Bearer/, true],
    ];
    for (const [body, message, permanent] of cases) {
      tokens.answers.push({ status: 200, body });
      const auth = new OAuth2Authorizer(
        { tokenUrl: new URL(tokens.url), clientId: 'i', clientSecret: 's', scopes: [], endpointParams: {} },
        { timeoutMillis: 5000 },
      );
      await assert.rejects(auth.headers(request), (err: Error) => {
        assert.ok(err instanceof AuthError);
        assert.match(err.message, message);
        assert.equal(err.permanent, permanent);
        assert.ok(!err.message.includes('hunter2') && !err.message.includes('tok\r'));
        return true;
      });
    }
  });
});
