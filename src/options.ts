/**
 * Every exporter option, its default and its validation, in one place. Bad options fail at
 * construction with a message that names the option and what was expected.
 */
import type http from 'node:http';
import type { Meter } from '@opentelemetry/api';
import type { Authorizer } from './deliver/auth/authorizer.js';
import { headerNameProblem, headerValueProblem } from './deliver/auth/header-rules.js';
import { HeadersFunctionAuthorizer, type HeadersFunction } from './deliver/auth/headers-function.js';
import { OAuth2Authorizer } from './deliver/auth/oauth2.js';
import { SigV4Authorizer, type AwsCredentials, type AwsCredentialsProvider } from './deliver/auth/sigv4.js';
import { isReservedHeader, RESERVED_HEADERS } from './deliver/sender.js';
import type { ProxyConfig, TlsConfig } from './deliver/proxy.js';
import type { TlsOptions } from './deliver/tls.js';
import { withEnvironment } from './env.js';
import { agentForEndpoint, resolveTransport, type TransportOptions } from './transport-options.js';
import { checkRuntimeSupport } from './runtime-support.js';
import {
  addsSuffixes,
  escapesNames,
  isUtf8Name,
  LABEL_NAME_RE,
  namespaceFor,
  strategyOf,
  TRANSLATION_STRATEGIES,
  type MetricNameOptions,
  type TranslationStrategy,
} from './translate/names.js';

export interface PrometheusRemoteWriteExporterOptions {
  /**
   * The remote-write endpoint, e.g. `http://127.0.0.1:9090/api/v1/write`. Required, unless
   * OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_ENDPOINT gives it.
   */
  url?: string | URL;
  /**
   * Extra HTTP headers, or a function (sync or async) returning them, called for every attempt
   * (rotating tokens). Cannot replace the remote-write headers.
   */
  headers?: Record<string, string> | HeadersFunction;
  /** The tenant, sent as `X-Scope-OrgID` (Grafana Mimir, Cortex). */
  tenant?: string;
  /** HTTP basic authentication (RFC 7617). */
  basicAuth?: { username: string; password: string };
  /** Sent as `Authorization: Bearer <token>`. */
  bearerToken?: string;
  /** OAuth 2.0 client-credentials grant: the token is fetched, cached and renewed. */
  oauth2?: OAuth2Options;
  /** AWS Signature V4 (Amazon Managed Prometheus); needs the AWS SDK packages named in the README. */
  sigv4?: SigV4Options;
  /** Time for one request, from sending to the end of the answer, before it is aborted. Default 10000. */
  timeoutMillis?: number;
  /** Add unit and type suffixes (`_seconds`, `_total`, `_ratio`) to metric names. Default true. */
  addMetricSuffixes?: boolean;
  /**
   * How metric and label names are translated (OTel spec, Prometheus exporter §Translation
   * Strategy): `'UnderscoreEscapingWithSuffixes'`, `'UnderscoreEscapingWithoutSuffixes'`,
   * `'NoUTF8EscapingWithSuffixes'` or `'NoTranslation'`. Default the first, or the second with
   * `addMetricSuffixes: false`.
   */
  translationStrategy?: TranslationStrategy;
  /** Prefix of every metric name (`<namespace>_...`), sanitized as names are. Default none. */
  namespace?: string;
  /** Labels added to every series that does not already have them. Default none. */
  externalLabels?: Record<string, string>;
  /** Do not send the `target_info` series of the resource. Default false. */
  withoutTargetInfo?: boolean;
  /** Do not put `otel_scope_name`/`otel_scope_version`/`otel_scope_schema_url` labels on series. Default false. */
  withoutScopeInfo?: boolean;
  /** Resource attributes copied onto every series as labels, or `'all'`. Default none. */
  promoteResourceAttributes?: string[] | 'all';
  /** Send HELP/TYPE/UNIT metadata, once per metric family per request. Default true. */
  sendMetadata?: boolean;
  /**
   * Send a stale marker for a series that was in the previous export and is missing from this
   * one, so it ends at once in queries. Turn off when each export carries only some series
   * (as `RemoteWriteClient` does). Default true.
   */
  markStaleWhenMissing?: boolean;
  /**
   * Send explicit-bucket histograms as native histograms with custom buckets (schema −53)
   * instead of `_bucket`/`_sum`/`_count` series. Needs `protocol: 'v2'` (Prometheus ≥ 3.x). Default false.
   */
  explicitHistogramsAsNative?: boolean;
  /** On `shutdown()`, send a stale marker for every series so it ends at once in queries. Default false. */
  markStaleOnShutdown?: boolean;
  /**
   * Your own `http.Agent`/`https.Agent`, used as it is: then `tls`, `proxy` and the proxy
   * variables do not apply. Default: a keep-alive agent made from `tls` and `proxy`.
   */
  agent?: http.Agent;
  /** TLS of an https:// url: CA, client certificate and key (PEM or files, re-read when they change), server name. */
  tls?: TlsOptions;
  /**
   * An HTTP proxy, e.g. `http://proxy.example:3128` (https:// receivers are reached through it
   * with CONNECT), or `false` for none. Default: from HTTPS_PROXY/HTTP_PROXY/ALL_PROXY and NO_PROXY.
   */
  proxy?: string | URL | false;
  /**
   * Print every request as Prometheus text (`[DEBUG] remote_write_req_seq: N`, `# TYPE` lines,
   * series), to standard output with `true`, or to the given function. Never shows headers.
   * Default false.
   */
  debug?: boolean | ((text: string) => void);
  /** Remote-write protocol: `'v1'`, `'v2'`, or `'auto'` (2.0, falling back to 1.0 for good). Default `'v1'`. */
  protocol?: Protocol;
  /** Most samples (and native histograms) in one request; an export is split between series. Default 2000. */
  maxSamplesPerSend?: number;
  /** Most uncompressed bytes of series in one request. Default 3000000. */
  maxRequestBytes?: number;
  /** First retry delay; doubles on each retry, with jitter. Default 30. */
  minBackoffMillis?: number;
  /** Longest retry delay, at most 60000. Default 5000. */
  maxBackoffMillis?: number;
  /** Time from a request's first attempt after which it is no longer retried. Default 60000. */
  maxRetryElapsedMillis?: number;
  /**
   * Longest time `forceFlush()` waits for delivery; then it resolves and what is left stays
   * queued. Below the SDK reader's 30 s export timeout. Default 10000.
   */
  flushTimeoutMillis?: number;
  /**
   * Longest time `shutdown()` keeps delivering; then a request in flight is aborted and what is
   * left goes to `spoolDir`, or is dropped and counted. Default 5000.
   */
  shutdownTimeoutMillis?: number;
  /** Requests in flight at once; more than 1 shards series by label hash so each series stays in order. Default 1. */
  maxConcurrentRequests?: number;
  /**
   * Compressed bytes of requests held in memory (waiting or in flight). Beyond it the oldest
   * waiting requests go to `spoolDir`, or without one are dropped and counted. Default
   * 134217728 (128 MiB: about five exports of a million series).
   */
  maxQueueBytes?: number;
  /** Also bound the samples held in memory, like `maxQueueBytes`. Default none. */
  queueCapacity?: number;
  /**
   * A directory where requests that cannot be delivered at once (a failed first attempt, and
   * what waits behind it) are kept until delivered, and whatever is left at exit is sent first by
   * the next process. Default none.
   */
  spoolDir?: string;
  /** Most bytes kept in `spoolDir`; the oldest files go first. Default 268435456 (256 MiB). */
  spoolMaxBytes?: number;
  /** Spooled requests older than this are deleted unsent (Prometheus rejects old samples). Default 7200000 (2 h). */
  spoolMaxAgeMillis?: number;
  /** A meter on which the exporter records its own counters (samples sent, failed, retried, dropped…). Default none. */
  meter?: Meter;
}

