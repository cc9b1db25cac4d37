/**
 * SigV4: the AWS Signature Version 4 test-suite vectors that fit a POST, signed by the path the
 * exporter uses; and a loopback receiver that checks every request's signature with its own
 * implementation (node:crypto, written here from the AWS documentation's steps), answering 403
 * when it does not match, as Amazon Managed Prometheus would.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import { PrometheusRemoteWriteExporter, type PrometheusRemoteWriteExporterOptions } from '../src/index.js';
import { createSigV4Signer } from '../src/deliver/auth/sigv4.js';
import { startMockReceiver, type MockReceiver, type ReceivedRequest } from './helpers/mock-receiver.js';
import { exportOnce, point, resourceMetrics, sum } from './helpers/otel.js';

// The test suite's facts: credentials, scope and time of every vector.
const SUITE_CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const SUITE_DATE = new Date('2015-08-30T12:36:00Z');
const SUITE_TOKEN =
  'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==';

interface Vector {
  name: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  signedHeaders: string;
  signature: string;
  sessionToken?: string;
}

const VECTORS: Vector[] = [
  {
    name: 'post-vanilla',
    path: '/',
    headers: {},
    body: '',
    signedHeaders: 'host;x-amz-date',
    signature: '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b',
  },
  {
    name: 'post-vanilla-query',
    path: '/?Param1=value1',
    headers: {},
    body: '',
    signedHeaders: 'host;x-amz-date',
    signature: '28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11',
  },
  {
    name: 'post-header-key-case',
    path: '/',
    headers: { 'MY-HEADER1': 'value1' },
    body: '',
    signedHeaders: 'host;my-header1;x-amz-date',
    signature: 'c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c',
  },
  {
    name: 'post-header-value-case',
    path: '/',
    headers: { 'My-Header1': 'VALUE1' },
    body: '',
    signedHeaders: 'host;my-header1;x-amz-date',
    signature: 'cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d',
  },
  {
    name: 'post-x-www-form-urlencoded',
    path: '/',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'Param1=value1',
    signedHeaders: 'content-type;host;x-amz-date',
    signature: 'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a',
  },
  {
    name: 'post-sts-header-before',
    path: '/',
    headers: {},
    body: '',
    sessionToken: SUITE_TOKEN,
    signedHeaders: 'host;x-amz-date;x-amz-security-token',
    signature: '85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead',
  },
];

function authorization(v: Vector, region = 'us-east-1', service = 'service'): string {
  return (
    `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/${region}/${service}/aws4_request, ` +
    `SignedHeaders=${v.signedHeaders}, Signature=${v.signature}`
  );
}

// ---- An independent SigV4 check, from the documented steps -------------------------------------

const hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** RFC 3986 unreserved characters stay; everything else is %XX (upper case). */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

interface SignedRequest {
  method: string;
  /** The request target as sent: path and query. */
  target: string;
  /** Lower-case names. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** The signature a server computes for `request` with `secret` (canonical request → string to sign → HMAC chain). */
function expectedSignature(request: SignedRequest, secret: string): { signature: string; problem?: string } {
  const auth = String(request.headers['authorization'] ?? '');
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) return { signature: '', problem: 'no SigV4 Authorization header' };
  const [, , day, region, service, signedHeaders] = m as unknown as string[];
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  if (!amzDate.startsWith(day!)) return { signature: '', problem: 'x-amz-date does not match the scope' };

