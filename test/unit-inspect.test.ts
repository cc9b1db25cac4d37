/**
 * Nothing an exporter or client prints of itself (util.inspect, console.log, JSON.stringify)
 * shows a header value, a credential, or the URL's user info or query string.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { format, inspect } from 'node:util';
import { PrometheusRemoteWriteExporter, RemoteWriteClient } from '../src/index.js';

const SECRETS = ['s3cr3t-pass', 'bearer-t0ken', 'qu3ry-key', 'h3ader-key', 'us3r'];

/** Every way the object can be printed. */
function printed(object: object): string[] {
  return [
    inspect(object),
    inspect(object, { depth: Infinity, showHidden: true }),
    format('%o', object),
    format('%O', object),
    format('%j', object),
    JSON.stringify(object),
    String(inspect({ nested: { deeper: object } }, { depth: 5 })),
  ];
}

function assertNoSecret(texts: string[], extra: string[] = []): void {
  for (const text of texts) {
    for (const secret of [...SECRETS, ...extra]) assert.ok(!text.includes(secret), `${secret} in ${text}`);
  }
}

const base64 = (s: string) => Buffer.from(s).toString('base64');

describe('printing an exporter shows no secret', () => {
  const exporters: Array<[string, () => PrometheusRemoteWriteExporter, string[]]> = [
    [
      'user info and query in the URL',
      () =>
        new PrometheusRemoteWriteExporter({
          url: 'https://us3r:s3cr3t-pass@example.test:9443/api/v1/write?api_key=qu3ry-key',
        }),
      [base64('us3r:s3cr3t-pass')],
    ],
    [
      'a bearer token and a custom header',
      () =>
        new PrometheusRemoteWriteExporter({
          url: 'http://127.0.0.1:9/api/v1/write',
          bearerToken: 'bearer-t0ken',
          headers: { 'X-Api-Key': 'h3ader-key' },
        }),
      [],
    ],
    [
      'a proxy with credentials',
      () =>
        new PrometheusRemoteWriteExporter({
          url: 'https://127.0.0.1:9/api/v1/write',
          proxy: 'http://us3r:s3cr3t-pass@127.0.0.1:3128',
        }),
      [base64('us3r:s3cr3t-pass')],
    ],
    [
      'basic auth',
      () =>
        new PrometheusRemoteWriteExporter({
          url: 'http://127.0.0.1:9/api/v1/write',
          basicAuth: { username: 'us3r', password: 's3cr3t-pass' },
          debug: () => {},
        }),
      [base64('us3r:s3cr3t-pass')],
    ],
  ];
  for (const [what, make, extra] of exporters) {
    it(what, async () => {
      const exporter = make();
      const texts = printed(exporter);
      assertNoSecret(texts, extra);
      assert.match(texts[0]!, /^PrometheusRemoteWriteExporter \{/);
      assert.match(
        texts[0]!,
        /url: '(https:\/\/example\.test:9443|https?:\/\/127\.0\.0\.1:9)\/api\/v1\/write'/,
      );
      assert.match(texts[0]!, /samplesSent: 0/);
      // The resolved options, reachable from JavaScript despite `private`.
      const options = (exporter as unknown as { options: object }).options;
      assertNoSecret(printed(options), extra);
      assert.match(inspect(options), /^ResolvedOptions \{/);
      await exporter.shutdown();
    });
  }

  it('header names stay visible, their values do not', async () => {
    const exporter = new PrometheusRemoteWriteExporter({
      url: 'http://127.0.0.1:9/api/v1/write',
      headers: { 'X-Scope-OrgID': 'tenant-h3ader-key' },
    });
    const text = inspect(exporter);
    assert.match(text, /'X-Scope-OrgID': '\[redacted\]'/);
    assertNoSecret([text]);
    await exporter.shutdown();
  });
});

describe('printing a RemoteWriteClient shows no secret', () => {
  it('bearer token, header and URL query', async () => {
    const client = new RemoteWriteClient({
      url: 'http://127.0.0.1:9/api/v1/write?token=qu3ry-key',
      bearerToken: 'bearer-t0ken',
      headers: { 'X-Api-Key': 'h3ader-key' },
      flushOnExit: false,
    });
    const texts = printed(client);
    assertNoSecret(texts);
    assert.match(texts[0]!, /^RemoteWriteClient \{/);
    assert.match(texts[0]!, /url: 'http:\/\/127\.0\.0\.1:9\/api\/v1\/write'/);
    await client.close();
  });
});