export type Protocol = 'v1' | 'v2' | 'auto';

export interface OAuth2Options {
  /** The token endpoint (RFC 6749 §3.2). */
  tokenUrl: string | URL;
  clientId: string;
  clientSecret: string;
  /** Sent space-separated as `scope`. Default none. */
  scopes?: string[];
  /** More form parameters of the token request (e.g. `audience`). Default none. */
  endpointParams?: Record<string, string>;
}

export interface SigV4Options {
  /** The AWS region, e.g. `us-east-1`. Default `AWS_REGION` or `AWS_DEFAULT_REGION`. */
  region?: string;
  /** The signing name of the service. Default `'aps'` (Amazon Managed Service for Prometheus). */
  service?: string;
  /** Credentials, or a provider of them (e.g. `fromIni()`). Default the AWS SDK's default chain. */
  credentials?: AwsCredentials | AwsCredentialsProvider;
}

export interface ResolvedOptions {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  /** Headers computed per attempt (`headers()`, OAuth 2.0, SigV4), in order. */
  readonly authorizers: readonly Authorizer[];
  readonly timeoutMillis: number;
  readonly addMetricSuffixes: boolean;
  readonly translationStrategy: TranslationStrategy;
  readonly namespace: string;
  readonly externalLabels: Map<string, string>;
  readonly withoutTargetInfo: boolean;
  readonly withoutScopeInfo: boolean;
  readonly promoteResourceAttributes: readonly string[] | 'all';
  readonly sendMetadata: boolean;
  readonly markStaleOnShutdown: boolean;
  readonly markStaleWhenMissing: boolean;
  readonly explicitHistogramsAsNative: boolean;
  readonly agent: http.Agent | undefined;
  readonly tls: TlsConfig | undefined;
  readonly proxy: ProxyConfig | undefined;
  readonly debug: ((text: string) => void) | undefined;
  readonly protocol: Protocol;
  readonly maxSamplesPerSend: number;
  readonly maxRequestBytes: number;
  readonly minBackoffMillis: number;
  readonly maxBackoffMillis: number;
  readonly maxRetryElapsedMillis: number;
  readonly flushTimeoutMillis: number;
  readonly shutdownTimeoutMillis: number;
  readonly maxConcurrentRequests: number;
  readonly maxQueueBytes: number;
  readonly queueCapacity: number;
  readonly spoolDir: string | undefined;
  readonly spoolMaxBytes: number;
  readonly spoolMaxAgeMillis: number;
  readonly meter: Meter | undefined;
}

