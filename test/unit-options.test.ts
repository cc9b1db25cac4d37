import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { PrometheusRemoteWriteExporter, InvalidOptionError, VERSION } from '../src/index.js';
import { resolveOptions, type PrometheusRemoteWriteExporterOptions } from '../src/options.js';

const url = 'http://127.0.0.1:9/api/v1/write';

describe('options', () => {
  // [options, the option the message must name, a phrase it must hold]
  const bad: Array<[unknown, RegExp]> = [
    [{}, /"url" is required/],
    [{ url: '' }, /"url" is required/],
    [{ url: 'not a url' }, /"url" must be an absolute http/],
    [{ url: 'ftp://h/x' }, /"url" must use http/],
    [{ url, timeoutMillis: -1 }, /"timeoutMillis" must be a positive number.*got -1/],
    [{ url, timeoutMillis: Infinity }, /"timeoutMillis"/],
    [{ url, timeoutMillis: '5' }, /"timeoutMillis"/],
    [{ url, headers: { 'X-Tenant': 987654321 } }, /"headers\.X-Tenant" must be a string, not a number$/],
    [{ url, headers: 'x' }, /"headers" must be an object/],
    [{ url, headers: { 'content-type': 'text/plain' } }, /"headers\.content-type" cannot be set/],
    [{ url, headers: { 'User-Agent': 'me' } }, /"headers\.User-Agent" cannot be set/],
    [{ url, headers: { 'X-Prometheus-Remote-Write-Version': '2.0.0' } }, /cannot be set/],
    [
      { url, basicAuth: { username: 'u', password: 'p' }, bearerToken: 't' },
      /"basicAuth and bearerToken" cannot be used together/,
    ],
    [{ url: 'http://u:p@h/w', bearerToken: 't' }, /cannot be used together/],
    [{ url, basicAuth: { username: 'u' } }, /"basicAuth" must be \{ username: string, password: string \}/],
    [{ url, bearerToken: '' }, /"bearerToken" must be a non-empty string/],
    [{ url, namespace: '@@@' }, /"namespace" has no character valid in a Prometheus name/],
    [{ url, namespace: 5 }, /"namespace" must be a string, got 5/],
    [{ url, externalLabels: { 'bad-name': 'x' } }, /"externalLabels\.bad-name" must be a label name/],
    [{ url, externalLabels: { __name__: 'x' } }, /"externalLabels\.__name__"/],
    [{ url, externalLabels: { env: '' } }, /"externalLabels\.env" must not be empty/],
    [{ url, promoteResourceAttributes: 'some' }, /"promoteResourceAttributes" must be an array/],
    [{ url, sendMetadata: 'yes' }, /"sendMetadata" must be true or false/],
    [{ url, agent: 5 }, /"agent" must be an http\.Agent/],
    [{ url, headers: { 'Retry-Attempt': '1' } }, /"headers\.Retry-Attempt" cannot be set/],
    [{ url, debug: 'yes' }, /"debug" must be true, false or a function/],
    [{ url, protocol: 'v3' }, /"protocol" must be "v1", "v2" or "auto", got "v3"/],
    // A misspelt option is refused with the one it is closest to, not silently left at its default.
    [
      { url, timeoutMs: 500 },
      /"timeoutMs" is not an option of this exporter \(did you mean "timeoutMillis"\?\)/,
    ],
    [{ url, MaxSamplesPerSend: 500 }, /did you mean "maxSamplesPerSend"/],
    [{ url, compression: 'gzip' }, /"compression" is not an option of this exporter$/],
    [{ url, maxSamplesPerSend: 0 }, /"maxSamplesPerSend" must be a number at least 1, got 0/],
    [{ url, maxSamplesPerSend: 1.5 }, /"maxSamplesPerSend" must be a whole number/],
    [{ url, maxRequestBytes: 10 }, /"maxRequestBytes" must be a number at least 1024/],
    [{ url, minBackoffMillis: -1 }, /"minBackoffMillis" must be a number between 0 and 60000/],
    [{ url, maxBackoffMillis: 120_000 }, /"maxBackoffMillis" must be a number between 0 and 60000/],
    [
      { url, minBackoffMillis: 500, maxBackoffMillis: 100 },
      /"maxBackoffMillis" must not be below minBackoffMillis \(500\)/,
    ],
    [{ url, maxRetryElapsedMillis: NaN }, /"maxRetryElapsedMillis"/],
    [{ url, shutdownTimeoutMillis: -5 }, /"shutdownTimeoutMillis" must be a number between 0 and 2147483647/],
    [{ url, maxConcurrentRequests: 0 }, /"maxConcurrentRequests" must be a number between 1 and 64/],
    [{ url, queueCapacity: 100 }, /"queueCapacity" must be at least maxSamplesPerSend \(2000\)/],
    [{ url, spoolDir: '' }, /"spoolDir" must be a directory path/],
    [
      { url, spoolDir: `${new URL(import.meta.url).pathname}/spool` },
      /"spoolDir" must be a writable directory/,
    ],
    [{ url, spoolMaxBytes: 0 }, /"spoolMaxBytes"/],
    [{ url, meter: {} }, /"meter" must be an OpenTelemetry Meter/],
    [{ url, markStaleWhenMissing: 1 }, /"markStaleWhenMissing" must be true or false/],
    [{ url, explicitHistogramsAsNative: true }, /"explicitHistogramsAsNative" needs protocol "v2", got "v1"/],
  ];
  for (const [options, message] of bad) {
    it(`rejects ${JSON.stringify(options)}`, () => {
      assert.throws(
        () => new PrometheusRemoteWriteExporter(options as PrometheusRemoteWriteExporterOptions),
        (err: unknown) => err instanceof InvalidOptionError && message.test(err.message),
      );
    });
  }

  it('never repeats credentials in its errors', () => {
    for (const options of [
      { url: 'http://user:s3cret@:bad' },
      { url: 'http://user:s3cret@h/w', basicAuth: { username: 'u', password: 's3cret' } },
      { url, basicAuth: { username: 'u', password: 's3cret' }, headers: { Authorization: 'Bearer s3cret' } },
    ]) {
      assert.throws(
        () => new PrometheusRemoteWriteExporter(options),
        (err: unknown) => err instanceof Error && !err.message.includes('s3cret'),
      );
    }
  });

  it('defaults', () => {
    const r = resolveOptions({ url });
    assert.equal(r.timeoutMillis, 10_000);
    assert.equal(r.addMetricSuffixes, true);
    assert.equal(r.sendMetadata, true);
    assert.equal(r.withoutTargetInfo, false);
    assert.equal(r.withoutScopeInfo, false);
    assert.equal(r.markStaleOnShutdown, false);
    assert.equal(r.namespace, '');
    assert.deepEqual(r.promoteResourceAttributes, []);
    assert.deepEqual(r.headers, {});
  });

  it('turns credentials into an Authorization header and out of the URL', () => {
    assert.equal(resolveOptions({ url, bearerToken: 'tok' }).headers['Authorization'], 'Bearer tok');
    assert.equal(
      resolveOptions({ url, basicAuth: { username: 'u', password: 'p:w' } }).headers['Authorization'],
      'Basic ' + Buffer.from('u:p:w').toString('base64'),
    );
    const fromUrl = resolveOptions({ url: 'http://al%40ice:p%3Ass@127.0.0.1:9/w' });
    assert.equal(fromUrl.headers['Authorization'], 'Basic ' + Buffer.from('al@ice:p:ss').toString('base64'));
    assert.equal(fromUrl.url.href, 'http://127.0.0.1:9/w');
  });

  it('VERSION matches package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    assert.equal(VERSION, pkg.version);
  });
});
