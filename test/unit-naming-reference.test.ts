/**
 * prometheus/otlptranslator's name tests (metric_namer_test.go, label_namer_test.go), transcribed
 * as data, run against this exporter's naming for the strategy each row's configuration is. Rows
 * where this exporter answers otherwise carry `ours` with the reason; docs/decisions.md lists them.
 *
 * otlptranslator configurations → strategies: UTF8Allowed false/true = escaping/UTF-8,
 * WithMetricSuffixes = with/without suffixes. Its metric types → NameKind: monotonic counter →
 * counter; non-monotonic counter, gauge and unknown → gauge; histogram, exponential histogram and
 * summary → histogram (no `_total`, no `_ratio`: the summary is never produced by the JS SDK).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveNaming } from '../src/options.js';
import {
  addsSuffixes,
  labelName,
  metricName,
  TRANSLATION_STRATEGIES,
  unitMetadata,
  type NameKind,
  type TranslationStrategy,
} from '../src/translate/names.js';

const ESC = 'UnderscoreEscapingWithSuffixes';
const ESC_BARE = 'UnderscoreEscapingWithoutSuffixes';
const UTF8 = 'NoUTF8EscapingWithSuffixes';
const RAW = 'NoTranslation';

type RefType = 'gauge' | 'counter' | 'upDown' | 'histogram' | 'expHistogram' | 'summary' | 'unknown';

const KIND: Record<RefType, NameKind> = {
  gauge: 'gauge',
  counter: 'counter',
  upDown: 'gauge',
  unknown: 'gauge',
  histogram: 'histogram',
  expHistogram: 'histogram',
  summary: 'histogram',
};

interface MetricRow {
  /** The otlptranslator test's name. */
  readonly case: string;
  readonly strategy: TranslationStrategy;
  readonly namespace?: string;
  readonly name: string;
  readonly unit: string;
  readonly type: RefType;
  /** otlptranslator's name; `null` where it returns an error (the metric is not sent). */
  readonly want: string | null;
  /** otlptranslator's UnitNamer answer, checked where the row adds suffixes. */
  readonly unitWord?: string;
  /** This exporter's answer where it differs on purpose. */
  readonly ours?: { readonly want: string | null; readonly unitWord?: string; readonly why: string };
}

const TEBIBYTES = 'the OTel spec table (§Metric Metadata) spells TiBy tebibytes';

