/**
 * Environment variables, as defaults under the options. No specification names them (the
 * OpenTelemetry "Prometheus exporter" is pull-only), so they follow the OTLP exporter's
 * convention (OTel spec, "OTLP Exporter Configuration"): `OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_`
 * + ENDPOINT, HEADERS, TIMEOUT, CERTIFICATE, CLIENT_KEY, CLIENT_CERTIFICATE, INSECURE, PROTOCOL.
 * An option given explicitly always wins over its variable.
 */
import { InvalidOptionError, type PrometheusRemoteWriteExporterOptions, type Protocol } from './options.js';
import type { TlsOptions } from './deliver/tls.js';

const PREFIX = 'OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_';

export const ENV = {
  endpoint: `${PREFIX}ENDPOINT`,
  headers: `${PREFIX}HEADERS`,
  timeout: `${PREFIX}TIMEOUT`,
  certificate: `${PREFIX}CERTIFICATE`,
  clientKey: `${PREFIX}CLIENT_KEY`,
  clientCertificate: `${PREFIX}CLIENT_CERTIFICATE`,
  insecure: `${PREFIX}INSECURE`,
  protocol: `${PREFIX}PROTOCOL`,
} as const;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * A bad variable: the same InvalidOptionError as a bad option, naming the variable (never its
 * value). A function, not a subclass: options.ts imports this module, so the class may not be
 * initialized yet when this one loads.
 */
export function invalidVariable(variable: string, expected: string): InvalidOptionError {
  const error = new InvalidOptionError(variable, expected);
  error.message = `PrometheusRemoteWriteExporter: environment variable ${variable} ${expected}`;
  return error;
}

/** What the variables set, checked; undefined for each one not set (or empty). */
export interface EnvironmentSettings {
  url?: string;
  headers?: Record<string, string>;
  timeoutMillis?: number;
  protocol?: Protocol;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  insecureSkipVerify?: boolean;
}

export function readEnvironment(env: Env = process.env): EnvironmentSettings {
  const get = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const out: EnvironmentSettings = {};
  const url = get(ENV.endpoint);
  if (url !== undefined) out.url = url;
  const headers = get(ENV.headers);
  if (headers !== undefined) out.headers = parseHeaders(headers, ENV.headers);
  const timeout = get(ENV.timeout);
  if (timeout !== undefined) {
    const ms = /^\d+(\.\d+)?$/.test(timeout) ? Number(timeout) : NaN;
    if (!(ms > 0)) throw invalidVariable(ENV.timeout, 'must be a positive number of milliseconds');
    out.timeoutMillis = ms;
  }
  const protocol = get(ENV.protocol);
  if (protocol !== undefined) {
    if (protocol !== 'v1' && protocol !== 'v2' && protocol !== 'auto') {
      throw invalidVariable(ENV.protocol, 'must be "v1", "v2" or "auto"');
    }
    out.protocol = protocol;
  }
  const caFile = get(ENV.certificate);
  if (caFile !== undefined) out.caFile = caFile;
  const certFile = get(ENV.clientCertificate);
  if (certFile !== undefined) out.certFile = certFile;
  const keyFile = get(ENV.clientKey);
  if (keyFile !== undefined) out.keyFile = keyFile;
  const insecure = get(ENV.insecure)?.toLowerCase();
  if (insecure !== undefined) {
    if (insecure !== 'true' && insecure !== 'false') {
      throw invalidVariable(ENV.insecure, 'must be "true" or "false"');
    }
    out.insecureSkipVerify = insecure === 'true';
  }
  return out;
}

/**
 * `key=value,key2=value2`, each key and value percent-decoded, surrounding spaces trimmed (the
 * format of OTEL_EXPORTER_OTLP_HEADERS: W3C Baggage without properties). Values never appear in
 * errors: they are usually credentials.
 */
