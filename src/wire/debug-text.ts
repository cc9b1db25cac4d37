/**
 * The debug view of a request: Prometheus text exposition of the series it carries, in the
 * format of the Python client this project grew from (`[DEBUG] remote_write_req_seq: N`).
 * A pure function of the model, so the exporter, the client and `prw receive` print alike.
 */
import {
  MetricType,
  type BucketSpan,
  type Label,
  type MetricFamilyMetadata,
  type NativeHistogram,
  type TimeSeries,
} from '../model.js';

export interface DebugTextOptions {
  /** Append each sample's timestamp (ms), as the text format allows. Default false. */
  timestamps?: boolean;
}

const TYPE_NAMES: Readonly<Record<number, string>> = {
  [MetricType.UNKNOWN]: 'unknown',
  [MetricType.COUNTER]: 'counter',
  [MetricType.GAUGE]: 'gauge',
  [MetricType.HISTOGRAM]: 'histogram',
  [MetricType.GAUGEHISTOGRAM]: 'gaugehistogram',
  [MetricType.SUMMARY]: 'summary',
  [MetricType.INFO]: 'info',
  [MetricType.STATESET]: 'stateset',
};

/**
 * One request as text, ending with a blank line. `seq` counts requests from 1. One `# TYPE`
 * line per family (`unknown` without metadata), families in order of first appearance; a
 * classic histogram's lines as `_bucket`… (by `le`), `_count`, `_sum` per label set. Stale
 * markers print as `NaN # stale`. Header values never reach this function.
 */
export function formatDebugText(
  seq: number,
  series: readonly TimeSeries[],
  metadata: ReadonlyMap<string, MetricFamilyMetadata>,
  options: DebugTextOptions = {},
): string {
  const families = new Map<string, TimeSeries[]>();
  for (const s of series) {
    const list = families.get(s.family);
    if (list) list.push(s);
    else families.set(s.family, [s]);
  }
  let out = `[DEBUG] remote_write_req_seq: ${seq}\n`;
  for (const [family, members] of families) {
    const meta = metadata.get(family);
    const shown = textName(family, METRIC_NAME_RE);
    if (meta && meta.help !== '') out += `# HELP ${shown} ${escapeHelp(meta.help)}\n`;
    out += `# TYPE ${shown} ${TYPE_NAMES[meta?.type ?? MetricType.UNKNOWN] ?? 'unknown'}\n`;
    const ordered =
      meta?.type === MetricType.HISTOGRAM || meta?.type === MetricType.GAUGEHISTOGRAM
        ? histogramOrder(family, members)
        : members;
    for (const s of ordered) out += seriesLines(s, options);
  }
  return out + '\n';
}

function seriesLines(s: TimeSeries, options: DebugTextOptions): string {
  const head = seriesHead(s.labels);
  let out = '';
  for (const sample of s.samples) {
    out += `${head} ${sample.stale ? 'NaN' : formatNumber(sample.value)}`;
    if (options.timestamps) out += ` ${sample.timestampMs}`;
    out += sample.stale ? ' # stale\n' : '\n';
  }
  for (const h of s.histograms ?? []) {
    out += `${head} ${h.stale ? 'NaN' : formatNativeHistogram(h)}`;
    if (options.timestamps) out += ` ${h.timestampMs}`;
    out += h.stale ? ' # stale\n' : '\n';
  }
  return out;
}

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A name as the text format writes it: as is when it is a classic name, else quoted, as the text
 * format does for UTF-8 names since Prometheus 3.0 (`{"my.metric","my.label"="1"}`).
 */
function textName(name: string, classic: RegExp): string {
  return classic.test(name) ? name : `"${escapeLabelValue(name)}"`;
}

/**
 * `name{a="1",b="2",le="0.5"}`: labels in name order with `le` last, no `__name__`. A metric
 * name that is not a classic one moves inside the braces, quoted, first.
 */
