/**
 * OpenTelemetry → Prometheus metric and label names, in the classic character set
 * (`UnderscoreEscapingWithSuffixes`). Rules: OTel spec "Prometheus and OpenMetrics
 * Compatibility" §Metric Metadata and §Metric Attributes; prometheus/otlptranslator.
 * Pure functions, no state.
 */

/** What decides the suffixes: `_total` for counters, `_ratio` for gauges with unit "1". */
export type NameKind = 'counter' | 'gauge' | 'histogram';

/** UCUM unit → Prometheus unit word (otlptranslator unitMap; TiBy spelled as the OTel spec does). */
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tebibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '1': '',
  '%': 'percent',
};

/** The denominator of a rate unit (`1/s` → `per_second`). */
const PER_UNIT_WORDS: Readonly<Record<string, string>> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

const NOT_METRIC_TOKEN_CHAR = /[^a-zA-Z0-9:]+/;
const NOT_METRIC_NAME_CHAR = /[^a-zA-Z0-9_:]/g;
const NOT_LABEL_NAME_CHAR = /[^a-zA-Z0-9_]/g;
const LEADING_DIGIT = /^[0-9]/;

export const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function tokens(s: string): string[] {
  return s.split(NOT_METRIC_TOKEN_CHAR).filter((t) => t !== '');
}

/** Invalid characters → `_`, runs collapsed, leading `_` dropped (otlptranslator cleanUpUnit). */
function cleanUnitWord(word: string): string {
  return word.replace(NOT_METRIC_NAME_CHAR, '_').replace(/_+/g, '_').replace(/^_/, '');
}

/**
 * Splits a UCUM unit at the first `/` into the main and the per word. A part holding an
 * annotation (`{request}`) is dropped; unknown units pass through (OTel spec: "Unit").
 */
export function unitWords(unit: string): { main: string; per: string } {
  const slash = unit.indexOf('/');
  const mainPart = (slash < 0 ? unit : unit.slice(0, slash)).trim();
  const perPart = slash < 0 ? '' : unit.slice(slash + 1).trim();
  const keep = (part: string): boolean => part !== '' && !/[{}]/.test(part);
  const main = keep(mainPart) ? (UNIT_WORDS[mainPart] ?? mainPart) : '';
  const per = keep(perPart) ? (PER_UNIT_WORDS[perPart] ?? perPart) : '';
  return { main: cleanUnitWord(main), per: per === '' ? '' : cleanUnitWord('per_' + per) };
}

/** The unit as a Prometheus word for the UNIT metadata (`By/s` → `bytes_per_second`). */
export function unitMetadata(unit: string): string {
  const { main, per } = unitWords(unit);
  return [main, per]
    .filter((w) => w !== '')
    .join('_')
    .replace(/^_+|_+$/g, '');
}

export interface MetricNameOptions {
  readonly addMetricSuffixes: boolean;
  readonly namespace: string;
}

/**
 * The Prometheus name of an OpenTelemetry metric, or `undefined` when nothing valid is left
 * (e.g. a name made only of symbols): such a metric cannot be sent.
 *
 * With suffixes: the name is split into tokens at every character outside `[a-zA-Z0-9:]`
 * (so runs of `_` collapse), the unit word and `per_` word are appended unless already a token,
 * counters lose every `total` token and get one at the end, gauges with unit "1" the same with
 * `ratio`; the namespace goes first; a leading digit gets `_`.
 */
export function metricName(
  name: string,
  unit: string,
  kind: NameKind,
  options: MetricNameOptions,
): string | undefined {
  let result: string;
  if (options.addMetricSuffixes) {
    let parts = tokens(name);
    const { main, per } = unitWords(unit);
    const perWord = per.replace(/_$/, '');
    const addPer = perWord !== '' && perWord !== 'per' && !parts.includes(perWord);
    const mainWord = addPer ? main.replace(/_$/, '') : main;
    if (mainWord !== '' && !parts.includes(mainWord)) parts.push(mainWord);
    if (addPer) parts.push(perWord);
    if (kind === 'counter') parts = [...parts.filter((t) => t !== 'total'), 'total'];
    if (kind === 'gauge' && unit === '1') parts = [...parts.filter((t) => t !== 'ratio'), 'ratio'];
    if (options.namespace !== '') parts.unshift(options.namespace);
    result = parts.join('_');
  } else {
    // Without suffixes only invalid characters are replaced; existing underscores stay as they are.
    const base = name
      .split(/[^a-zA-Z0-9_:]+/)
      .filter((t) => t !== '')
      .join('_');
    result = options.namespace !== '' ? options.namespace + '_' + base : base;
  }
  if (LEADING_DIGIT.test(result)) result = '_' + result;
  return /^_*$/.test(result) ? undefined : result;
}

/**
 * The Prometheus label name of an attribute key, or `undefined` when nothing valid is left.
 * Invalid characters → `_`; a leading digit gets `key_` (otlptranslator LabelNamer). A single
 * leading `_` is kept: it is valid, and the `key` prefix for it is deprecated upstream.
 */
export function labelName(key: string): string | undefined {
  if (key === '') return undefined;
  let result = key.replace(NOT_LABEL_NAME_CHAR, '_');
  if (LEADING_DIGIT.test(result)) result = 'key_' + result;
  return /^_*$/.test(result) ? undefined : result;
}
