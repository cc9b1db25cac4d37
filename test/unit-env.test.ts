/**
 * OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_* variables: parsed as the OTLP exporter's, under the
 * explicit options, and a bad one refused naming the variable (never its value).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { ENV, parseHeaders, readEnvironment, withEnvironment } from '../src/env.js';
import { InvalidOptionError, PrometheusRemoteWriteExporter } from '../src/index.js';
import { resolveOptions } from '../src/options.js';
import { makeCerts, type CertSet } from './helpers/certs.js';

const SECRET = 'tok%20en-s3cret';

describe('environment variables', () => {
  let dir: string;
  let certs: CertSet;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rw-env-'));
    certs = makeCerts(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => {
    for (const name of Object.values(ENV)) delete process.env[name];
  });

  it('HEADERS: key=value pairs, trimmed and percent-decoded, as OTEL_EXPORTER_OTLP_HEADERS', () => {
    assert.deepEqual(parseHeaders(' Authorization = Bearer%20abc%3D , X-Scope-OrgID=team-a,,', ENV.headers), {
      Authorization: 'Bearer abc=',
      'X-Scope-OrgID': 'team-a',
    });
  });

  for (const [text, problem] of [
    [`novalue${SECRET}`, /has no "="/],
    [`=${SECRET}`, /empty or invalid header name/],
    [`a b=${SECRET}`, /empty or invalid header name/],
    [`X=${SECRET}%`, /bad percent-encoding/],
    [`X=${SECRET}%0D%0AEvil: 1`, /CR, LF or NUL in the value of header X/],
  ] as const) {
    it(`HEADERS ${JSON.stringify(text.replace(SECRET, '…'))}: refused, naming the variable and not the value`, () => {
      assert.throws(
        () => parseHeaders(text, ENV.headers),
        (err: Error) =>
          err instanceof InvalidOptionError &&
          err.message.includes(`environment variable ${ENV.headers}`) &&
          problem.test(err.message) &&
          !err.message.includes('s3cret'),
      );
    });
  }

  it('each variable read and checked', () => {
    const e = readEnvironment({
      [ENV.endpoint]: ' https://rw.example/api/v1/write ',
      [ENV.timeout]: '2500',
      [ENV.protocol]: 'auto',
      [ENV.certificate]: '/ca.pem',
      [ENV.clientCertificate]: '/c.pem',
      [ENV.clientKey]: '/k.pem',
      [ENV.insecure]: 'TRUE',
    });
    assert.deepEqual(e, {
      url: 'https://rw.example/api/v1/write',
      timeoutMillis: 2500,
      protocol: 'auto',
      caFile: '/ca.pem',
      certFile: '/c.pem',
      keyFile: '/k.pem',
      insecureSkipVerify: true,
    });
    assert.deepEqual(readEnvironment({ [ENV.timeout]: '', [ENV.endpoint]: '  ' }), {});
  });

  for (const [name, value, expected] of [
    [ENV.timeout, '10s', /positive number of milliseconds/],
    [ENV.timeout, '0', /positive number of milliseconds/],
    [ENV.protocol, 'http/protobuf', /"v1", "v2" or "auto"/],
    [ENV.insecure, 'yes', /"true" or "false"/],
  ] as const) {
    it(`${name}=${value}: refused at construction, naming the variable`, () => {
      process.env[name] = value;
      assert.throws(
        () => new PrometheusRemoteWriteExporter({ url: 'http://127.0.0.1:9/api/v1/write' }),
        (err: Error) =>
          err.name === 'InvalidOptionError' &&
          err.message.startsWith(`PrometheusRemoteWriteExporter: environment variable ${name} `) &&
          expected.test(err.message),
      );
    });
  }

  it('ENDPOINT is used when no url is given; an explicit url wins', () => {
    process.env[ENV.endpoint] = 'http://127.0.0.1:9/from-env';
    assert.equal(resolveOptions({}).url.pathname, '/from-env');
    assert.equal(resolveOptions({ url: 'http://127.0.0.1:9/explicit' }).url.pathname, '/explicit');
  });

  it('without url and ENDPOINT, the error names both', () => {
    assert.throws(
      () => resolveOptions({}),
      /"url" is required.*OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_ENDPOINT/,
    );
  });

  it('explicit options win: timeout, protocol, and headers of the same name (any case)', () => {
    process.env[ENV.timeout] = '1234';
    process.env[ENV.protocol] = 'v2';
    process.env[ENV.headers] = 'x-team=env,X-Other=env';
    const fromEnv = resolveOptions({ url: 'http://127.0.0.1:9/' });
    assert.equal(fromEnv.timeoutMillis, 1234);
    assert.equal(fromEnv.protocol, 'v2');
    assert.equal(fromEnv.headers['x-team'], 'env');
    const explicit = resolveOptions({
      url: 'http://127.0.0.1:9/',
      timeoutMillis: 99,
      protocol: 'v1',
      headers: { 'X-Team': 'explicit' },
    });
    assert.equal(explicit.timeoutMillis, 99);
    assert.equal(explicit.protocol, 'v1');
    assert.equal(explicit.headers['X-Team'], 'explicit');
    assert.equal(explicit.headers['x-team'], undefined);
    assert.equal(explicit.headers['X-Other'], 'env');
  });

  it('an Authorization header from HEADERS gives way to explicit basicAuth', () => {
    process.env[ENV.headers] = 'Authorization=Bearer%20from-env';
    const o = resolveOptions({ url: 'http://127.0.0.1:9/', basicAuth: { username: 'u', password: 'p' } });
    assert.match(o.headers['Authorization'] ?? '', /^Basic /);
  });

  it('the TLS variables become tls.caFile/certFile/keyFile/insecureSkipVerify for https:// only', () => {
    process.env[ENV.certificate] = certs.caCert;
    process.env[ENV.clientCertificate] = certs.clientCert;
    process.env[ENV.clientKey] = certs.clientKey;
    process.env[ENV.insecure] = 'false';
    const { options, sources } = withEnvironment({ url: 'https://127.0.0.1:9/' });
    assert.deepEqual(options.tls, {
      caFile: certs.caCert,
      certFile: certs.clientCert,
      keyFile: certs.clientKey,
      insecureSkipVerify: false,
    });
    assert.equal(sources.get('tls.caFile'), ENV.certificate);
    assert.ok(resolveOptions({ url: 'https://127.0.0.1:9/' }).tls);
    // http:// has no TLS; a user's own agent has its own.
    assert.equal(withEnvironment({ url: 'http://127.0.0.1:9/' }).options.tls, undefined);
    assert.equal(resolveOptions({ url: 'http://127.0.0.1:9/' }).tls, undefined);
  });

  it('explicit tls.ca wins over CERTIFICATE', () => {
    process.env[ENV.certificate] = '/does/not/exist.pem';
    const o = withEnvironment({ url: 'https://127.0.0.1:9/', tls: { ca: readFileSync(certs.caCert) } });
    assert.equal(o.options.tls?.caFile, undefined);
    assert.doesNotThrow(() =>
      resolveOptions({ url: 'https://127.0.0.1:9/', tls: { ca: readFileSync(certs.caCert) } }),
    );
  });

  it('a CERTIFICATE file that does not exist: the error names the variable', () => {
    process.env[ENV.certificate] = join(dir, 'missing.pem');
    assert.throws(
      () => resolveOptions({ url: 'https://127.0.0.1:9/' }),
      (err: Error) =>
        err instanceof InvalidOptionError &&
        err.message.includes(`environment variable ${ENV.certificate} cannot be read`),
    );
  });

  it("a CLIENT_KEY that is not the CLIENT_CERTIFICATE's key: names both variables", () => {
    process.env[ENV.clientCertificate] = certs.clientCert;
    process.env[ENV.clientKey] = certs.wrongClientKey;
    assert.throws(
      () => resolveOptions({ url: 'https://127.0.0.1:9/' }),
      (err: Error) =>
        err.message.includes(ENV.clientCertificate) &&
        err.message.includes(ENV.clientKey) &&
        /do not go together/.test(err.message),
    );
  });
});
