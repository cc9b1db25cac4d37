/**
 * Every exporter option, its default and its validation, in one place. Bad options fail at
 * construction with a message that names the option and what was expected.
 */
import type http from 'node:http';
import type { Meter } from '@opentelemetry/api';
import { isReservedHeader } from './deliver/sender.js';
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
  /** The remote-write endpoint, e.g. `http://127.0.0.1:9090/api/v1/write`. Required. */
  url: string | URL;
  /** Extra HTTP headers (e.g. `X-Scope-OrgID` for Mimir). Cannot replace the remote-write headers. */
  headers?: Record<string, string>;
  /** HTTP basic authentication. */
  basicAuth?: { username: string; password: string };
  /** Sent as `Authorization: Bearer <token>`. */
  bearerToken?: string;
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
  /** An `http.Agent`/`https.Agent` for TLS settings (CA, client certificates) or proxies. Default: a keep-alive agent. */
  agent?: http.Agent;
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

export interface ResolvedOptions {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
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
      'is required: the remote-write endpoint, e.g. "http://127.0.0.1:9090/api/v1/write"',
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

function resolveHeaders(options: PrometheusRemoteWriteExporterOptions, url: URL): Record<string, string> {
  const headers = stringRecord('headers', options.headers);
  const lower = new Set(Object.keys(headers).map((h) => h.toLowerCase()));
  for (const name of Object.keys(headers)) {
    if (isReservedHeader(name)) {
      throw new InvalidOptionError(
        `headers.${name}`,
        'cannot be set: the remote-write protocol fixes this header',
      );
    }
  }
  const auths = [
    options.basicAuth !== undefined && 'basicAuth',
    options.bearerToken !== undefined && 'bearerToken',
    lower.has('authorization') && 'headers.Authorization',
    (url.username !== '' || url.password !== '') && 'credentials in url',
  ].filter(Boolean);
  if (auths.length > 1)
    throw new InvalidOptionError(
      auths.join(' and '),
      'cannot be used together: choose one way to authenticate',
    );

  if (options.basicAuth !== undefined) {
    const { username, password } = (options.basicAuth ?? {}) as { username?: unknown; password?: unknown };
    if (typeof username !== 'string' || typeof password !== 'string') {
      throw new InvalidOptionError('basicAuth', 'must be { username: string, password: string }');
    }
    headers['Authorization'] = 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64');
  } else if (options.bearerToken !== undefined) {
    if (typeof options.bearerToken !== 'string' || options.bearerToken === '') {
      throw new InvalidOptionError('bearerToken', 'must be a non-empty string');
    }
    headers['Authorization'] = `Bearer ${options.bearerToken}`;
  } else if (url.username !== '' || url.password !== '') {
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    headers['Authorization'] = 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
  }
  return headers;
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

export function resolveOptions(options: PrometheusRemoteWriteExporterOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', 'must be an object with at least { url }', options);
  }
  const url = parseUrl(options.url);
  const headers = resolveHeaders(options, url);
  // Credentials travel in the Authorization header only, never in the URL used for requests and messages.
  url.username = '';
  url.password = '';

  const timeoutMillis = options.timeoutMillis ?? DEFAULT_TIMEOUT_MILLIS;
  if (typeof timeoutMillis !== 'number' || !Number.isFinite(timeoutMillis) || timeoutMillis <= 0) {
    throw new InvalidOptionError('timeoutMillis', 'must be a positive number of milliseconds', timeoutMillis);
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
    throw new InvalidOptionError(
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
    debug: debug === true ? (text: string) => void process.stdout.write(text) : debug || undefined,
    protocol,
    maxSamplesPerSend,
    maxRequestBytes: integer(options, 'maxRequestBytes', 1024),
    minBackoffMillis,
    maxBackoffMillis,
    maxRetryElapsedMillis: number(options, 'maxRetryElapsedMillis', 0, Infinity),
    flushTimeoutMillis: number(options, 'flushTimeoutMillis', 0, Infinity),
    shutdownTimeoutMillis: number(options, 'shutdownTimeoutMillis', 0, Infinity),
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