// prettier-ignore
const METRIC_ROWS: readonly MetricRow[] = [
  // UTF8Allowed = false, WithMetricSuffixes = false
  { case: 'simple metric name without suffixes', strategy: ESC_BARE, name: 'simple_metric', unit: '', type: 'gauge', want: 'simple_metric' },
  { case: 'metric with special characters replaced', strategy: ESC_BARE, name: 'metric@with#special$chars', unit: '', type: 'gauge', want: 'metric_with_special_chars' },
  { case: 'metric starting with digit gets underscore prefix', strategy: ESC_BARE, name: '123metric', unit: '', type: 'gauge', want: '_123metric' },
  { case: 'metric with namespace without suffixes', strategy: ESC_BARE, namespace: 'test_namespace', name: 'simple_metric', unit: '', type: 'gauge', want: 'test_namespace_simple_metric' },
  { case: 'empty metric name without suffixes', strategy: ESC_BARE, name: '', unit: '', type: 'gauge', want: null },
  { case: 'metric with multiple consecutive special chars', strategy: ESC_BARE, name: 'metric@@##$$name', unit: '', type: 'gauge', want: 'metric_name' },
  { case: 'metric name with only special characters', strategy: ESC_BARE, name: '@#$%', unit: '', type: 'gauge', want: null },
  { case: 'metric name with only special characters (underscores between)', strategy: ESC_BARE, name: '@_#_$_%', unit: '', type: 'gauge', want: null },
  { case: 'namespace with special characters', strategy: ESC_BARE, namespace: 'test@namespace!!??', name: 'metric', unit: '', type: 'gauge', want: 'test_namespace_metric' },
  { case: 'metric with only underscores (escaped)', strategy: ESC_BARE, name: '___', unit: '', type: 'gauge', want: '___' },

  // UTF8Allowed = false, WithMetricSuffixes = true
  { case: 'counter metric with total suffix', strategy: ESC, name: 'requests', unit: '', type: 'counter', want: 'requests_total' },
  { case: 'gauge with unit 1 gets ratio suffix', strategy: ESC, name: 'cpu_usage', unit: '1', type: 'gauge', want: 'cpu_usage_ratio', unitWord: '' },
  { case: 'counter with unit 1 does not get ratio suffix', strategy: ESC, name: 'items', unit: '1', type: 'counter', want: 'items_total', unitWord: '' },
  { case: 'metric with time unit', strategy: ESC, name: 'response_time', unit: 'ms', type: 'gauge', want: 'response_time_milliseconds', unitWord: 'milliseconds' },
  { case: 'metric with bytes unit', strategy: ESC, name: 'memory_usage', unit: 'By', type: 'gauge', want: 'memory_usage_bytes', unitWord: 'bytes' },
  { case: 'metric with per unit', strategy: ESC, name: 'requests', unit: '1/s', type: 'gauge', want: 'requests_per_second', unitWord: 'per_second' },
  { case: 'metric with complex per unit', strategy: ESC, name: 'throughput', unit: 'By/s', type: 'gauge', want: 'throughput_bytes_per_second', unitWord: 'bytes_per_second' },
  { case: 'metric with unknown unit', strategy: ESC, name: 'custom_metric', unit: 'custom_unit', type: 'gauge', want: 'custom_metric_custom_unit', unitWord: 'custom_unit' },
  { case: 'metric with unit containing braces is ignored', strategy: ESC, name: 'custom_metric', unit: '{custom}', type: 'gauge', want: 'custom_metric', unitWord: '' },
  { case: 'metric with per unit containing braces is ignored', strategy: ESC, name: 'custom_metric', unit: 'By/{custom}', type: 'gauge', want: 'custom_metric_bytes', unitWord: 'bytes' },
  { case: 'metric name already contains total suffix', strategy: ESC, name: 'requests_total', unit: '', type: 'counter', want: 'requests_total' },
  { case: 'metric name already contains ratio suffix', strategy: ESC, name: 'cpu_usage_ratio', unit: '1', type: 'gauge', want: 'cpu_usage_ratio' },
  { case: 'metric name already contains unit suffix', strategy: ESC, name: 'response_time_seconds', unit: 's', type: 'gauge', want: 'response_time_seconds', unitWord: 'seconds' },
  { case: 'metric with namespace and suffixes', strategy: ESC, namespace: 'app', name: 'requests', unit: '1/s', type: 'counter', want: 'app_requests_per_second_total', unitWord: 'per_second' },
  { case: 'metric starting with digit with namespace and suffixes', strategy: ESC, namespace: 'app', name: '123_requests', unit: '', type: 'counter', want: 'app_123_requests_total' },
  { case: 'metric with multiple underscores normalized', strategy: ESC, name: 'metric__with__multiple__underscores', unit: 'unit__multiple__underscores', type: 'gauge', want: 'metric_with_multiple_underscores_unit_multiple_underscores', unitWord: 'unit_multiple_underscores' },
  { case: 'metric with special chars in unit', strategy: ESC, name: 'custom_metric', unit: 'unit@with#special/chars', type: 'gauge', want: 'custom_metric_unit_with_special_per_chars', unitWord: 'unit_with_special_per_chars' },
  { case: 'metric name with only special characters (suffixes)', strategy: ESC, name: '@#$%', unit: '', type: 'gauge', want: null },

  // UTF8Allowed = true, WithMetricSuffixes = false
  { case: 'metric with only underscores (utf8)', strategy: RAW, name: '___', unit: '', type: 'gauge', want: '___' },
  { case: 'utf8 metric without suffixes', strategy: RAW, name: 'métric_with_ñ_chars', unit: '', type: 'gauge', want: 'métric_with_ñ_chars' },
  { case: 'utf8 metric with namespace without suffixes', strategy: RAW, namespace: 'test_namespace', name: 'métric_with_ñ_chars', unit: '', type: 'gauge', want: 'test_namespace_métric_with_ñ_chars' },

  // UTF8Allowed = true, WithMetricSuffixes = true
  { case: 'metric name already contains total suffix with UTF8Allowed', strategy: UTF8, name: 'requests_total', unit: '', type: 'counter', want: 'requests_total' },
  { case: 'metric name already contains ratio suffix with UTF8Allowed', strategy: UTF8, name: 'cpu_usage_ratio', unit: '1', type: 'gauge', want: 'cpu_usage_ratio' },
  { case: 'metric name already contains unit suffix with UTF8Allowed', strategy: UTF8, name: 'response_time_seconds', unit: 's', type: 'gauge', want: 'response_time_seconds', unitWord: 'seconds' },
  { case: 'metric name already contains type and unit suffix with UTF8Allowed', strategy: UTF8, name: 'cpu_seconds_total', unit: 's', type: 'counter', want: 'cpu_seconds_total', unitWord: 'seconds' },
  { case: 'reproduction case for opentelemetry-collector metrics', strategy: UTF8, name: 'otelcol_process_cpu_seconds', unit: 's', type: 'counter', want: 'otelcol_process_cpu_seconds_total', unitWord: 'seconds' },
  { case: 'utf8 counter metric with total suffix', strategy: UTF8, name: 'requêsts', unit: '', type: 'counter', want: 'requêsts_total' },
  { case: 'utf8 gauge with unit 1 gets ratio suffix', strategy: UTF8, name: 'cpu_usagé', unit: '1', type: 'gauge', want: 'cpu_usagé_ratio' },
  { case: 'utf8 metric with time unit', strategy: UTF8, name: 'respønse_time', unit: 'ms', type: 'gauge', want: 'respønse_time_milliseconds', unitWord: 'milliseconds' },
  { case: 'utf8 metric with per unit', strategy: UTF8, name: 'requêsts', unit: '1/s', type: 'gauge', want: 'requêsts_per_second', unitWord: 'per_second' },
  { case: 'utf8 metric with TiBy under default unit mapping', strategy: UTF8, name: 'capacity', unit: 'TiBy', type: 'gauge', want: 'capacity_tebibytes', unitWord: 'tebibytes' },
  { case: 'utf8 metric with namespace and suffixes', strategy: UTF8, namespace: 'ñamespace', name: 'requêsts', unit: '1/s', type: 'counter', want: 'ñamespace_requêsts_per_second_total', unitWord: 'per_second' },
  { case: 'metric name with only special characters (utf8)', strategy: UTF8, name: '@#$%', unit: '', type: 'counter', want: '@#$%_total' },
  { case: 'namespace with special characters (utf8)', strategy: UTF8, namespace: 'test@namespace', name: 'metric', unit: '', type: 'counter', want: 'test@namespace_metric_total' },

  // Edge cases and different metric types
  { case: 'histogram metric type', strategy: ESC, name: 'request_duration', unit: 's', type: 'histogram', want: 'request_duration_seconds', unitWord: 'seconds' },
  { case: 'exponential histogram metric type', strategy: ESC, name: 'request_size', unit: 'By', type: 'expHistogram', want: 'request_size_bytes', unitWord: 'bytes' },
  { case: 'summary metric type', strategy: ESC, name: 'response_time', unit: 'ms', type: 'summary', want: 'response_time_milliseconds', unitWord: 'milliseconds' },
  { case: 'non-monotonic counter metric type', strategy: ESC, name: 'active_connections', unit: '', type: 'upDown', want: 'active_connections' },
  { case: 'unknown metric type', strategy: ESC, name: 'unknown_metric', unit: '', type: 'unknown', want: 'unknown_metric' },

  // Unit mapping
  { case: 'metric with days unit', strategy: ESC, name: 'uptime', unit: 'd', type: 'gauge', want: 'uptime_days', unitWord: 'days' },
  { case: 'metric with hours unit', strategy: ESC, name: 'duration', unit: 'h', type: 'gauge', want: 'duration_hours', unitWord: 'hours' },
  { case: 'metric with minutes unit', strategy: ESC, name: 'timeout', unit: 'min', type: 'gauge', want: 'timeout_minutes', unitWord: 'minutes' },
  { case: 'metric with microseconds unit', strategy: ESC, name: 'latency', unit: 'us', type: 'gauge', want: 'latency_microseconds', unitWord: 'microseconds' },
  { case: 'metric with nanoseconds unit', strategy: ESC, name: 'precision_time', unit: 'ns', type: 'gauge', want: 'precision_time_nanoseconds', unitWord: 'nanoseconds' },
  { case: 'metric with kibibytes unit', strategy: ESC, name: 'cache_size', unit: 'KiBy', type: 'gauge', want: 'cache_size_kibibytes', unitWord: 'kibibytes' },
  { case: 'metric with mebibytes unit', strategy: ESC, name: 'memory', unit: 'MiBy', type: 'gauge', want: 'memory_mebibytes', unitWord: 'mebibytes' },
  { case: 'metric with gibibytes unit', strategy: ESC, name: 'storage', unit: 'GiBy', type: 'gauge', want: 'storage_gibibytes', unitWord: 'gibibytes' },
  {
    case: 'metric with tibibytes unit', strategy: ESC, name: 'capacity', unit: 'TiBy', type: 'gauge', want: 'capacity_tibibytes', unitWord: 'tibibytes',
    ours: { want: 'capacity_tebibytes', unitWord: 'tebibytes', why: TEBIBYTES },
  },
  { case: 'metric with tebibytes unit with flag (updated mapping)', strategy: ESC, name: 'capacity', unit: 'TiBy', type: 'gauge', want: 'capacity_tebibytes', unitWord: 'tebibytes' },
  { case: 'UnderscoreEscapingWithUpdatedSuffixes', strategy: ESC, namespace: 'mock', name: 'capacity', unit: 'TiBy', type: 'gauge', want: 'mock_capacity_tebibytes', unitWord: 'tebibytes' },
  { case: 'NoUTF8EscapingWithUpdatedSuffixes', strategy: UTF8, namespace: 'mock', name: 'capacity', unit: 'TiBy', type: 'gauge', want: 'mock_capacity_tebibytes', unitWord: 'tebibytes' },
  {
    case: 'utf8 metric with TiBy under legacy unit mapping', strategy: UTF8, name: 'capacity', unit: 'TiBy', type: 'gauge', want: 'capacity_tibibytes', unitWord: 'tibibytes',
    ours: { want: 'capacity_tebibytes', unitWord: 'tebibytes', why: TEBIBYTES },
  },
  {
    case: 'utf8 metric with kBy under legacy unit mapping passes through unmapped', strategy: UTF8, name: 'transfer', unit: 'kBy', type: 'gauge', want: 'transfer_kBy', unitWord: 'kBy',
    ours: { want: 'transfer_kilobytes', unitWord: 'kilobytes', why: 'the OTel spec table maps kBy to kilobytes' },
  },
  { case: 'metric with kilobytes unit', strategy: ESC, name: 'transfer', unit: 'KBy', type: 'gauge', want: 'transfer_kilobytes', unitWord: 'kilobytes' },
  { case: 'metric with kilobytes unit with flag (updated mapping)', strategy: ESC, name: 'transfer', unit: 'kBy', type: 'gauge', want: 'transfer_kilobytes', unitWord: 'kilobytes' },
  { case: 'metric with megabytes unit', strategy: ESC, name: 'download', unit: 'MBy', type: 'gauge', want: 'download_megabytes', unitWord: 'megabytes' },
  { case: 'metric with gigabytes unit', strategy: ESC, name: 'backup', unit: 'GBy', type: 'gauge', want: 'backup_gigabytes', unitWord: 'gigabytes' },
  { case: 'metric with terabytes unit', strategy: ESC, name: 'archive', unit: 'TBy', type: 'gauge', want: 'archive_terabytes', unitWord: 'terabytes' },
  { case: 'metric with meters unit', strategy: ESC, name: 'distance', unit: 'm', type: 'gauge', want: 'distance_meters', unitWord: 'meters' },
  { case: 'metric with volts unit', strategy: ESC, name: 'voltage', unit: 'V', type: 'gauge', want: 'voltage_volts', unitWord: 'volts' },
  { case: 'metric with amperes unit', strategy: ESC, name: 'current', unit: 'A', type: 'gauge', want: 'current_amperes', unitWord: 'amperes' },
  { case: 'metric with joules unit', strategy: ESC, name: 'energy', unit: 'J', type: 'gauge', want: 'energy_joules', unitWord: 'joules' },
  { case: 'metric with watts unit', strategy: ESC, name: 'power', unit: 'W', type: 'gauge', want: 'power_watts', unitWord: 'watts' },
  { case: 'metric with grams unit', strategy: ESC, name: 'weight', unit: 'g', type: 'gauge', want: 'weight_grams', unitWord: 'grams' },
  { case: 'metric with celsius unit', strategy: ESC, name: 'temperature', unit: 'Cel', type: 'gauge', want: 'temperature_celsius', unitWord: 'celsius' },
  { case: 'metric with hertz unit', strategy: ESC, name: 'frequency', unit: 'Hz', type: 'gauge', want: 'frequency_hertz', unitWord: 'hertz' },
  { case: 'metric with percent unit', strategy: ESC, name: 'cpu_usage', unit: '%', type: 'gauge', want: 'cpu_usage_percent', unitWord: 'percent' },

  // Per-unit mapping
  { case: 'metric with per minute unit', strategy: ESC, name: 'requests', unit: '1/m', type: 'gauge', want: 'requests_per_minute', unitWord: 'per_minute' },
  { case: 'metric with per hour unit', strategy: ESC, name: 'events', unit: '1/h', type: 'gauge', want: 'events_per_hour', unitWord: 'per_hour' },
  { case: 'metric with per day unit', strategy: ESC, name: 'transactions', unit: '1/d', type: 'gauge', want: 'transactions_per_day', unitWord: 'per_day' },
  { case: 'metric with per week unit', strategy: ESC, name: 'reports', unit: '1/w', type: 'gauge', want: 'reports_per_week', unitWord: 'per_week' },
  { case: 'metric with per month unit', strategy: ESC, name: 'invoices', unit: '1/mo', type: 'gauge', want: 'invoices_per_month', unitWord: 'per_month' },
  { case: 'metric with per year unit', strategy: ESC, name: 'renewals', unit: '1/y', type: 'gauge', want: 'renewals_per_year', unitWord: 'per_year' },
  { case: 'metric with unknown per unit', strategy: ESC, name: 'custom', unit: '1/custom_unit', type: 'gauge', want: 'custom_per_custom_unit', unitWord: 'per_custom_unit' },

  // Empty and whitespace units
  { case: 'metric with empty per unit', strategy: ESC, name: 'metric', unit: 'By/', type: 'gauge', want: 'metric_bytes', unitWord: 'bytes' },
  { case: 'metric with whitespace in unit', strategy: ESC, name: 'metric', unit: ' By / s ', type: 'gauge', want: 'metric_bytes_per_second', unitWord: 'bytes_per_second' },
  { case: 'metric with only slash in unit', strategy: ESC, name: 'metric', unit: '/', type: 'gauge', want: 'metric', unitWord: '' },

  // Common OTel metrics
  { case: 'http.request.duration/Prometheus-style', strategy: ESC, name: 'http.request.duration', unit: 'ms', type: 'histogram', want: 'http_request_duration_milliseconds', unitWord: 'milliseconds' },
  { case: 'http.request.duration/OTel-style', strategy: RAW, name: 'http.request.duration', unit: 'ms', type: 'histogram', want: 'http.request.duration' },
  { case: 'http.requests/Prometheus-style', strategy: ESC, name: 'http.requests', unit: '1', type: 'counter', want: 'http_requests_total' },
  { case: 'http.requests/OTel-style', strategy: RAW, name: 'http.requests', unit: '1', type: 'counter', want: 'http.requests' },
];