export const DEFAULT_TIMEOUT_MILLIS = 10_000;
/**
 * Longest delay a Node.js timer takes (2^31 − 1 ms, about 24.8 days); a longer one fires after
 * 1 ms instead (Node.js `setTimeout`), so a timeout beyond it would end at once.
 */
export const MAX_TIMER_MILLIS = 2 ** 31 - 1;
/** Upper bound of `maxBackoffMillis` (compliance suite: the delay SHOULD be capped at ≤ 60 s). */
export const MAX_BACKOFF_CAP_MILLIS = 60_000;
export const DELIVERY_DEFAULTS = {
  protocol: 'v1' as Protocol,
  maxSamplesPerSend: 2000, // Prometheus queue_config.max_samples_per_send
  maxRequestBytes: 3_000_000, // Collector max_batch_size_bytes
  minBackoffMillis: 30, // Prometheus queue_config.min_backoff
  maxBackoffMillis: 5000, // Prometheus queue_config.max_backoff
  maxRetryElapsedMillis: 60_000,
  flushTimeoutMillis: 10_000, // below PeriodicExportingMetricReader's exportTimeoutMillis (30 s)
  shutdownTimeoutMillis: 5000,
  maxConcurrentRequests: 1,
  maxQueueBytes: 128 * 1024 * 1024,
  queueCapacity: Infinity,
  spoolMaxBytes: 256 * 1024 * 1024,
  spoolMaxAgeMillis: 2 * 60 * 60 * 1000,
} as const;

/** Every option's name, checked against the interface in both directions by the compiler. */
const OPTION_NAMES = [
  'url',
  'headers',
  'tenant',
  'basicAuth',
  'bearerToken',
  'oauth2',
  'sigv4',
  'timeoutMillis',
  'addMetricSuffixes',
  'translationStrategy',
  'namespace',
  'externalLabels',
  'withoutTargetInfo',
  'withoutScopeInfo',
  'promoteResourceAttributes',
  'sendMetadata',
  'markStaleWhenMissing',
  'explicitHistogramsAsNative',
  'markStaleOnShutdown',
  'agent',
  'tls',
  'proxy',
  'debug',
  'protocol',
  'maxSamplesPerSend',
  'maxRequestBytes',
  'minBackoffMillis',
  'maxBackoffMillis',
  'maxRetryElapsedMillis',
  'flushTimeoutMillis',
  'shutdownTimeoutMillis',
  'maxConcurrentRequests',
  'maxQueueBytes',
  'queueCapacity',
  'spoolDir',
  'spoolMaxBytes',
  'spoolMaxAgeMillis',
  'meter',
] as const satisfies ReadonlyArray<keyof PrometheusRemoteWriteExporterOptions>;
// An option added to the interface but not to the list above fails to compile here.
const EVERY_OPTION_LISTED: Exclude<
  keyof PrometheusRemoteWriteExporterOptions,
  (typeof OPTION_NAMES)[number]
> extends never
  ? true
  : never = true;
void EVERY_OPTION_LISTED;

/**
 * A key that is not an option (a misspelling such as `timeoutMs`) is refused, with the option it
 * is closest to: ignored, it would leave its setting at the default without a word.
 */
function checkOptionNames(options: object, known: readonly string[] = OPTION_NAMES): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key) || (options as Record<string, unknown>)[key] === undefined) continue;
    const near = closest(key, known);
    throw new InvalidOptionError(
      key,
      `is not an option of this exporter${near === undefined ? '' : ` (did you mean "${near}"?)`}`,
    );
  }
}

/**
 * The name at the smallest edit distance from `key` (ignoring case), if it is close enough; else
 * the one name that shares the longest beginning with it, at least 6 characters (`timeoutMs`).
 */
