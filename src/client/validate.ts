/**
 * Checks of the client's input. A bad call throws before anything is recorded or sent, with a
 * message that names the metric, the label or the value at fault.
 */
import { decimalString } from '../translate/decimal.js';
import { LABEL_NAME_RE, METRIC_NAME_RE } from '../translate/names.js';

export type LabelValue = string | number | boolean;
export type Labels = Readonly<Record<string, LabelValue>>;
/** Milliseconds since the epoch, or a Date. */
export type Timestamp = number | Date;

/** Timestamps below this are taken for seconds: 1e11 ms is March 1973, 1e11 s is year 5138. */
const SECONDS_LIMIT = 1e11;
/** The last millisecond a Date can hold (ECMA-262 §21.4.1.1): later is no time at all. */
const MAX_TIME_MS = 8.64e15;

export class RemoteWriteClientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(`RemoteWriteClient: ${message}`, options);
    this.name = 'RemoteWriteClientError';
  }
}

export function checkMetricName(method: string, name: unknown): string {
  if (typeof name !== 'string' || name === '') {
    throw new RemoteWriteClientError(
      `${method}: the metric name must be a non-empty string, got ${show(name)}`,
    );
  }
  if (!METRIC_NAME_RE.test(name)) {
    throw new RemoteWriteClientError(
      `${method}: invalid metric name ${JSON.stringify(name)}: it must match [a-zA-Z_:][a-zA-Z0-9_:]*`,
    );
  }
  return name;
}

/**
 * Labels → attributes with string values and sorted names. Numbers and booleans are written as
 * the exporter writes them, so `{ shard: 1 }` and `{ shard: '1' }` are one series.
 */
export function checkLabels(
  method: string,
  metric: string,
  labels: unknown,
  reserved: readonly string[] = [],
): Record<string, string> {
  if (labels === undefined || labels === null) return {};
  if (typeof labels !== 'object' || Array.isArray(labels)) {
    throw new RemoteWriteClientError(
      `${method}(${JSON.stringify(metric)}): labels must be an object of name → value, got ${show(labels)}`,
    );
  }
  const out: Record<string, string> = {};
  for (const name of Object.keys(labels).sort()) {
    const value = (labels as Record<string, unknown>)[name];
    const where = `${method}(${JSON.stringify(metric)}): label ${JSON.stringify(name)}`;
    if (!LABEL_NAME_RE.test(name)) {
      throw new RemoteWriteClientError(`${where}: invalid label name: it must match [a-zA-Z_][a-zA-Z0-9_]*`);
    }
    if (name.startsWith('__')) {
      throw new RemoteWriteClientError(`${where}: names starting with "__" are reserved by Prometheus`);
    }
    if (reserved.includes(name)) {
      throw new RemoteWriteClientError(`${where}: this label is set by the client itself`);
    }
    let text: string;
    if (typeof value === 'string') text = value;
    else if (typeof value === 'number') text = decimalString(value);
    else if (typeof value === 'boolean') text = value ? 'true' : 'false';
    else {
      throw new RemoteWriteClientError(
        `${where}: the value must be a string, number or boolean, got ${show(value)}`,
      );
    }
    if (text === '') {
      throw new RemoteWriteClientError(
        `${where}: the value is empty (in Prometheus an empty value means no label: leave the label out)`,
      );
    }
    out[name] = text;
  }
  return out;
}

/** An explicit timestamp → whole milliseconds; `undefined` when the caller gave none. */
export function checkTimestamp(method: string, series: string, ts: unknown): number | undefined {
  if (ts === undefined || ts === null) return undefined;
  const ms = ts instanceof Date ? ts.getTime() : ts;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new RemoteWriteClientError(
      `${method} ${series}: the timestamp must be milliseconds since the epoch (a finite number or a Date), got ${show(ts)}`,
    );
  }
  if (ms < SECONDS_LIMIT) {
    throw new RemoteWriteClientError(
      `${method} ${series}: timestamp ${ms} looks like seconds; timestamps are milliseconds since the epoch ` +
        `(e.g. Date.now(), or seconds × 1000)`,
    );
  }
  if (ms > MAX_TIME_MS) {
    throw new RemoteWriteClientError(
      `${method} ${series}: timestamp ${ms} is past the last time a Date can hold (${MAX_TIME_MS} ms)`,
    );
  }
  return Math.floor(ms);
}

export function checkBuckets(where: string, bounds: unknown): number[] {
  if (!Array.isArray(bounds)) {
    throw new RemoteWriteClientError(
      `${where}: bucket bounds must be an array of numbers, got ${show(bounds)}`,
    );
  }
  const out: number[] = [];
  for (let i = 0; i < bounds.length; i++) {
    const b: unknown = bounds[i];
    if (typeof b !== 'number' || Number.isNaN(b) || b === -Infinity) {
      throw new RemoteWriteClientError(`${where}: bucket bound #${i + 1} must be a number, got ${show(b)}`);
    }
    // +Inf is implied: accepted as the last bound and left out.
    if (b === Infinity) {
      if (i !== bounds.length - 1) {
        throw new RemoteWriteClientError(
          `${where}: bucket bounds must be strictly increasing, +Inf is not last`,
        );
      }
      break;
    }
    const prev = out[out.length - 1];
    if (prev !== undefined && !(b > prev)) {
      throw new RemoteWriteClientError(
        `${where}: bucket bounds must be strictly increasing, but ${b} follows ${prev}`,
      );
    }
    out.push(b);
  }
  return out;
}

export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? value.slice(0, 60) + '…' : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : value.toISOString();
  return Array.isArray(value) ? 'an array' : 'an object';
}

/** `name{a="1",b="2"}`, how the series reads in PromQL; used in messages and as the state key. */
export function seriesId(name: string, attributes: Readonly<Record<string, string>>): string {
  const parts = Object.keys(attributes)
    .sort()
    .map((k) => `${k}=${JSON.stringify(attributes[k])}`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}