describe('otlptranslator metric name table', () => {
  for (const row of METRIC_ROWS) {
    const expected = row.ours?.want ?? row.want;
    const title = `${row.strategy}: ${row.case} → ${JSON.stringify(expected)}${row.ours ? ` (otlptranslator: ${JSON.stringify(row.want)}; ${row.ours.why})` : ''}`;
    it(title, () => {
      // The namespace goes through option resolution, as the exporter's does.
      const naming = resolveNaming({ translationStrategy: row.strategy, namespace: row.namespace });
      const got = metricName(row.name, row.unit, KIND[row.type], naming);
      assert.equal(got, expected ?? undefined);
      const unitWord = row.ours?.unitWord ?? row.unitWord;
      if (addsSuffixes(row.strategy) && unitWord !== undefined) {
        assert.equal(unitMetadata(row.unit, row.strategy), unitWord);
      }
    });
  }

  it('covers every strategy', () => {
    assert.deepEqual(new Set(METRIC_ROWS.map((r) => r.strategy)), new Set(TRANSLATION_STRATEGIES));
  });
});

interface LabelRow {
  readonly label: string;
  /** otlptranslator LabelNamer{} (its default): `null` for an error (the attribute is dropped). */
  readonly escaped: string | null;
  /** LabelNamer{UTF8Allowed: true}: the label as it is, or `null` for an error. */
  readonly utf8: string | null;
}