  const [path = '', query = ''] = request.target.split('?');
  // Not S3: each path segment is URI-encoded once more (the path as sent is encoded already).
  const canonicalUri = path
    .split('/')
    .map((s) => uriEncode(s))
    .join('/');
  const canonicalQuery = query
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const [k = '', v = ''] = p.split('=');
      return [uriEncode(decodeURIComponent(k)), uriEncode(decodeURIComponent(v))];
    })
    .sort(([a, av], [b, bv]) => (a! < b! ? -1 : a! > b! ? 1 : av! < bv! ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const names = signedHeaders!.split(';');
  const canonicalHeaders = names
    .map(
      (n) =>
        `${n}:${String(request.headers[n] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const canonicalRequest = [
    request.method,
    canonicalUri,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders,
    hex(request.body),
  ].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day!), region!), service!), 'aws4_request');
  return { signature: createHmac('sha256', key).update(stringToSign).digest('hex') };
}

function verify(request: SignedRequest, secret: string): boolean {
  const { signature, problem } = expectedSignature(request, secret);
  return problem === undefined && String(request.headers['authorization']).endsWith(`Signature=${signature}`);
}

// ---- The vectors -------------------------------------------------------------------------------

describe('SigV4 test-suite vectors (POST), through the signing path of the exporter', () => {
  for (const v of VECTORS) {
    it(v.name, async () => {
      const signer = await createSigV4Signer({
        region: 'us-east-1',
        service: 'service',
        credentials: { ...SUITE_CREDENTIALS, ...(v.sessionToken ? { sessionToken: v.sessionToken } : {}) },
      });
      const url = new URL(`https://example.amazonaws.com${v.path}`);
      const added = await signer.sign({ url, headers: v.headers, body: Buffer.from(v.body) }, SUITE_DATE);
      const lower = Object.fromEntries(Object.entries(added).map(([k, val]) => [k.toLowerCase(), val]));
      assert.equal(lower['authorization'], authorization(v));
      assert.equal(lower['x-amz-date'], '20150830T123600Z');
      assert.equal(lower['x-amz-security-token'], v.sessionToken);
      assert.equal(lower['x-amz-content-sha256'], undefined, 'the payload hash is in the canonical request');

      // The test's own verifier gives the same answer for the same request.
      const request: SignedRequest = {
        method: 'POST',
        target: v.path,
        headers: {
          ...Object.fromEntries(Object.entries(v.headers).map(([k, val]) => [k.toLowerCase(), val])),
          host: 'example.amazonaws.com',
          ...lower,
        },
        body: Buffer.from(v.body),
      };
      assert.ok(verify(request, SUITE_CREDENTIALS.secretAccessKey));
      assert.ok(!verify({ ...request, body: Buffer.from('tampered') }, SUITE_CREDENTIALS.secretAccessKey));
    });
  }
});

// ---- Against a verifying receiver --------------------------------------------------------------

const SECRET = 'receiver-known-secret-key';
const NOW = Date.now();
const metrics = (value: number) =>
  resourceMetrics([sum({ name: 'jobs' }, [point(value, { q: 'a b/c' }, NOW + value, NOW - 60_000)])]);

let receiver: MockReceiver;
before(async () => {
  receiver = await startMockReceiver({
    path: '/workspaces/ws-1234/api/v1/remote_write',
    fallback: (req: ReceivedRequest) => {
      const ok = verify(
        { method: req.method, target: req.path, headers: req.headers, body: req.body },
        SECRET,
      );
      return ok
        ? { status: 200 }
        : { status: 403, body: 'The request signature we calculated does not match' };
    },
  });
});
after(async () => {
  await receiver.close();
});
beforeEach(() => {
  receiver.requests.length = 0;
});

async function send(options: Partial<PrometheusRemoteWriteExporterOptions>) {
  const e = new PrometheusRemoteWriteExporter({
    url: `${receiver.url}?extra=1`,
    minBackoffMillis: 20,
    maxBackoffMillis: 80,
    maxRetryElapsedMillis: 2000,
    ...options,
  });
  try {
    return { result: await exportOnce(e, metrics(1)), stats: e.stats() };
  } finally {
    await e.shutdown();
  }
}

