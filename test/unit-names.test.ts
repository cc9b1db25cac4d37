import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { labelName, metricName, unitMetadata, type NameKind } from '../src/translate/names.js';
import { decimalString } from '../src/translate/decimal.js';

const withSuffixes = { addMetricSuffixes: true, namespace: '' };

describe('metric names (spec digest §3.1, otlptranslator tests)', () => {
  // [OTel name, unit, kind, Prometheus name]
  const table: Array<[string, string, NameKind, string]> = [
    // The digest's worked examples.
    ['response_time', 'ms', 'gauge', 'response_time_milliseconds'],
    ['requests', '1/s', 'gauge', 'requests_per_second'],
    ['throughput', 'By/s', 'gauge', 'throughput_bytes_per_second'],
    ['cpu_usage', '1', 'gauge', 'cpu_usage_ratio'],
    ['items', '1', 'counter', 'items_total'],
    ['otelcol_process_cpu_seconds', 's', 'counter', 'otelcol_process_cpu_seconds_total'],
    ['custom_metric', 'By/{custom}', 'gauge', 'custom_metric_bytes'],
    ['custom_metric', 'By/{custom}', 'counter', 'custom_metric_bytes_total'],
    ['custom_metric', 'By/{custom}', 'histogram', 'custom_metric_bytes'],
    ['metric@with#special$chars', '', 'gauge', 'metric_with_special_chars'],
    ['123metric', '', 'gauge', '_123metric'],
    // Unit words.
    ['http.server.duration', 's', 'histogram', 'http_server_duration_seconds'],
    ['memory.usage', 'By', 'gauge', 'memory_usage_bytes'],
    ['disk.io', 'KiBy', 'counter', 'disk_io_kibibytes_total'],
    ['big', 'TiBy', 'gauge', 'big_tebibytes'],
    ['temp', 'Cel', 'gauge', 'temp_celsius'],
    ['load', '%', 'gauge', 'load_percent'],
    ['rate', 'm/h', 'gauge', 'rate_meters_per_hour'],
    ['weird', 'foo.bar', 'gauge', 'weird_foo_bar'],
    // Annotations are dropped; `{request}` alone leaves no unit.
    ['http.requests', '{request}', 'counter', 'http_requests_total'],
    ['queue.depth', '{message}', 'gauge', 'queue_depth'],
    // `_total` never doubled, wherever it stands; up-down counters (gauge kind) get none.
    ['requests_total', '', 'counter', 'requests_total'],
    ['total.requests', '', 'counter', 'requests_total'],
    ['active_requests', '{request}', 'gauge', 'active_requests'],
    // `_ratio` only for gauges with unit "1", never doubled.
    ['hit_ratio', '1', 'gauge', 'hit_ratio'],
    ['hits', '1', 'histogram', 'hits'],
    // Unit word already in the name is not added again.
    ['duration_seconds_max', 's', 'gauge', 'duration_seconds_max'],
    // Runs of separators collapse.
    ['a..b__c', '', 'gauge', 'a_b_c'],
    ['ns:metric', '', 'gauge', 'ns:metric'],
  ];
  for (const [name, unit, kind, expected] of table) {
    it(`${kind} ${JSON.stringify(name)} [${unit}] → ${expected}`, () => {
      assert.equal(metricName(name, unit, kind, withSuffixes), expected);
    });
  }

  it('prefixes the namespace', () => {
    assert.equal(
      metricName('http.requests', '1', 'counter', { addMetricSuffixes: true, namespace: 'shop' }),
      'shop_http_requests_total',
    );
  });

  it('without suffixes only replaces invalid characters', () => {
    const off = { addMetricSuffixes: false, namespace: '' };
    assert.equal(metricName('http.requests', '1', 'counter', off), 'http_requests');
    assert.equal(metricName('response_time', 'ms', 'gauge', off), 'response_time');
    assert.equal(metricName('123metric', '', 'gauge', off), '_123metric');
    assert.equal(metricName('a__b', '', 'gauge', off), 'a__b');
    assert.equal(metricName('x', '', 'gauge', { addMetricSuffixes: false, namespace: 'ns' }), 'ns_x');
  });

  it('refuses names with no valid character', () => {
    assert.equal(metricName('@@@', '', 'gauge', withSuffixes), undefined);
    assert.equal(metricName('___', '', 'gauge', withSuffixes), undefined);
    assert.equal(metricName('@_#', '', 'gauge', { addMetricSuffixes: false, namespace: '' }), undefined);
    assert.equal(metricName('', '', 'gauge', withSuffixes), undefined);
  });

  it('without suffixes a name that is valid as it is stays, even `___` (otlptranslator)', () => {
    assert.equal(metricName('___', '', 'gauge', { addMetricSuffixes: false, namespace: '' }), '___');
  });
});

describe('unit metadata', () => {
  const table: Array<[string, string]> = [
    ['ms', 'milliseconds'],
    ['By/s', 'bytes_per_second'],
    ['1/s', 'per_second'],
    ['1', ''],
    ['{request}', ''],
    ['', ''],
    ['custom', 'custom'],
  ];
  for (const [unit, word] of table) {
    it(`${JSON.stringify(unit)} → ${JSON.stringify(word)}`, () => assert.equal(unitMetadata(unit), word));
  }
});

describe('label names (spec digest §3.2)', () => {
  const table: Array<[string, string | undefined]> = [
    ['http.method', 'http_method'],
    ['http.request.header.x-forwarded-for', 'http_request_header_x_forwarded_for'],
    ['123invalid', 'key_123invalid'],
    ['__reserved__', '__reserved__'],
    ['_private', '_private'],
    ['ünïcode', '_n_code'],
    ['a b', 'a_b'],
    ['', undefined],
    ['...', undefined],
  ];
  for (const [key, expected] of table) {
    it(`${JSON.stringify(key)} → ${JSON.stringify(expected)}`, () => assert.equal(labelName(key), expected));
  }
});

describe('le formatting: shortest decimal, no exponent (spec digest §3.5)', () => {
  const table: Array<[number, string]> = [
    [0, '0'],
    [1, '1'],
    [0.5, '0.5'],
    [2.5, '2.5'],
    [1e-7, '0.0000001'],
    [1.5e-7, '0.00000015'],
    [-2.5e-8, '-0.000000025'],
    [1e21, '1000000000000000000000'],
    [1.234e22, '12340000000000000000000'],
    [123456.789, '123456.789'],
    [0.1 + 0.2, '0.30000000000000004'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [NaN, 'NaN'],
  ];
  for (const [value, expected] of table) {
    it(`${value} → ${expected}`, () => {
      assert.equal(decimalString(value), expected);
      if (Number.isFinite(value)) assert.equal(Number(expected), value, 'round-trips');
    });
  }
});