// Columns for PreserveMultipleUnderscores and UnderscoreLabelSanitization are not transcribed:
// no strategy here keeps runs of `_` (OTel spec §Metric Attributes) or prefixes `key` to a
// single leading `_` (deprecated upstream).
// prettier-ignore
const LABEL_ROWS: readonly LabelRow[] = [
  { label: 'label:with:colons', escaped: 'label_with_colons', utf8: 'label:with:colons' },
  { label: 'LabelWithCapitalLetters', escaped: 'LabelWithCapitalLetters', utf8: 'LabelWithCapitalLetters' },
  { label: 'label!with&special$chars)', escaped: 'label_with_special_chars_', utf8: 'label!with&special$chars)' },
  { label: 'label_with_foreign_characters_字符', escaped: 'label_with_foreign_characters_', utf8: 'label_with_foreign_characters_字符' },
  { label: 'label.with.dots', escaped: 'label_with_dots', utf8: 'label.with.dots' },
  { label: '.foo', escaped: '_foo', utf8: '.foo' },
  { label: '123label', escaped: 'key_123label', utf8: '123label' },
  { label: '_label_starting_with_underscore', escaped: '_label_starting_with_underscore', utf8: '_label_starting_with_underscore' },
  { label: '__label_starting_with_2underscores', escaped: '_label_starting_with_2underscores', utf8: '__label_starting_with_2underscores' },
  { label: 'ようこそ', escaped: null, utf8: 'ようこそ' },
  { label: 'label__with__double__underscores', escaped: 'label_with_double_underscores', utf8: 'label__with__double__underscores' },
  { label: 'label.name__with&&special##chars', escaped: 'label_name_with_special_chars', utf8: 'label.name__with&&special##chars' },
  { label: '__reserved__label__name__', escaped: '__reserved_label_name__', utf8: '__reserved__label__name__' },
  { label: 'trailing_underscores___', escaped: 'trailing_underscores_', utf8: 'trailing_underscores___' },
  { label: '', escaped: null, utf8: null },
  { label: '__', escaped: null, utf8: null },
];

describe('otlptranslator label name table', () => {
  for (const strategy of TRANSLATION_STRATEGIES) {
    const escaping = strategy.startsWith('UnderscoreEscaping');
    for (const row of LABEL_ROWS) {
      const expected = escaping ? row.escaped : row.utf8;
      it(`${strategy}: ${JSON.stringify(row.label)} → ${JSON.stringify(expected)}`, () => {
        assert.equal(labelName(row.label, strategy), expected ?? undefined);
      });
    }
  }
});
