/**
 * Header and credential options: each bad value is refused at construction with an
 * InvalidOptionError that names the option and what was expected, and never repeats the value.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { InvalidOptionError, PrometheusRemoteWriteExporter } from '../src/index.js';
import { HeadersFunctionAuthorizer } from '../src/deliver/auth/headers-function.js';
import { OAuth2Authorizer } from '../src/deliver/auth/oauth2.js';
import { SigV4Authorizer } from '../src/deliver/auth/sigv4.js';
import { resolveOptions, type PrometheusRemoteWriteExporterOptions } from '../src/options.js';

const url = 'http://127.0.0.1:9/api/v1/write';
const SECRET = 's3cretValue42';
const oauth2 = { tokenUrl: 'http://127.0.0.1:9/token', clientId: 'id', clientSecret: SECRET };
const sigv4 = { region: 'us-east-1', credentials: { accessKeyId: 'AKID', secretAccessKey: SECRET } };

// [what, options, the message it must give]: the message must not hold SECRET.
const bad: Array<[string, unknown, RegExp]> = [
  [
    'CR/LF in a header value',
    { headers: { 'X-Token': `${SECRET}\r\nX-Evil: 1` } },
    /"headers\.X-Token" must not contain CR or LF/,
  ],
  [
    'LF alone in a header value',
    { headers: { 'X-Token': `a\n${SECRET}` } },
    /"headers\.X-Token" must not contain CR or LF/,
  ],
  [
    'a control character in a header value',
    { headers: { 'X-Token': `${SECRET}\u0000` } },
    /"headers\.X-Token" must hold only printable/,
  ],
  [
    'a character above U+00FF in a header value',
    { headers: { 'X-Token': `${SECRET}中` } },
    /"headers\.X-Token" must hold only printable Latin-1/,
  ],
  ['an empty header name', { headers: { '': SECRET } }, /"headers\[""\]" is an empty header name/],
  [
    'a space in a header name',
    { headers: { 'X Token': SECRET } },
    /"headers\["X Token"\]" is not a valid header name/,
  ],
  [
    'CR/LF in a header name',
    { headers: { 'X-A\r\nX-B': SECRET } },
    /"headers\["X-A\\r\\nX-B"\]" is not a valid header name/,
  ],
  [
    'a number as a header value',
    { headers: { 'X-Token': 987654321 } },
    /"headers\.X-Token" must be a string, not a number$/,
  ],
  [
    'a string as headers',
    { headers: `Authorization: Bearer ${SECRET}` },
    /"headers" must be an object of string values or a function returning one, not a string$/,
  ],
  [
    'one name twice',
    { headers: { 'x-token': SECRET, 'X-Token': SECRET } },
    /"headers\.X-Token" is given twice/,
  ],
  ['a reserved header', { headers: { 'Content-Type': SECRET } }, /"headers\.Content-Type" cannot be set/],
  [
    'CR/LF in bearerToken',
    { bearerToken: `${SECRET}\r\nX-Evil: 1` },
    /"bearerToken" must not contain CR or LF/,
  ],
  ['an empty bearerToken', { bearerToken: '' }, /"bearerToken" must be a non-empty string/],
  [
    'a colon in the basic-auth user name',
    { basicAuth: { username: 'us:er', password: SECRET } },
    /"basicAuth\.username" must not contain ":" \(RFC 7617 §2/,
  ],
  [
    'CR/LF in the basic-auth password',
    { basicAuth: { username: 'u', password: `${SECRET}\r\n` } },
    /"basicAuth\.password" must not contain control characters/,
  ],
  [
    'CR/LF in the basic-auth user name',
    { basicAuth: { username: 'u\n', password: SECRET } },
    /"basicAuth\.username" must not contain control characters/,
  ],
  [
    'a colon (%3A) in the URL user name',
    { url: `http://u%3Ax:${SECRET}@127.0.0.1:9/w` },
    /"url" must not contain ":" \(%3A\) in its user name/,
  ],
  [
    'LF (%0A) in the URL password',
    { url: `http://u:${SECRET}%0A@127.0.0.1:9/w` },
    /"url" must not contain control characters/,
  ],
  [
    'bad percent-encoding in the URL password',
    { url: `http://u:${SECRET}%E0%A4%A@127.0.0.1:9/w` },
    /"url" has user info that is not valid percent-encoding/,
  ],
  ['an empty tenant', { tenant: '' }, /"tenant" must be a non-empty string/],
  ['CR/LF in tenant', { tenant: `${SECRET}\r\nX: 1` }, /"tenant" must not contain CR or LF/],
  [
    'tenant and headers X-Scope-OrgID',
    { tenant: 't', headers: { 'x-scope-orgid': SECRET } },
    /"tenant and headers\.X-Scope-OrgID" cannot be used together/,
  ],
  [
    'basicAuth and oauth2',
    { basicAuth: { username: 'u', password: SECRET }, oauth2 },
    /"basicAuth and oauth2" cannot be used together/,
  ],
  [
    'bearerToken and sigv4',
    { bearerToken: SECRET, sigv4 },
    /"bearerToken and sigv4" cannot be used together/,
  ],
  ['oauth2 and sigv4', { oauth2, sigv4 }, /"oauth2 and sigv4" cannot be used together/],
  [
    'sigv4 and headers.Authorization',
    { sigv4, headers: { Authorization: SECRET } },
    /"sigv4 and headers\.Authorization" cannot be used together/,
  ],
  [
    'oauth2 and credentials in the URL',
    { url: `http://u:${SECRET}@127.0.0.1:9/w`, oauth2 },
    /"oauth2 and credentials in url" cannot be used together/,
  ],
  ['oauth2 that is not an object', { oauth2: SECRET }, /"oauth2" must be an object, not a string$/],
  [
    'oauth2 without tokenUrl',
    { oauth2: { ...oauth2, tokenUrl: undefined } },
    /"oauth2\.tokenUrl" is required/,
  ],
  [
    'an oauth2.tokenUrl that is no URL',
    { oauth2: { ...oauth2, tokenUrl: `not a url ${SECRET}` } },
    /"oauth2\.tokenUrl" is required: an absolute http/,
  ],
  [
    'an ftp oauth2.tokenUrl',
    { oauth2: { ...oauth2, tokenUrl: 'ftp://127.0.0.1/token' } },
    /"oauth2\.tokenUrl" must use http/,
  ],
  ['an empty oauth2.clientId', { oauth2: { ...oauth2, clientId: '' } }, /"oauth2\.clientId" is required/],
  [
    'a number as oauth2.clientSecret',
    { oauth2: { ...oauth2, clientSecret: 42 } },
    /"oauth2\.clientSecret" is required: a string$/,
  ],
  [
    'a string as oauth2.scopes',
    { oauth2: { ...oauth2, scopes: 'read write' } },
    /"oauth2\.scopes" must be an array of scope names/,
  ],
  [
    'a space in a scope',
    { oauth2: { ...oauth2, scopes: ['read write'] } },
    /"oauth2\.scopes" must be an array of scope names/,
  ],
  [
    'grant_type in oauth2.endpointParams',
    { oauth2: { ...oauth2, endpointParams: { grant_type: 'password' } } },
    /"oauth2\.endpointParams\.grant_type" cannot be set/,
  ],
  [
    'scope in oauth2.endpointParams',
    { oauth2: { ...oauth2, endpointParams: { scope: 'x' } } },
    /"oauth2\.endpointParams\.scope" cannot be set: use oauth2\.scopes/,
  ],
  [
    'a number in oauth2.endpointParams',
    { oauth2: { ...oauth2, endpointParams: { audience: 5 } } },
    /"oauth2\.endpointParams\.audience" must be a string/,
  ],
  [
    'a misspelt oauth2 key',
    { oauth2: { ...oauth2, scope: ['x'] } },
    /"oauth2\.scope" is not an option of oauth2 \(tokenUrl, clientId/,
  ],
  ['a bad sigv4.region', { sigv4: { ...sigv4, region: 'US East' } }, /"sigv4\.region" must be an AWS region/],
  [
    'a bad sigv4.service',
    { sigv4: { ...sigv4, service: '' } },
    /"sigv4\.service" must be an AWS signing name/,
  ],
  [
    'sigv4.credentials without a secret',
    { sigv4: { ...sigv4, credentials: { accessKeyId: SECRET } } },
    /"sigv4\.credentials" must be \{ accessKeyId, secretAccessKey, sessionToken\? \}/,
  ],
  [
    'a misspelt sigv4 key',
    { sigv4: { ...sigv4, profile: 'x' } },
    /"sigv4\.profile" is not an option of sigv4/,
  ],
];

describe('header and credential options', () => {
  for (const [what, options, message] of bad) {
    it(`refuses ${what}, naming the option, without the value`, () => {
      const given = { url, ...(options as object) } as PrometheusRemoteWriteExporterOptions;
      assert.throws(
        () => new PrometheusRemoteWriteExporter(given),
        (err: Error) => {
          assert.ok(err instanceof InvalidOptionError, `${err.name}: ${err.message}`);
          assert.match(err.message, message);
          assert.ok(!err.message.includes(SECRET), err.message);
          assert.ok(!err.message.includes('987654321'), err.message);
          assert.ok(!/[\r\n]/.test(err.message), 'a message is one line');
          return true;
        },
      );
    });
  }

  it('refuses sigv4 without a region when AWS_REGION is not set either', () => {
    const saved = [process.env['AWS_REGION'], process.env['AWS_DEFAULT_REGION']];
    delete process.env['AWS_REGION'];
    delete process.env['AWS_DEFAULT_REGION'];
    try {
      assert.throws(
        () => resolveOptions({ url, sigv4: { credentials: sigv4.credentials } }),
        /"sigv4\.region" is required \(or AWS_REGION\)/,
      );
      process.env['AWS_REGION'] = 'eu-west-1';
      assert.ok(
        resolveOptions({ url, sigv4: { credentials: sigv4.credentials } }).authorizers[0] instanceof
          SigV4Authorizer,
      );
    } finally {
      if (saved[0] === undefined) delete process.env['AWS_REGION'];
      else process.env['AWS_REGION'] = saved[0];
      if (saved[1] !== undefined) process.env['AWS_DEFAULT_REGION'] = saved[1];
    }
  });

  it('tenant sets X-Scope-OrgID', () => {
    assert.deepEqual(resolveOptions({ url, tenant: 'team-a' }).headers, { 'X-Scope-OrgID': 'team-a' });
  });

  it('accepts what RFC 9110 and RFC 7617 allow: Latin-1 values, tabs, a colon in the password, UTF-8 names', () => {
    const r = resolveOptions({
      url,
      headers: { "X-!#$%&'*+.^_`|~": 'caf\u00e9\tau lait' },
      basicAuth: { username: 'jos\u00e9', password: 'p:w:d' },
    });
    assert.equal(r.headers["X-!#$%&'*+.^_`|~"], 'caf\u00e9\tau lait');
    assert.equal(
      r.headers['Authorization'],
      'Basic ' + Buffer.from('jos\u00e9:p:w:d', 'utf8').toString('base64'),
    );
  });

  it('a headers function, oauth2 and sigv4 become per-attempt authorizers, in that order', () => {
    const fn = (): Record<string, string> => ({ 'X-A': '1' });
    const withOAuth = resolveOptions({ url, headers: fn, oauth2 });
    assert.deepEqual(withOAuth.headers, {});
    assert.ok(withOAuth.authorizers[0] instanceof HeadersFunctionAuthorizer);
    assert.ok(withOAuth.authorizers[1] instanceof OAuth2Authorizer);
    const withSig = resolveOptions({ url, headers: fn, sigv4, tenant: 't' });
    assert.ok(withSig.authorizers[1] instanceof SigV4Authorizer);
    assert.deepEqual(withSig.headers, { 'X-Scope-OrgID': 't' });
    // An AWS SDK credential object carries more than the three keys.
    const sdkCredentials = { ...sigv4.credentials, expiration: new Date(), accountId: '123456789012' };
    assert.equal(
      resolveOptions({ url, sigv4: { credentials: sdkCredentials, region: 'us-east-1' } }).authorizers.length,
      1,
    );
  });

  it('never shows an OAuth 2.0 client secret or AWS secret key when printed', async () => {
    for (const options of [
      { url, oauth2 },
      { url, sigv4 },
    ]) {
      const exporter = new PrometheusRemoteWriteExporter(options);
      assert.ok(!inspect(resolveOptions(options), { depth: Infinity }).includes(SECRET));
      assert.ok(!inspect(exporter, { depth: Infinity, showHidden: true }).includes(SECRET));
      await exporter.shutdown();
    }
  });
});