function closest(key: string, names: readonly string[]): string | undefined {
  const k = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of names) {
    const d = editDistance(k, name.toLowerCase());
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  if (bestDistance <= Math.max(2, Math.floor(key.length / 3))) return best;
  const shared = (name: string): number => {
    const n = name.toLowerCase();
    let i = 0;
    while (i < k.length && i < n.length && k[i] === n[i]) i++;
    return i;
  };
  const longest = Math.max(...names.map(shared));
  const candidates = names.filter((name) => shared(name) === longest);
  return longest >= 6 && candidates.length === 1 ? candidates[0] : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}

export class InvalidOptionError extends Error {
  constructor(option: string, expected: string, got?: unknown) {
    super(
      `PrometheusRemoteWriteExporter: option "${option}" ${expected}` +
        (got === undefined ? '' : `, got ${describeValue(got)}`),
    );
    this.name = 'InvalidOptionError';
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? value.slice(0, 60) + '…' : value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

function flag(
  options: PrometheusRemoteWriteExporterOptions,
  key: keyof PrometheusRemoteWriteExporterOptions,
  fallback: boolean,
): boolean {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidOptionError(key, 'must be true or false', value);
  return value;
}

function parseUrl(value: unknown): URL {
  if (value === undefined || value === null || value === '') {
    throw new InvalidOptionError(
      'url',
      'is required: the remote-write endpoint, e.g. "http://127.0.0.1:9090/api/v1/write" ' +
        '(or set OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_ENDPOINT)',
    );
  }
  if (typeof value !== 'string' && !(value instanceof URL))
    throw new InvalidOptionError('url', 'must be a string or URL', value);
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    // The value may hold credentials: do not repeat it.
    throw new InvalidOptionError('url', 'must be an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidOptionError('url', `must use http:// or https://, not ${url.protocol}//`);
  }
  return url;
}

function stringRecord(option: string, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError(option, 'must be an object of string values', value);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new InvalidOptionError(`${option}.${k}`, 'must be a string', v);
    out[k] = v;
  }
  return out;
}

/** A header option's name for messages: `headers.X-Token`, or quoted when it is no valid name. */
function headerOption(option: string, name: string): string {
  return headerNameProblem(name) ? `${option}[${JSON.stringify(name.slice(0, 60))}]` : `${option}.${name}`;
}

/**
 * The static `headers` record, checked as Node would check it at send time (RFC 9110 §5), but
 * at construction and without repeating a value: values are often credentials.
 */
function staticHeaders(value: unknown): Record<string, string> {
  if (value === undefined || typeof value === 'function') return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError(
      'headers',
      `must be an object of string values or a function returning one, not ${kindOf(value)}`,
    );
  }
  const out: Record<string, string> = {};
  const seen = new Set<string>();
  for (const [name, v] of Object.entries(value)) {
    const option = headerOption('headers', name);
    const nameProblem = headerNameProblem(name);
    if (nameProblem) throw new InvalidOptionError(option, nameProblem);
    if (typeof v !== 'string') throw new InvalidOptionError(option, `must be a string, not ${kindOf(v)}`);
    const valueProblem = headerValueProblem(v);
    if (valueProblem) throw new InvalidOptionError(option, valueProblem);
    if (isReservedHeader(name)) {
      throw new InvalidOptionError(option, 'cannot be set: the remote-write protocol fixes this header');
    }
    if (seen.has(name.toLowerCase())) {
      throw new InvalidOptionError(option, 'is given twice (header names are case-insensitive)');
    }
    seen.add(name.toLowerCase());
    out[name] = v;
  }
  return out;
}

/** The type of a value, for messages that must not show the value itself. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** RFC 7617 §2: the user-id holds no colon, neither holds control characters. */
function basicCredential(option: string, username: string, password: string): string {
  const where = option === 'url' ? 'the user name in "url"' : `"${option}.username"`;
  if (username.includes(':')) {
    throw new InvalidOptionError(
      option === 'url' ? 'url' : `${option}.username`,
      `must not contain ":"${option === 'url' ? ' (%3A) in its user name' : ''} (RFC 7617 §2: ` +
        `the user-id cannot hold a colon; ${where} would be read as a shorter user name)`,
    );
  }
  // eslint-disable-next-line no-control-regex
  const control = /[\x00-\x1f\x7f]/;
  if (control.test(username) || control.test(password)) {
    throw new InvalidOptionError(
      option === 'url' ? 'url' : `${option}.${control.test(username) ? 'username' : 'password'}`,
      `must not contain control characters such as CR or LF${option === 'url' ? ' in its user info' : ''} (RFC 7617 §2)`,
    );
  }
  return 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64');
}

