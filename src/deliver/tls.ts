/**
 * TLS for the connection to the receiver: the CA, client certificate and key, given as PEM text
 * or as files. Files are read again when they change (certificate rotation), checked at most every
 * few seconds and only when a new connection is made. Also: what a TLS failure means, in words
 * that name the option that fixes it. Knows nothing of OTel.
 */
import { readFileSync, statSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { PermanentTransportError, TlsSettingError } from './transport-errors.js';

export { isPermanentTransportError, PermanentTransportError, TlsSettingError } from './transport-errors.js';

/** PEM text (one or more blocks), as a string or a Buffer. */
export type Pem = string | Buffer;

/** The `tls` option. */
export interface TlsOptions {
  /** CA certificates (PEM) that sign the receiver's certificate, instead of Node's built-in list. */
  ca?: Pem | Pem[];
  /** Client certificate (PEM) for mutual TLS; needs `key` or `keyFile`. */
  cert?: Pem;
  /** Private key (PEM, unencrypted) of the client certificate. */
  key?: Pem;
  /** A file holding `ca`; read again when it changes. */
  caFile?: string;
  /** A file holding `cert`; read again when it changes. */
  certFile?: string;
  /** A file holding `key`; read again when it changes. */
  keyFile?: string;
  /** The host name the receiver's certificate must be for (SNI too), when it is not the URL's host. */
  servername?: string;
  /** Do not verify the receiver's certificate at all. For tests only: anyone in between can read and change the data. */
  insecureSkipVerify?: boolean;
}

/** One of ca/cert/key: inline PEM or a file, and the name of the option that gave it (for messages). */
export interface PemSource {
  readonly option: string;
  readonly pem?: Pem | readonly Pem[];
  readonly file?: string;
}

/** What node:tls gets for each new connection. */
export interface TlsMaterialValues {
  ca?: Pem[];
  cert?: Pem;
  key?: Pem;
}

/** How often files are looked at for a change (mtime and size), at most. */
export const TLS_RELOAD_CHECK_MS = 5_000;

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----/;
const KEY_BLOCK = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

/**
 * The CA, certificate and key of the connection, loaded and checked at construction (so a bad
 * file fails there, naming its option), then kept current: `values()` re-reads a file whose
 * modification time or size changed. A file that is being rewritten and does not load keeps the
 * previous material until it does.
 */
export class TlsMaterial {
  private current: TlsMaterialValues;
  private stamps: string;
  private checkedAt: number;
  /** The last reload problem, said once (see `onReloadError`). */
  private lastProblem: string | undefined;

  constructor(
    private readonly sources: { ca?: PemSource; cert?: PemSource; key?: PemSource },
    private readonly now: () => number = Date.now,
    private readonly onReloadError: (message: string) => void = () => {},
    private readonly checkEveryMs = TLS_RELOAD_CHECK_MS,
  ) {
    this.stamps = this.fileStamps();
    this.current = this.load();
    this.checkedAt = this.now();
  }

  /** True when some part comes from a file (and may change). */
  get watchesFiles(): boolean {
    return Object.values(this.sources).some((s) => s?.file !== undefined);
  }

  /** The material for a new connection: re-read first when a file changed. */
  values(): TlsMaterialValues {
    if (!this.watchesFiles || this.now() - this.checkedAt < this.checkEveryMs) return this.current;
    this.checkedAt = this.now();
    let stamps: string;
    try {
      stamps = this.fileStamps();
    } catch (err) {
      this.problem((err as Error).message);
      return this.current;
    }
    if (stamps === this.stamps) return this.current;
    try {
      this.current = this.load();
      this.stamps = stamps;
      this.lastProblem = undefined;
    } catch (err) {
      this.problem(err instanceof TlsSettingError ? err.message : String(err));
    }
    return this.current;
  }

  private problem(message: string): void {
    if (message === this.lastProblem) return;
    this.lastProblem = message;
    this.onReloadError(`${message}; the previous certificates stay in use`);
  }

  private fileStamps(): string {
    const parts: string[] = [];
    for (const source of Object.values(this.sources)) {
      if (source?.file === undefined) continue;
      try {
        const st = statSync(source.file);
        parts.push(`${st.mtimeMs}:${st.size}`);
      } catch (err) {
        throw new TlsSettingError(source.option, `cannot be read: ${(err as Error).message}`);
      }
    }
    return parts.join(',');
  }

  private load(): TlsMaterialValues {
    const { ca, cert, key } = this.sources;
    const values: TlsMaterialValues = {};
    if (ca) values.ca = pemList(ca, CERT_BLOCK, 'PEM certificates (-----BEGIN CERTIFICATE-----)');
    if (cert) values.cert = pemList(cert, CERT_BLOCK, 'a PEM certificate (-----BEGIN CERTIFICATE-----)')[0];
    if (key) values.key = pemList(key, KEY_BLOCK, 'a PEM private key (-----BEGIN PRIVATE KEY-----)')[0];
    // Parse them now: a broken block or a key of another certificate fails here, at
    // construction (or keeps the previous files in use), and not at the next connection.
    if (ca)
      check(
        () => values.ca!.forEach(parseCertificates),
        ca.option,
        'holds a certificate that cannot be parsed',
      );
    if (cert) check(() => parseCertificates(values.cert!), cert.option, 'cannot be parsed');
    if (key)
      check(
        () => createPrivateKey(values.key!),
        key.option,
        'cannot be parsed (an unencrypted PEM key is expected)',
      );
    if (values.cert && values.key) {
      check(
        () => createSecureContext({ cert: values.cert, key: values.key }),
        `${cert!.option} and ${key!.option}`,
        "do not go together (the key is not the certificate's, or one cannot be parsed)",
      );
    }
    return values;
  }
}

function pemList(source: PemSource, block: RegExp, expected: string): Pem[] {
  const items: Pem[] = [];
  if (source.file !== undefined) {
    try {
      items.push(readFileSync(source.file));
    } catch (err) {
      throw new TlsSettingError(source.option, `cannot be read: ${(err as Error).message}`);
    }
  } else if (source.pem !== undefined) {
    items.push(...(Array.isArray(source.pem) ? source.pem : [source.pem as Pem]));
  }
  if (items.length === 0 || !items.every((pem) => block.test(pem.toString('latin1')))) {
    throw new TlsSettingError(source.option, `must be ${expected}`);
  }
  return items;
}

/** Every certificate block of a PEM text, parsed (node:tls would skip a broken CA block silently). */
function parseCertificates(pem: Pem): void {
  const blocks =
    pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error('no complete certificate block');
  for (const block of blocks) new X509Certificate(block);
}

function check(fn: () => unknown, option: string, expected: string): void {
  try {
    fn();
  } catch (err) {
    throw new TlsSettingError(option, `${expected}: ${(err as Error).message}`);
  }
}

const CA_FIX =
  'give the CA that signed it with tls.ca or tls.caFile (or OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_CERTIFICATE)';
const INSECURE = 'tls.insecureSkipVerify skips the check, for tests only';
const CLIENT_FIX =
  'give a client certificate the receiver trusts with tls.cert/tls.key or tls.certFile/tls.keyFile ' +
  '(or OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_CLIENT_CERTIFICATE/_CLIENT_KEY)';

/** OpenSSL and Node error codes → what failed, and which option fixes it. */
const TLS_FAILURES: ReadonlyArray<[readonly string[], string]> = [
  [
    [
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'UNABLE_TO_GET_ISSUER_CERT',
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      'CERT_SIGNATURE_FAILURE',
      'CERT_UNTRUSTED',
      'CERT_REJECTED',
      'INVALID_CA',
    ],
    `the receiver's certificate is not signed by a trusted CA: ${CA_FIX}; ${INSECURE}`,
  ],
  [
    ['CERT_HAS_EXPIRED'],
    `the receiver's certificate has expired: renew it on the receiver (or check this machine's clock); ${INSECURE}`,
  ],
  [
    ['CERT_NOT_YET_VALID'],
    `the receiver's certificate is not valid yet: check this machine's clock; ${INSECURE}`,
  ],
  [
    ['ERR_TLS_CERT_ALTNAME_INVALID'],
    "the receiver's certificate is not for this host name: use the name it is for in the url, " +
      `or set tls.servername to it; ${INSECURE}`,
  ],
  [
    [
      'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
      'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
      'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
      'ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED',
      'ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE',
      'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
      'ERR_SSL_TLSV1_ALERT_ACCESS_DENIED',
      'ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR',
    ],
    `the receiver refused this client's certificate (or wants one and got none): ${CLIENT_FIX}`,
  ],
  [
    [
      'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
      'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
      'ERR_SSL_NO_PROTOCOLS_AVAILABLE',
    ],
    `the receiver refused the TLS handshake (no common TLS version or cipher, or a client certificate is required): ${CLIENT_FIX}`,
  ],
  [
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_HTTP_REQUEST'],
    'the receiver does not speak TLS on this port: use http:// in the url, or the port where it serves https://',
  ],
];

/** OpenSSL reason strings of an EPROTO error → the code that names them elsewhere. */
const EPROTO_REASONS: ReadonlyArray<[RegExp, string]> = [
  [/wrong version number/i, 'ERR_SSL_WRONG_VERSION_NUMBER'],
  [/packet length too long/i, 'ERR_SSL_PACKET_LENGTH_TOO_LONG'],
  [/http request/i, 'ERR_SSL_HTTP_REQUEST'],
  [/alert certificate required/i, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'],
  [/alert bad certificate/i, 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE'],
  [/alert unknown ca/i, 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'],
  [/alert handshake failure/i, 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE'],
];

/**
 * The same error when it is not a TLS failure; else a PermanentTransportError whose message says
 * what failed and which option fixes it (the original error is its `cause`).
 */
export function explainTransportError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  let code = (err as NodeJS.ErrnoException).code;
  if (typeof code !== 'string') return err;
  // OpenSSL 3 names the alerts "ssl/tls alert …" where OpenSSL 1.1 said "sslv3 alert …", and
  // Node (22 and later) makes its code from that name: one spelling for both.
  code = code.replace(/^ERR_SSL_SSL\/TLS_ALERT_/, 'ERR_SSL_SSLV3_ALERT_');
  // Some OpenSSL failures come as a bare EPROTO, or as an SSL code not listed: the reason is in
  // the message.
  const listed = TLS_FAILURES.some(([codes]) => codes.includes(code as string));
  if (code === 'EPROTO' || (!listed && code.startsWith('ERR_SSL_')))
    code = EPROTO_REASONS.find(([re]) => re.test(err.message))?.[1] ?? code;
  for (const [codes, explanation] of TLS_FAILURES) {
    if (codes.includes(code)) {
      return new PermanentTransportError(`TLS: ${explanation} (${code}: ${err.message})`, code, {
        cause: err,
      });
    }
  }
  return err;
}
