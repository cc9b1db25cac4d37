/**
 * OpenTelemetry → Prometheus metric and label names, for each translation strategy. Rules: OTel
 * spec "Prometheus and OpenMetrics Compatibility" §Metric Metadata and §Metric Attributes, and
 * "Prometheus exporter" §Translation Strategy; prometheus/otlptranslator, whose test tables are
 * test/unit-naming-reference.test.ts. Pure functions, no state.
 */

/**
 * How names are translated (OTel spec, Prometheus exporter §Translation Strategy): escaped to
 * the classic character set or sent as UTF-8, with or without unit and type suffixes.
 */
export type TranslationStrategy =
  | 'UnderscoreEscapingWithSuffixes'
  | 'UnderscoreEscapingWithoutSuffixes'
  | 'NoUTF8EscapingWithSuffixes'
  | 'NoTranslation';

export const TRANSLATION_STRATEGIES: readonly TranslationStrategy[] = [
  'UnderscoreEscapingWithSuffixes',
  'UnderscoreEscapingWithoutSuffixes',
  'NoUTF8EscapingWithSuffixes',
  'NoTranslation',
];

export const DEFAULT_TRANSLATION_STRATEGY: TranslationStrategy = 'UnderscoreEscapingWithSuffixes';

/** Whether names are escaped to `[a-zA-Z0-9_:]` (otherwise they travel as UTF-8). */
export function escapesNames(strategy: TranslationStrategy): boolean {
  return strategy === 'UnderscoreEscapingWithSuffixes' || strategy === 'UnderscoreEscapingWithoutSuffixes';
}

/** Whether unit and type suffixes (`_seconds`, `_total`, `_ratio`) are added. */
export function addsSuffixes(strategy: TranslationStrategy): boolean {
  return strategy === 'UnderscoreEscapingWithSuffixes' || strategy === 'NoUTF8EscapingWithSuffixes';
}

/** What decides the suffixes: `_total` for counters, `_ratio` for gauges with unit "1". */
export type NameKind = 'counter' | 'gauge' | 'histogram';

/**
 * UCUM unit → Prometheus unit word: otlptranslator's unitMap, with the spelling of the OTel
 * spec's table (§Metric Metadata) where the two differ: `TiBy` is `tebibytes` (otlptranslator's
 * default strategies write `tibibytes`), and `kBy` is known besides otlptranslator's `KBy`.
 */
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
  kBy: 'kilobytes',
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
const NOT_METRIC_NAME_CHARS = /[^a-zA-Z0-9_:]+/;
const NOT_LABEL_TOKEN_CHARS = /[^a-zA-Z0-9]+/g;
const LEADING_DIGIT = /^[0-9]/;
const ONLY_UNDERSCORES = /^_*$/;
/** A letter or digit just before a suffix: it is part of a word, not a delimiter. */
const ENDS_IN_WORD_CHAR = /[\p{L}\p{N}]$/u;

export const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function tokens(s: string): string[] {
  return s.split(NOT_METRIC_TOKEN_CHAR).filter((t) => t !== '');
}

/** Invalid characters → `_`, runs collapsed, leading `_` dropped (otlptranslator cleanUpUnit). */
function cleanUnitWord(word: string): string {
  return word.replace(/[^a-zA-Z0-9:]+/g, '_').replace(/^_/, '');
}

/**
 * Splits a UCUM unit at the first `/` into the main and the per word, mapped through the unit
 * tables but not sanitized. A part holding an annotation (`{request}`) is dropped; unknown units
 * pass through (OTel spec §Metric Metadata).
 */
function rawUnitWords(unit: string): { main: string; per: string } {
  const slash = unit.indexOf('/');
  const mainPart = (slash < 0 ? unit : unit.slice(0, slash)).trim();
  const perPart = slash < 0 ? '' : unit.slice(slash + 1).trim();
  const keep = (part: string): boolean => part !== '' && !/[{}]/.test(part);
  const main = keep(mainPart) ? (UNIT_WORDS[mainPart] ?? mainPart) : '';
  const per = keep(perPart) ? 'per_' + (PER_UNIT_WORDS[perPart] ?? perPart) : '';
  return { main, per };
}