function urlCredential(url: URL): string {
  let user: string;
  let pass: string;
  try {
    user = decodeURIComponent(url.username);
    pass = decodeURIComponent(url.password);
  } catch {
    throw new InvalidOptionError('url', 'has user info that is not valid percent-encoding');
  }
  return basicCredential('url', user, pass);
}

function resolveOAuth2(value: unknown, timeoutMillis: number, transport: TransportOptions): OAuth2Authorizer {
  const o = plainObject('oauth2', value, [
    'tokenUrl',
    'clientId',
    'clientSecret',
    'scopes',
    'endpointParams',
  ]);
  const { tokenUrl: rawUrl, clientId, clientSecret, scopes = [], endpointParams = {} } = o;
  let tokenUrl: URL;
  try {
    if (typeof rawUrl !== 'string' && !(rawUrl instanceof URL)) throw new TypeError();
    tokenUrl = new URL(String(rawUrl));
  } catch {
    throw new InvalidOptionError('oauth2.tokenUrl', 'is required: an absolute http:// or https:// URL');
  }
  if (tokenUrl.protocol !== 'http:' && tokenUrl.protocol !== 'https:') {
    throw new InvalidOptionError(
      'oauth2.tokenUrl',
      `must use http:// or https://, not ${tokenUrl.protocol}//`,
    );
  }
  if (typeof clientId !== 'string' || clientId === '')
    throw new InvalidOptionError('oauth2.clientId', 'is required: a non-empty string');
  if (typeof clientSecret !== 'string')
    throw new InvalidOptionError('oauth2.clientSecret', 'is required: a string');
  // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
  if (
    !Array.isArray(scopes) ||
    !scopes.every((s) => typeof s === 'string' && /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s))
  ) {
    throw new InvalidOptionError(
      'oauth2.scopes',
      'must be an array of scope names (RFC 6749 §3.3: printable ASCII, no space, " or \\)',
    );
  }
  const params = plainObject('oauth2.endpointParams', endpointParams, undefined);
  for (const [k, v] of Object.entries(params)) {
    if (typeof v !== 'string') throw new InvalidOptionError(`oauth2.endpointParams.${k}`, 'must be a string');
    if (k === 'grant_type' || k === 'scope') {
      throw new InvalidOptionError(
        `oauth2.endpointParams.${k}`,
        k === 'scope' ? 'cannot be set: use oauth2.scopes' : 'cannot be set: the grant is client_credentials',
      );
    }
  }
  const agent = agentForEndpoint(transport, tokenUrl);
  return new OAuth2Authorizer(
    { tokenUrl, clientId, clientSecret, scopes, endpointParams: params as Record<string, string> },
    { timeoutMillis, ...(agent !== undefined ? { agent } : {}) },
  );
}

function resolveSigV4(value: unknown): SigV4Authorizer {
  const o = plainObject('sigv4', value, ['region', 'service', 'credentials']);
  const region = o['region'] ?? (process.env['AWS_REGION'] || process.env['AWS_DEFAULT_REGION']);
  if (typeof region !== 'string' || !/^[a-z0-9-]+$/.test(region)) {
    throw new InvalidOptionError(
      'sigv4.region',
      region === undefined
        ? 'is required (or AWS_REGION): the AWS region, e.g. "us-east-1"'
        : 'must be an AWS region such as "us-east-1"',
    );
  }
  const service = o['service'] ?? 'aps';
  if (typeof service !== 'string' || !/^[a-z0-9-]+$/.test(service)) {
    throw new InvalidOptionError('sigv4.service', 'must be an AWS signing name such as "aps"');
  }
  const credentials = o['credentials'];
  if (credentials !== undefined && typeof credentials !== 'function') {
    // Other keys are let through: the AWS SDK's credential objects carry more (expiration, accountId…).
    const c = plainObject('sigv4.credentials', credentials, undefined);
    if (
      typeof c['accessKeyId'] !== 'string' ||
      c['accessKeyId'] === '' ||
      typeof c['secretAccessKey'] !== 'string'
    ) {
      throw new InvalidOptionError(
        'sigv4.credentials',
        'must be { accessKeyId, secretAccessKey, sessionToken? } strings or a function returning them',
      );
    }
    if (c['sessionToken'] !== undefined && typeof c['sessionToken'] !== 'string') {
      throw new InvalidOptionError('sigv4.credentials.sessionToken', 'must be a string');
    }
  }
  return new SigV4Authorizer({
    region,
    service,
    credentials: credentials as AwsCredentials | AwsCredentialsProvider | undefined,
  });
}