describe('sigv4 against a receiver that checks the signature', () => {
  it('signs the body, the protocol headers, the tenant and every retry', async () => {
    receiver.answers.push({ status: 503 });
    const { result } = await send({
      sigv4: { region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: SECRET } },
      tenant: 'team-a',
    });
    assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message);
    assert.equal(receiver.requests.length, 2);
    const retry = receiver.requests[1]!;
    assert.equal(retry.headers['retry-attempt'], '1');
    const auth = String(retry.headers.authorization);
    assert.match(auth, /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/eu-west-1\/aps\/aws4_request, /);
    const signed = /SignedHeaders=([^,]+)/.exec(auth)![1]!.split(';');
    for (const h of [
      'content-encoding',
      'content-type',
      'host',
      'retry-attempt',
      'x-amz-date',
      'x-prometheus-remote-write-version',
      'x-scope-orgid',
    ]) {
      assert.ok(signed.includes(h), `${h} is signed`);
    }
    assert.ok(verify({ ...retry, target: retry.path }, SECRET));
  });

  it('the verifier refuses a wrong key: 403, permanent', async () => {
    const { result, stats } = await send({
      sigv4: { region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'wrong' } },
    });
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(result.error!.message, /HTTP 403.*signature we calculated does not match/);
    assert.equal(stats.samplesDropped.rejected, 1);
    assert.ok(!result.error!.message.includes('wrong'));
  });

  it('temporary credentials from a provider: X-Amz-Security-Token is sent and signed; the provider is asked once', async () => {
    let calls = 0;
    const { result } = await send({
      sigv4: {
        region: 'us-east-1',
        credentials: async () => {
          calls++;
          return {
            accessKeyId: 'ASIATEST',
            secretAccessKey: SECRET,
            sessionToken: 'session-token',
            expiration: new Date(Date.now() + 3_600_000),
          };
        },
      },
    });
    assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message);
    const h = receiver.requests[0]!.headers;
    assert.equal(h['x-amz-security-token'], 'session-token');
    assert.match(String(h.authorization), /SignedHeaders=[^,]*x-amz-security-token/);
    assert.equal(calls, 1);
  });

  it('without credentials, the AWS default chain is used (here: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)', async () => {
    const saved = { ...process.env };
    process.env['AWS_ACCESS_KEY_ID'] = 'AKIDFROMENV';
    process.env['AWS_SECRET_ACCESS_KEY'] = SECRET;
    delete process.env['AWS_SESSION_TOKEN'];
    process.env['AWS_REGION'] = 'ap-south-1';
    try {
      const { result } = await send({ sigv4: {} });
      assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message);
      assert.match(
        String(receiver.requests[0]!.headers.authorization),
        /Credential=AKIDFROMENV\/\d{8}\/ap-south-1\/aps\//,
      );
    } finally {
      for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });

  it('a credentials provider that fails: retried, with a message naming sigv4.credentials', async () => {
    const { result, stats } = await send({
      sigv4: { region: 'us-east-1', credentials: () => Promise.reject(new Error('IMDS unreachable')) },
      maxRetryElapsedMillis: 200,
    });
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(result.error!.message, /sigv4: no AWS credentials \(sigv4\.credentials\): IMDS unreachable/);
    assert.equal(stats.samplesDropped.retries_exhausted, 1);
    assert.equal(receiver.requests.length, 0);
  });
});

describe('sigv4 without the AWS packages installed', () => {
  it('fails each request as permanent with a message saying what to install', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prw-sigv4-'));
    try {
      // A resolve hook that hides the AWS packages, as if they were not installed.
      writeFileSync(
        join(dir, 'hide.mjs'),
        `export async function resolve(specifier, context, next) {
          if (/^@(smithy|aws-sdk)\\//.test(specifier)) {
            throw Object.assign(new Error("Cannot find package '" + specifier + "'"), { code: 'ERR_MODULE_NOT_FOUND' });
          }
          return next(specifier, context);
        }`,
      );
      writeFileSync(
        join(dir, 'register.mjs'),
        `import { register } from 'node:module';\nregister('./hide.mjs', import.meta.url);`,
      );
      const script = `
        import { PrometheusRemoteWriteExporter } from ${JSON.stringify(new URL('../src/index.ts', import.meta.url).href)};
        import { exportOnce, point, resourceMetrics, sum } from ${JSON.stringify(new URL('./helpers/otel.ts', import.meta.url).href)};
        const e = new PrometheusRemoteWriteExporter({ url: 'http://127.0.0.1:9/w', sigv4: { region: 'us-east-1' } });
        const r = await exportOnce(e, resourceMetrics([sum({ name: 'x' }, [point(1, {}, Date.now(), Date.now() - 1000)])]));
        console.log(JSON.stringify({ code: r.code, message: r.error?.message, rejected: e.stats().samplesDropped.rejected }));
        await e.shutdown();`;
      const child = spawnSync(
        process.execPath,
        ['--import', 'tsx', '--import', join(dir, 'register.mjs'), '--input-type=module', '-e', script],
        { encoding: 'utf8', timeout: 30_000 },
      );
      const line = child.stdout.trim().split('\n').pop() ?? '';
      const out = JSON.parse(line) as { code: number; message: string; rejected: number };
      assert.equal(out.code, ExportResultCode.FAILED);
      assert.match(
        out.message,
        /sigv4 needs the AWS SDK packages @smithy\/signature-v4 @smithy\/hash-node @aws-sdk\/credential-provider-node \(optional peer dependencies\): npm install @smithy\/signature-v4 @smithy\/hash-node @aws-sdk\/credential-provider-node/,
      );
      assert.equal(out.rejected, 1, 'permanent: not retried');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