function seriesHead(labels: readonly Label[]): string {
  let name = '';
  let le: Label | undefined;
  const parts: string[] = [];
  for (const l of labels) {
    if (l.name === '__name__') name = l.value;
    else if (l.name === 'le') le = l;
    else parts.push(`${textName(l.name, LABEL_NAME_RE)}="${escapeLabelValue(l.value)}"`);
  }
  if (le) parts.push(`le="${escapeLabelValue(le.value)}"`);
  if (name !== '' && !METRIC_NAME_RE.test(name))
    return `{${[textName(name, METRIC_NAME_RE), ...parts].join(',')}}`;
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

/**
 * Classic histogram lines grouped per label set (first appearance first): buckets in `le`
 * order, then `_count`, then `_sum`, then anything else of the family as it came.
 */
function histogramOrder(family: string, members: readonly TimeSeries[]): TimeSeries[] {
  const rank = (s: TimeSeries): number => {
    const name = labelValue(s.labels, '__name__');
    if (name === `${family}_bucket`) return 0;
    if (name === `${family}_count`) return 1;
    if (name === `${family}_sum`) return 2;
    return 3;
  };
  const groups = new Map<string, TimeSeries[]>();
  for (const s of members) {
    const id = s.labels
      .filter((l) => l.name !== '__name__' && l.name !== 'le')
      .map((l) => `${l.name}\u0000${l.value}`)
      .join('\u0000');
    const group = groups.get(id);
    if (group) group.push(s);
    else groups.set(id, [s]);
  }
  const out: TimeSeries[] = [];
  for (const group of groups.values()) {
    // Array.prototype.sort is stable: equal ranks keep their order.
    group.sort((a, b) => rank(a) - rank(b) || (rank(a) === 0 ? leOf(a) - leOf(b) : 0));
    out.push(...group);
  }
  return out;
}

function labelValue(labels: readonly Label[], name: string): string | undefined {
  for (const l of labels) if (l.name === name) return l.value;
  return undefined;
}

function leOf(s: TimeSeries): number {
  const le = labelValue(s.labels, 'le');
  if (le === undefined) return Infinity;
  if (le === '+Inf') return Infinity;
  const n = Number(le);
  return Number.isNaN(n) ? Infinity : n;
}

/** The shortest decimal that round-trips (JavaScript's default), `+Inf`/`-Inf`/`NaN` as in the text format. */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Label values escape `\`, `"` and newline (text exposition format). */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}

/** HELP text escapes `\` and newline. */
function escapeHelp(value: string): string {
  return value.replace(/[\\\n]/g, (c) => (c === '\\' ? '\\\\' : '\\n'));
}

/**
 * A native histogram in one readable line:
 * `{count:3, sum:12.8, schema:0, zero_count:0, buckets: (0.5,1]:1 (2,4]:2}`.
 * Bucket bounds come from the schema: base = 2^(2^-schema), positive bucket i covers
 * (base^(i-1), base^i], negative bucket i covers [-base^i, -base^(i-1)); schema −53 uses the
 * custom bounds. Empty buckets are left out; `zero_threshold` shows when it is not 0.
 */
export function formatNativeHistogram(h: NativeHistogram): string {
  const parts = [`count:${formatNumber(h.count)}`, `sum:${formatNumber(h.sum)}`, `schema:${h.schema}`];
  if (h.zeroThreshold !== 0) parts.push(`zero_threshold:${formatNumber(h.zeroThreshold)}`);
  parts.push(`zero_count:${formatNumber(h.zeroCount)}`);
  const buckets: string[] = [];
  // Negative buckets from the most negative bound up, so the line reads left to right.
  const negative = expandBuckets(h.negativeSpans, h.negativeDeltas).reverse();
  for (const [index, count] of negative) {
    if (count === 0) continue;
    const [lower, upper] = bucketBounds(h, index);
    buckets.push(`[${formatNumber(-upper)},${formatNumber(-lower)}):${formatNumber(count)}`);
  }
  for (const [index, count] of expandBuckets(h.positiveSpans, h.positiveDeltas)) {
    if (count === 0) continue;
    const [lower, upper] = bucketBounds(h, index);
    buckets.push(`(${formatNumber(lower)},${formatNumber(upper)}]:${formatNumber(count)}`);
  }
  parts.push(`buckets:${buckets.length === 0 ? '' : ' ' + buckets.join(' ')}`);
  return `{${parts.join(', ')}}`;
}

/** Spans and delta-encoded counts → [bucket index, absolute count] in index order. */
function expandBuckets(spans: readonly BucketSpan[], deltas: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let index = 0;
  let d = 0;
  let count = 0;
  for (let s = 0; s < spans.length; s++) {
    const span = spans[s] as BucketSpan;
    index += span.offset;
    for (let j = 0; j < span.length; j++, d++, index++) {
      count += deltas[d] ?? 0;
      out.push([index, count]);
    }
  }
  return out;
}

const CUSTOM_BUCKETS_SCHEMA = -53;

/** (lower, upper) of bucket `index` by absolute value. */
function bucketBounds(h: NativeHistogram, index: number): [number, number] {
  if (h.schema === CUSTOM_BUCKETS_SCHEMA) {
    const bounds = h.customValues ?? [];
    const lower = index === 0 ? -Infinity : (bounds[index - 1] ?? Infinity);
    const upper = index < bounds.length ? (bounds[index] as number) : Infinity;
    return [lower, upper];
  }
  // base^i = 2^(i·2^-schema); computed from the exponent so bounds of schema 0 stay exact.
  const step = Math.pow(2, -h.schema);
  return [Math.pow(2, (index - 1) * step), Math.pow(2, index * step)];
}