/** An object option; with `keys`, any other key is refused as a likely misspelling. */
function plainObject(option: string, value: unknown, keys: string[] | undefined): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError(option, `must be an object, not ${kindOf(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (keys && !keys.includes(key)) {
      throw new InvalidOptionError(`${option}.${key}`, `is not an option of ${option} (${keys.join(', ')})`);
    }
  }
  return value as Record<string, unknown>;
}

/**
 * The headers every request carries (user headers, tenant, a fixed credential), and those
 * computed per attempt. At most one way to authenticate; none may replace the protocol's headers.
 */
function resolveHeaders(
  options: PrometheusRemoteWriteExporterOptions,
  url: URL,
): { headers: Record<string, string>; authorizers: Authorizer[] } {
  const headers = staticHeaders(options.headers);
  const lower = new Set(Object.keys(headers).map((h) => h.toLowerCase()));
  const inUrl = url.username !== '' || url.password !== '';
  const auths = [
    options.basicAuth !== undefined && 'basicAuth',
    options.bearerToken !== undefined && 'bearerToken',
    options.oauth2 !== undefined && 'oauth2',
    options.sigv4 !== undefined && 'sigv4',
    lower.has('authorization') && 'headers.Authorization',
    inUrl && 'credentials in url',
  ].filter((a): a is string => typeof a === 'string');
  if (auths.length > 1)
    throw new InvalidOptionError(
      auths.join(' and '),
      'cannot be used together: choose one way to authenticate',
    );

  // Names the exporter sets itself: a headers() function may not return them.
  const taken = new Map<string, string>(RESERVED_HEADERS.map((h) => [h, 'the remote-write protocol']));
  if (auths[0] && auths[0] !== 'headers.Authorization') taken.set('authorization', auths[0]);

  if (options.tenant !== undefined) {
    if (typeof options.tenant !== 'string' || options.tenant === '')
      throw new InvalidOptionError('tenant', 'must be a non-empty string (the X-Scope-OrgID header)');
    const problem = headerValueProblem(options.tenant);
    if (problem) throw new InvalidOptionError('tenant', problem);
    if (lower.has('x-scope-orgid'))
      throw new InvalidOptionError(
        'tenant and headers.X-Scope-OrgID',
        'cannot be used together: both set X-Scope-OrgID; keep one',
      );
    headers['X-Scope-OrgID'] = options.tenant;
    taken.set('x-scope-orgid', 'tenant');
  }

  const authorizers: Authorizer[] = [];
  if (typeof options.headers === 'function') {
    authorizers.push(new HeadersFunctionAuthorizer(options.headers, taken));
  }
  if (options.basicAuth !== undefined) {
    const { username, password } = (options.basicAuth ?? {}) as { username?: unknown; password?: unknown };
    if (typeof username !== 'string' || typeof password !== 'string') {
      throw new InvalidOptionError('basicAuth', 'must be { username: string, password: string }');
    }
    headers['Authorization'] = basicCredential('basicAuth', username, password);
  } else if (options.bearerToken !== undefined) {
    if (typeof options.bearerToken !== 'string' || options.bearerToken === '') {
      throw new InvalidOptionError('bearerToken', 'must be a non-empty string');
    }
    const problem = headerValueProblem(options.bearerToken);
    if (problem) throw new InvalidOptionError('bearerToken', problem);
    headers['Authorization'] = `Bearer ${options.bearerToken}`;
  } else if (options.oauth2 !== undefined) {
    const timeout = options.timeoutMillis;
    const valid = typeof timeout === 'number' && Number.isFinite(timeout) && timeout > 0;
    authorizers.push(resolveOAuth2(options.oauth2, valid ? timeout : DEFAULT_TIMEOUT_MILLIS, options));
  } else if (options.sigv4 !== undefined) {
    for (const h of ['x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256']) taken.set(h, 'sigv4');
    // Last: it signs every header the others set.
    authorizers.push(resolveSigV4(options.sigv4));
  } else if (inUrl) {
    headers['Authorization'] = urlCredential(url);
  }
  return { headers, authorizers };
}

/**
 * `translationStrategy`, `addMetricSuffixes` (its older spelling, for the suffix choice only) and
 * `namespace`, resolved and checked together. Shared with RemoteWriteClient, which names
 * metrics itself.
 */
export function resolveNaming(
  options: Pick<
    PrometheusRemoteWriteExporterOptions,
    'translationStrategy' | 'addMetricSuffixes' | 'namespace'
  >,
): Required<MetricNameOptions> {
  const given = options.translationStrategy;
  if (given !== undefined && !TRANSLATION_STRATEGIES.includes(given)) {
    throw new InvalidOptionError(
      'translationStrategy',
      `must be one of ${TRANSLATION_STRATEGIES.map((s) => JSON.stringify(s)).join(', ')}`,
      given,
    );
  }
  const suffixes = options.addMetricSuffixes;
  if (suffixes !== undefined && typeof suffixes !== 'boolean') {
    throw new InvalidOptionError('addMetricSuffixes', 'must be true or false', suffixes);
  }
  const translationStrategy = strategyOf({
    translationStrategy: given,
    addMetricSuffixes: suffixes,
    namespace: '',
  });
  if (suffixes !== undefined && suffixes !== addsSuffixes(translationStrategy)) {
    throw new InvalidOptionError(
      'addMetricSuffixes and translationStrategy',
      `disagree: "${translationStrategy}" ${addsSuffixes(translationStrategy) ? 'adds' : 'adds no'} suffixes; ` +
        'leave addMetricSuffixes out',
    );
  }
  const raw = options.namespace ?? '';
  if (typeof raw !== 'string') throw new InvalidOptionError('namespace', 'must be a string', raw);
  const namespace = raw === '' ? '' : namespaceFor(raw, translationStrategy);
  if (raw !== '' && (escapesNames(translationStrategy) ? namespace === '' : !isUtf8Name(raw))) {
    throw new InvalidOptionError(
      'namespace',
      escapesNames(translationStrategy)
        ? 'has no character valid in a Prometheus name ([a-zA-Z0-9_:])'
        : 'must be valid UTF-8',
      raw,
    );
  }
  return { translationStrategy, addMetricSuffixes: addsSuffixes(translationStrategy), namespace };
}

export function resolveOptions(explicit: PrometheusRemoteWriteExporterOptions): ResolvedOptions {
  if (explicit === null || typeof explicit !== 'object') {
    throw new InvalidOptionError('options', 'must be an object with at least { url }', explicit);
  }
  checkOptionNames(explicit);
  // OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_* fill in what the options leave out (env.ts).
  const { options, sources } = withEnvironment(explicit);
  const url = parseUrl(options.url);
  checkRuntimeSupport(options, url, sources);
  const transport = resolveTransport(options, url, sources);
  const { headers, authorizers } = resolveHeaders(options, url);
  // Credentials travel in the Authorization header only, never in the URL used for requests and messages.
  url.username = '';
  url.password = '';

  const timeoutMillis = options.timeoutMillis ?? DEFAULT_TIMEOUT_MILLIS;
  if (typeof timeoutMillis !== 'number' || !(timeoutMillis > 0 && timeoutMillis <= MAX_TIMER_MILLIS)) {
    throw new InvalidOptionError(
      'timeoutMillis',
      `must be a positive number of milliseconds, at most ${MAX_TIMER_MILLIS}`,
      timeoutMillis,
    );
  }

  const naming = resolveNaming(options);

  // External labels are the user's own names, never rewritten: they must already be valid for
  // the strategy (classic under the escaping ones, any UTF-8 under the others).
  const utf8Labels = !escapesNames(naming.translationStrategy);
  const externalLabels = new Map<string, string>();
  for (const [name, value] of Object.entries(stringRecord('externalLabels', options.externalLabels))) {
    if (!(utf8Labels ? isUtf8Name(name) : LABEL_NAME_RE.test(name)) || name === '__name__') {
      throw new InvalidOptionError(
        `externalLabels.${name}`,
        utf8Labels
          ? `must be a non-empty UTF-8 label name under translationStrategy "${naming.translationStrategy}" (and not __name__)`
          : 'must be a label name matching [a-zA-Z_][a-zA-Z0-9_]* (and not __name__)',
      );
    }
    if (value === '')
      throw new InvalidOptionError(
        `externalLabels.${name}`,
        'must not be empty (an empty label value is no label)',
      );
    if (!isUtf8Name(value))
      throw new InvalidOptionError(`externalLabels.${name}`, 'must be valid UTF-8 (it has a lone surrogate)');
    externalLabels.set(name, value);
  }

  const promote = options.promoteResourceAttributes ?? [];
  if (promote !== 'all' && !(Array.isArray(promote) && promote.every((k) => typeof k === 'string'))) {
    throw new InvalidOptionError(
      'promoteResourceAttributes',
      'must be an array of attribute keys or "all"',
      promote,
    );
  }

  if (options.agent !== undefined && (options.agent === null || typeof options.agent !== 'object')) {
    throw new InvalidOptionError('agent', 'must be an http.Agent or https.Agent', options.agent);
  }

  const debug = options.debug;
  if (debug !== undefined && typeof debug !== 'boolean' && typeof debug !== 'function') {
    throw new InvalidOptionError('debug', 'must be true, false or a function receiving the text', debug);
  }
  const protocol = options.protocol ?? DELIVERY_DEFAULTS.protocol;
  if (protocol !== 'v1' && protocol !== 'v2' && protocol !== 'auto') {
    throw new InvalidOptionError('protocol', 'must be "v1", "v2" or "auto"', protocol);
  }
  const minBackoffMillis = number(options, 'minBackoffMillis', 0, MAX_BACKOFF_CAP_MILLIS);
  const maxBackoffMillis = number(options, 'maxBackoffMillis', 0, MAX_BACKOFF_CAP_MILLIS);
  if (maxBackoffMillis < minBackoffMillis) {
    // Name the option the user gave: a minBackoffMillis above the default maximum is its fault.
    throw options.maxBackoffMillis === undefined
      ? new InvalidOptionError(
          'minBackoffMillis',
          `must not be above maxBackoffMillis (${maxBackoffMillis}, its default)`,
          minBackoffMillis,
        )
      : new InvalidOptionError(
          'maxBackoffMillis',
          `must not be below minBackoffMillis (${minBackoffMillis})`,
          maxBackoffMillis,
        );
  }
  const spoolDir = options.spoolDir;
  if (spoolDir !== undefined && (typeof spoolDir !== 'string' || spoolDir === '')) {
    throw new InvalidOptionError('spoolDir', 'must be a directory path', spoolDir);
  }
  const meter = options.meter;
  if (meter !== undefined && (meter === null || typeof meter.createObservableCounter !== 'function')) {
    throw new InvalidOptionError('meter', 'must be an OpenTelemetry Meter (from metrics.getMeter())', meter);
  }

  const explicitHistogramsAsNative = flag(options, 'explicitHistogramsAsNative', false);
  if (explicitHistogramsAsNative && protocol !== 'v2') {
    // Schema −53 over RW 1.0 is refused by Prometheus 2.x; under 'auto' the protocol is not
    // known when series are built.
    throw new InvalidOptionError('explicitHistogramsAsNative', 'needs protocol "v2"', protocol);
  }
  const maxSamplesPerSend = integer(options, 'maxSamplesPerSend', 1);
  const queueCapacity = options.queueCapacity === undefined ? Infinity : integer(options, 'queueCapacity', 1);
  if (queueCapacity < maxSamplesPerSend) {
    throw new InvalidOptionError(
      'queueCapacity',
      `must be at least maxSamplesPerSend (${maxSamplesPerSend}): the queue holds whole requests`,
      queueCapacity,
    );
  }

  return {
    url,
    headers,
    authorizers,
    timeoutMillis,
    ...naming,
    externalLabels,
    withoutTargetInfo: flag(options, 'withoutTargetInfo', false),
    withoutScopeInfo: flag(options, 'withoutScopeInfo', false),
    promoteResourceAttributes: promote,
    sendMetadata: flag(options, 'sendMetadata', true),
    markStaleOnShutdown: flag(options, 'markStaleOnShutdown', false),
    markStaleWhenMissing: flag(options, 'markStaleWhenMissing', true),
    explicitHistogramsAsNative,
    agent: options.agent,
    tls: transport.tls,
    proxy: transport.proxy,
    debug: debug === true ? (text: string) => void process.stdout.write(text) : debug || undefined,
    protocol,
    maxSamplesPerSend,
    maxRequestBytes: integer(options, 'maxRequestBytes', 1024),
    minBackoffMillis,
    maxBackoffMillis,
    maxRetryElapsedMillis: number(options, 'maxRetryElapsedMillis', 0, Infinity),
    flushTimeoutMillis: number(options, 'flushTimeoutMillis', 0, MAX_TIMER_MILLIS),
    shutdownTimeoutMillis: number(options, 'shutdownTimeoutMillis', 0, MAX_TIMER_MILLIS),
    maxConcurrentRequests: integer(options, 'maxConcurrentRequests', 1, 64),
    maxQueueBytes: integer(options, 'maxQueueBytes', 1024),
    queueCapacity,
    spoolDir,
    spoolMaxBytes: integer(options, 'spoolMaxBytes', 1),
    spoolMaxAgeMillis: number(options, 'spoolMaxAgeMillis', 1, Infinity),
    meter,
  };
}

type NumericOption = {
  [K in keyof typeof DELIVERY_DEFAULTS]: (typeof DELIVERY_DEFAULTS)[K] extends number ? K : never;
}[keyof typeof DELIVERY_DEFAULTS];

function number(
  options: PrometheusRemoteWriteExporterOptions,
  key: NumericOption,
  min: number,
  max: number,
): number {
  const value = options[key] ?? DELIVERY_DEFAULTS[key];
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    const range = max >= Number.MAX_SAFE_INTEGER ? `at least ${min}` : `between ${min} and ${max}`;
    throw new InvalidOptionError(key, `must be a number ${range}`, value);
  }
  return value;
}

function integer(
  options: PrometheusRemoteWriteExporterOptions,
  key: NumericOption,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const value = number(options, key, min, max);
  if (!Number.isInteger(value)) throw new InvalidOptionError(key, 'must be a whole number', value);
  return value;
}