export function parseHeaders(text: string, variable: string): Record<string, string> {
  const headers: Record<string, string> = {};
  const entries = text.split(',');
  entries.forEach((entry, i) => {
    if (entry.trim() === '') return;
    const where = `entry ${i + 1} of ${entries.length}`;
    const at = entry.indexOf('=');
    if (at < 0)
      throw invalidVariable(variable, `must be key=value pairs separated by commas (${where} has no "=")`);
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(entry.slice(0, at).trim());
      value = decodeURIComponent(entry.slice(at + 1).trim());
    } catch {
      throw invalidVariable(variable, `has a bad percent-encoding (%XX) in ${where}`);
    }
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) {
      // RFC 9110 §5.6.2: a header name is a token.
      throw invalidVariable(variable, `has an empty or invalid header name in ${where}`);
    }
    // RFC 9110 §5.5: no CR, LF or NUL in a field value.
    if (/[\r\n\0]/.test(value)) {
      throw invalidVariable(variable, `has a CR, LF or NUL in the value of header ${key}`);
    }
    headers[key] = value;
  });
  return headers;
}

/** Which variable gave an option (`tls.caFile` → OTEL_…_CERTIFICATE), for error messages. */
export type EnvironmentSources = ReadonlyMap<string, string>;

/**
 * The options with the variables filled in under them. Header names are compared without case:
 * an explicit header replaces the variable's of the same name, and an Authorization from the
 * variable gives way to any explicit way to authenticate. The TLS variables apply to https://
 * endpoints only, and not beside a user's own `agent`.
 */
export function withEnvironment(
  options: PrometheusRemoteWriteExporterOptions,
  env: Env = process.env,
): { options: PrometheusRemoteWriteExporterOptions; sources: EnvironmentSources } {
  const e = readEnvironment(env);
  const sources = new Map<string, string>();
  const merged: PrometheusRemoteWriteExporterOptions = { ...options };
  if ((options.url === undefined || options.url === null || options.url === '') && e.url !== undefined) {
    merged.url = e.url;
    sources.set('url', ENV.endpoint);
  }
  if (e.headers !== undefined) {
    const given = options.headers;
    if (given === undefined || (typeof given === 'object' && given !== null && !Array.isArray(given))) {
      const explicit = new Set(Object.keys(given ?? {}).map((k) => k.toLowerCase()));
      const explicitAuth =
        options.basicAuth !== undefined ||
        options.bearerToken !== undefined ||
        options.oauth2 !== undefined ||
        options.sigv4 !== undefined;
      const fromEnv = Object.entries(e.headers).filter(
        ([k]) => !explicit.has(k.toLowerCase()) && !(explicitAuth && k.toLowerCase() === 'authorization'),
      );
      merged.headers = { ...Object.fromEntries(fromEnv), ...(given as Record<string, string> | undefined) };
    }
  }
  if (options.timeoutMillis === undefined && e.timeoutMillis !== undefined)
    merged.timeoutMillis = e.timeoutMillis;
  if (options.protocol === undefined && e.protocol !== undefined) merged.protocol = e.protocol;

  if (options.agent === undefined && isHttps(merged.url)) {
    const given: TlsOptions = options.tls && typeof options.tls === 'object' ? options.tls : {};
    const tls: TlsOptions = { ...given };
    const take = <K extends keyof TlsOptions>(
      key: K,
      value: TlsOptions[K] | undefined,
      variable: string,
      ...explicit: (keyof TlsOptions)[]
    ): void => {
      if (value === undefined || explicit.some((k) => given[k] !== undefined)) return;
      tls[key] = value;
      sources.set(`tls.${key}`, variable);
    };
    take('caFile', e.caFile, ENV.certificate, 'ca', 'caFile');
    take('certFile', e.certFile, ENV.clientCertificate, 'cert', 'certFile');
    take('keyFile', e.keyFile, ENV.clientKey, 'key', 'keyFile');
    take('insecureSkipVerify', e.insecureSkipVerify, ENV.insecure, 'insecureSkipVerify');
    if (sources.size > 0 && [...sources.keys()].some((k) => k.startsWith('tls.'))) {
      merged.tls = tls;
    }
  }
  return { options: merged, sources };
}

function isHttps(url: unknown): boolean {
  if (typeof url !== 'string' && !(url instanceof URL)) return false;
  try {
    return new URL(String(url)).protocol === 'https:';
  } catch {
    return false;
  }
}