/** The unit words in the classic character set (`per_` + an invalid word leaves `per_`). */
function unitWords(unit: string): { main: string; per: string } {
  const { main, per } = rawUnitWords(unit);
  return { main: cleanUnitWord(main), per: cleanUnitWord(per) };
}

/**
 * The unit as a Prometheus word for the UNIT metadata (`By/s` → `bytes_per_second`); under the
 * UTF-8 strategies unknown units are not sanitized (otlptranslator UnitNamer).
 */
export function unitMetadata(
  unit: string,
  strategy: TranslationStrategy = DEFAULT_TRANSLATION_STRATEGY,
): string {
  const { main, per } = escapesNames(strategy) ? unitWords(unit) : rawUnitWords(unit);
  return [main, per]
    .filter((w) => w !== '')
    .join('_')
    .replace(/^_+|_+$/g, '');
}

export interface MetricNameOptions {
  /** Default `UnderscoreEscapingWithSuffixes`; see strategyOf for `addMetricSuffixes`. */
  readonly translationStrategy?: TranslationStrategy;
  /** The older spelling of the suffix choice; options.ts keeps it consistent with the strategy. */
  readonly addMetricSuffixes?: boolean;
  /** As resolved by namespaceFor (options.ts): already in the strategy's character set. */
  readonly namespace: string;
}

/** The strategy of these options: `addMetricSuffixes: false` alone means `UnderscoreEscapingWithoutSuffixes`. */
export function strategyOf(options: MetricNameOptions): TranslationStrategy {
  if (options.translationStrategy !== undefined) return options.translationStrategy;
  return options.addMetricSuffixes === false
    ? 'UnderscoreEscapingWithoutSuffixes'
    : DEFAULT_TRANSLATION_STRATEGY;
}

/**
 * A configured namespace as it prefixes names: sanitized as metric names are under the escaping
 * strategies (as otlptranslator does: `test@namespace!!??` → `test_namespace`), unchanged under
 * the UTF-8 ones. Empty when nothing valid is left.
 */
export function namespaceFor(namespace: string, strategy: TranslationStrategy): string {
  if (strategy === 'UnderscoreEscapingWithSuffixes') return tokens(namespace).join('_');
  if (strategy === 'UnderscoreEscapingWithoutSuffixes') return withoutSuffixesBase(namespace);
  return namespace;
}

/** Runs of invalid characters → one `_`; underscores already there stay (otlptranslator). */
function withoutSuffixesBase(name: string): string {
  return name
    .split(NOT_METRIC_NAME_CHARS)
    .filter((t) => t !== '')
    .join('_');
}

/**
 * The Prometheus name of an OpenTelemetry metric, or `undefined` when it cannot be sent (nothing
 * valid left, or empty). One call per metric and export: every strategy decision is made here.
 */
export function metricName(
  name: string,
  unit: string,
  kind: NameKind,
  options: MetricNameOptions,
): string | undefined {
  const strategy = strategyOf(options);
  const namespace = options.namespace;
  if (strategy === 'UnderscoreEscapingWithSuffixes') return escapedWithSuffixes(name, unit, kind, namespace);
  if (strategy === 'UnderscoreEscapingWithoutSuffixes') {
    // otlptranslator: a name left as it was is valid as it is, even `___`; one that became
    // nothing but underscores (`@_#`) is not.
    const base = withoutSuffixesBase(name);
    let result = namespace !== '' ? namespace + '_' + base : base;
    if (LEADING_DIGIT.test(result)) result = '_' + result;
    return result === '' || (result !== name && ONLY_UNDERSCORES.test(result)) ? undefined : result;
  }
  const prefixed = namespace !== '' ? namespace + '_' + name : name;
  if (prefixed === '') return undefined;
  return strategy === 'NoTranslation' ? prefixed : utf8WithSuffixes(prefixed, unit, kind);
}

/**
 * The name is split into tokens at every character outside `[a-zA-Z0-9:]` (so runs of `_`
 * collapse, OTel spec §Metric Metadata), the unit word and `per_` word are appended unless
 * already a token, counters lose every `total` token and get one at the end, gauges with unit
 * "1" the same with `ratio`; the namespace goes first; a leading digit gets `_`.
 */
