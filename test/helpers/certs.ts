// Throwaway certificates for TLS tests, made with the openssl command: a CA, a server certificate
// for 127.0.0.1 and localhost, a client certificate, and the wrong ones (another CA and a client
// certificate it signed, an expired server certificate). EC P-256 keys: quick to make.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';

export interface CertSet {
  dir: string;
  /** Paths of PEM files. */
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  wrongCaCert: string;
  wrongClientCert: string;
  wrongClientKey: string;
  expiredServerCert: string;
  expiredServerKey: string;
  /** Reads a file of this set. */
  read(path: string): string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKey(path: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

function selfSignedCa(dir: string, name: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  newKey(key);
  openssl(['req', '-x509', '-key', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`]);
  return { cert, key };
}

/** A certificate signed by `ca`; `days` < 0 makes one that has already expired. */
function signed(
  dir: string,
  name: string,
  ca: { cert: string; key: string },
  ext: string,
  days = 2,
): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const extFile = join(dir, `${name}.ext`);
  newKey(key);
  writeFileSync(extFile, ext);
  openssl(['req', '-new', '-key', key, '-out', csr, '-subj', `/CN=${name}`]);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-days',
    String(days),
    '-extfile',
    extFile,
    '-out',
    cert,
  ]);
  return { cert, key };
}

export function makeCerts(dir: string): CertSet {
  const ca = selfSignedCa(dir, 'test-ca');
  const wrongCa = selfSignedCa(dir, 'wrong-ca');
  const serverExt = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n';
  const clientExt = 'extendedKeyUsage=clientAuth\n';
  const server = signed(dir, 'server', ca, serverExt);
  const client = signed(dir, 'client', ca, clientExt);
  const wrongClient = signed(dir, 'wrong-client', wrongCa, clientExt);
  const expired = signed(dir, 'expired-server', ca, serverExt, -1);
  return {
    dir,
    caCert: ca.cert,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
    wrongCaCert: wrongCa.cert,
    wrongClientCert: wrongClient.cert,
    wrongClientKey: wrongClient.key,
    expiredServerCert: expired.cert,
    expiredServerKey: expired.key,
    read: (path) => readFileSync(path, 'utf8'),
  };
}

/**
 * What startPrometheus needs for a receiver that requires a client certificate from the test CA
 * and basic auth `user:password` (its `--web.config.file`), and the client side that passes both.
 */
export function mtlsPrometheus(
  certs: CertSet,
  user: string,
  password: string,
): {
  webConfig: string;
  client: { ca: string; cert: string; key: string; authorization: string };
} {
  return {
    webConfig: [
      'tls_server_config:',
      `  cert_file: ${certs.serverCert}`,
      `  key_file: ${certs.serverKey}`,
      '  client_auth_type: RequireAndVerifyClientCert',
      `  client_ca_file: ${certs.caCert}`,
      'basic_auth_users:',
      // Cost 4: the lowest bcrypt allows, enough for a test.
      `  ${user}: '${bcrypt.hashSync(password, 4)}'`,
      '',
    ].join('\n'),
    client: {
      ca: certs.read(certs.caCert),
      cert: certs.read(certs.clientCert),
      key: certs.read(certs.clientKey),
      authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64'),
    },
  };
}
