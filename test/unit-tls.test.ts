/**
 * The `tls` option: checked at construction (naming the option), files re-read when they change
 * (certificate rotation, on the next new connection), and TLS failures classified as permanent
 * with a message that names the option that fixes them.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { post } from '../src/deliver/http.js';
import { createAgent } from '../src/deliver/proxy.js';
import { classify } from '../src/deliver/retry.js';
import { explainTransportError, TlsMaterial } from '../src/deliver/tls.js';
import { InvalidOptionError, PrometheusRemoteWriteExporter } from '../src/index.js';
import { makeCerts, type CertSet } from './helpers/certs.js';

const HTTPS = 'https://127.0.0.1:9/api/v1/write';

describe('tls option', () => {
  let dir: string;
  let certs: CertSet;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rw-unit-tls-'));
    certs = makeCerts(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const refused = (tls: unknown, option: RegExp, extra: Record<string, unknown> = {}) =>
    assert.throws(
      () => new PrometheusRemoteWriteExporter({ url: HTTPS, tls, proxy: false, ...extra } as never),
      (err: Error) => err instanceof InvalidOptionError && option.test(err.message),
    );

  it('bad settings are refused at construction, naming the option', () => {
    refused('yes', /option "tls" must be an object/);
    refused({ cafile: certs.caCert }, /option "tls\.cafile" is not a TLS setting/);
    refused({ ca: 'x', caFile: certs.caCert }, /"tls\.ca and tls\.caFile" cannot be used together/);
    refused({ caFile: join(dir, 'nope.pem') }, /"tls\.caFile" cannot be read/);
    refused({ caFile: certs.clientKey }, /"tls\.caFile" must be PEM certificates/);
    refused({ ca: 42 }, /"tls\.ca" must be PEM text/);
    refused({ certFile: certs.clientCert }, /"tls\.key or tls\.keyFile" is needed with tls\.certFile/);
    refused({ key: certs.read(certs.clientKey) }, /"tls\.cert or tls\.certFile" is needed with tls\.key/);
    refused(
      { certFile: certs.clientCert, keyFile: certs.wrongClientKey },
      /"tls\.certFile and tls\.keyFile" do not go together/,
    );
    refused({ servername: 'a b' }, /"tls\.servername" must be a host name/);
    refused({ insecureSkipVerify: 'true' }, /"tls\.insecureSkipVerify" must be true or false/);
    refused({ caFile: certs.caCert }, /"agent and tls" cannot be used together/, {
      agent: new https.Agent(),
    });
    assert.throws(
      () => new PrometheusRemoteWriteExporter({ url: 'http://127.0.0.1:9/', tls: { caFile: certs.caCert } }),
      /"tls" needs an https:\/\/ url/,
    );
  });

  it('a key is never echoed in an error', () => {
    const key = certs.read(certs.clientKey);
    assert.throws(
      () => new PrometheusRemoteWriteExporter({ url: HTTPS, tls: { cert: 'not pem', key } }),
      (err: Error) => !err.message.includes(key.slice(30, 60)),
    );
  });

  it('files are re-read when they change, at most every 5 s; a broken file keeps the old material', () => {
    const caFile = join(dir, 'rotating-ca.pem');
    copyFileSync(certs.caCert, caFile);
    let now = 1_000;
    const problems: string[] = [];
    const material = new TlsMaterial(
      { ca: { option: 'tls.caFile', file: caFile } },
      () => now,
      (m) => problems.push(m),
    );
    const first = material.values().ca?.[0]?.toString();
    assert.equal(first, certs.read(certs.caCert));

    writeFileSync(caFile, certs.read(certs.wrongCaCert));
    now += 1_000;
    assert.equal(material.values().ca?.[0]?.toString(), first, 'not looked at within 5 s');
    now += 5_000;
    assert.equal(material.values().ca?.[0]?.toString(), certs.read(certs.wrongCaCert), 'rotated');

    writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nhalf written');
    now += 5_000;
    assert.equal(material.values().ca?.[0]?.toString(), certs.read(certs.wrongCaCert), 'kept');
    now += 5_000;
    material.values();
    assert.equal(problems.length, 1, 'said once');
    assert.match(problems[0]!, /tls\.caFile .*the previous certificates stay in use/);
  });

  it('a rotated client certificate is used by the next connection', async () => {
    // A receiver that wants a client certificate from the test CA (mock: the point is the agent).
    const server = https.createServer(
      {
        cert: certs.read(certs.serverCert),
        key: certs.read(certs.serverKey),
        ca: certs.read(certs.caCert),
        requestCert: true,
        // Checked per request, to answer 403 rather than to close the connection.
        rejectUnauthorized: false,
      },
      (req, res) => {
        req.resume();
        const authorized = (req.socket as import('node:tls').TLSSocket).authorized;
        req.on('end', () => res.writeHead(authorized ? 204 : 403, { Connection: 'close' }).end());
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`);
    const certFile = join(dir, 'rot-client.pem');
    const keyFile = join(dir, 'rot-client.key');
    copyFileSync(certs.wrongClientCert, certFile);
    copyFileSync(certs.wrongClientKey, keyFile);
    let now = 0;
    const material = new TlsMaterial(
      {
        ca: { option: 'tls.caFile', file: certs.caCert },
        cert: { option: 'tls.certFile', file: certFile },
        key: { option: 'tls.keyFile', file: keyFile },
      },
      () => now,
    );
    const agent = createAgent(url, { tls: { material, insecureSkipVerify: false } });
    const send = () =>
      post(new Uint8Array([1]), { url, headers: {}, timeoutMillis: 5_000, agent }).then(
        (r) => r.status,
        (err: Error) => err,
      );
    try {
      assert.equal(await send(), 403, 'the wrong client certificate is not authorized');
      // Rotation applies to new connections: an open keep-alive connection keeps its handshake.

      copyFileSync(certs.clientCert, certFile);
      copyFileSync(certs.clientKey, keyFile);
      now += 10_000;
      assert.equal(await send(), 204);
    } finally {
      agent.destroy();
      server.close();
    }
  });

  it('TLS error codes become permanent errors naming the fix; others stay as they are', () => {
    const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });
    const cases: [string, RegExp][] = [
      ['SELF_SIGNED_CERT_IN_CHAIN', /not signed by a trusted CA.*tls\.ca or tls\.caFile/],
      ['DEPTH_ZERO_SELF_SIGNED_CERT', /not signed by a trusted CA/],
      ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', /not signed by a trusted CA/],
      ['CERT_HAS_EXPIRED', /has expired/],
      ['ERR_TLS_CERT_ALTNAME_INVALID', /tls\.servername/],
      ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', /tls\.cert\/tls\.key/],
      ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', /tls\.cert\/tls\.key/],
      // OpenSSL 3's spelling, which Node 22 and later make their codes from.
      ['ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE', /tls\.cert\/tls\.key/],
      ['ERR_SSL_SSL/TLS_ALERT_CERTIFICATE_UNKNOWN', /tls\.cert\/tls\.key/],
    ];
    for (const [code, message] of cases) {
      const explained = explainTransportError(withCode(code)) as Error;
      assert.match(explained.message, message, code);
      assert.match(explained.message, /\(ERR_|\(SELF|\(DEPTH|\(UNABLE|\(CERT/, code);
      assert.equal(classify(explained, 0).kind, 'permanent', code);
      // Wrapped once more (as the sender does), still permanent.
      assert.equal(classify(new Error('outer', { cause: explained }), 0).kind, 'permanent');
    }
    const eproto = explainTransportError(withCode('EPROTO', 'ssl3_get_record:wrong version number')) as Error;
    assert.match(eproto.message, /does not speak TLS on this port/);
    // An SSL code not listed, the reason only in OpenSSL's message.
    const unlisted = explainTransportError(
      withCode(
        'ERR_SSL_SOMETHING_NEW',
        'error:0A000412:SSL routines:ssl3_read_bytes:ssl/tls alert bad certificate',
      ),
    ) as Error;
    assert.equal(classify(unlisted, 0).kind, 'permanent');
    assert.match(unlisted.message, /tls\.cert\/tls\.key/);
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND']) {
      const err = withCode(code);
      assert.equal(explainTransportError(err), err);
      assert.equal(classify(err, 0).kind, 'retry', code);
    }
  });
});