function escapedWithSuffixes(
  name: string,
  unit: string,
  kind: NameKind,
  namespace: string,
): string | undefined {
  let parts = tokens(name);
  const { main, per } = unitWords(unit);
  const perWord = per.replace(/_$/, '');
  const addPer = perWord !== '' && perWord !== 'per' && !parts.includes(perWord);
  const mainWord = addPer ? main.replace(/_$/, '') : main;
  if (mainWord !== '' && !parts.includes(mainWord)) parts.push(mainWord);
  if (addPer) parts.push(perWord);
  if (kind === 'counter') parts = [...parts.filter((t) => t !== 'total'), 'total'];
  if (kind === 'gauge' && unit === '1') parts = [...parts.filter((t) => t !== 'ratio'), 'ratio'];
  if (namespace !== '') parts.unshift(namespace);
  let result = parts.join('_');
  if (LEADING_DIGIT.test(result)) result = '_' + result;
  return ONLY_UNDERSCORES.test(result) ? undefined : result;
}

/**
 * UTF-8 names with suffixes: the name keeps its characters; a suffix already at its end (after a
 * delimiter) is moved to its place, so `requests_total` stays, and the unit word is added unless
 * the name ends with it (OTel spec §Metric Metadata: "unless the metric name already ends with
 * the unit"). Order: unit, per-unit, `_total`, `_ratio`.
 */
function utf8WithSuffixes(name: string, unit: string, kind: NameKind): string {
  const ratio = kind === 'gauge' && unit === '1';
  const total = kind === 'counter';
  let result = name;
  if (ratio) result = trimSuffix(result, 'ratio');
  if (total) result = trimSuffix(result, 'total');
  const { main, per } = rawUnitWords(unit);
  if (per !== '') result = trimSuffix(result, per);
  if (main !== '' && !result.endsWith(main)) result += '_' + main;
  if (per !== '') result += '_' + per;
  if (total) result += '_total';
  if (ratio) result += '_ratio';
  return result;
}

/**
 * `name` without `suffix` and the delimiter before it, when it ends so and something is left.
 * otlptranslator removes any one byte before the suffix, so `subtotal` becomes `su_total`; here
 * only a character that is neither a letter nor a digit counts as a delimiter.
 */
function trimSuffix(name: string, suffix: string): string {
  if (!name.endsWith(suffix)) return name;
  const head = name.slice(0, name.length - suffix.length);
  if (head === '' || ENDS_IN_WORD_CHAR.test(head)) return name;
  const rest = Array.from(head).slice(0, -1).join('');
  return rest === '' ? name : rest;
}

/**
 * The Prometheus label name of an attribute key, or `undefined` when nothing valid is left.
 * Escaping strategies (otlptranslator LabelNamer, its default): every run of characters outside
 * `[a-zA-Z0-9]`, underscores included, becomes one `_` (OTel spec §Metric Attributes); a key of
 * the form `__x__` keeps its double underscores at both ends; a leading digit gets `key_`. A
 * single leading `_` is kept: the `key` prefix for it is deprecated upstream. UTF-8 strategies:
 * the key as it is, unless it is empty or only underscores.
 */
export function labelName(
  key: string,
  strategy: TranslationStrategy = DEFAULT_TRANSLATION_STRATEGY,
): string | undefined {
  if (key === '') return undefined;
  if (!escapesNames(strategy)) return ONLY_UNDERSCORES.test(key) ? undefined : key;
  let result =
    key.length >= 4 && key.startsWith('__') && key.endsWith('__')
      ? '__' + key.slice(2, -2).replace(NOT_LABEL_TOKEN_CHARS, '_') + '__'
      : key.replace(NOT_LABEL_TOKEN_CHARS, '_');
  if (LEADING_DIGIT.test(result)) result = 'key_' + result;
  return ONLY_UNDERSCORES.test(result) ? undefined : result;
}

/** A name usable under the UTF-8 strategies: non-empty, and no lone surrogate (not UTF-8). */
export function isUtf8Name(name: string): boolean {
  return name !== '' && !/\p{Cs}/u.test(name);
}
