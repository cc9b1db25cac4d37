/**
 * What RW 2.0's symbol table buys: the same 10,000 series as 1.0 and as 2.0, both snappy-compressed.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  MetricType,
  seriesKey,
  type Label,
  type MetricFamilyMetadata,
  type TimeSeries,
} from '../src/model.js';
import { encodeWriteRequest } from '../src/wire/rw1.js';
import { encodeRequestV2 } from '../src/wire/rw2.js';
import { snappyCompress } from '../src/wire/snappy.js';

const NOW = 1_700_000_000_123;

/** 10 counters × 5 methods × 50 routes × 4 status codes: `__name__` plus 6 labels, values shared. */
function realisticSeries(): { series: TimeSeries[]; metadata: Map<string, MetricFamilyMetadata> } {
  const names = [
    'http_server_requests_total',
    'http_server_request_errors_total',
    'http_server_request_body_bytes_total',
    'http_server_response_body_bytes_total',
    'http_server_active_requests_total',
    'rpc_client_calls_total',
    'rpc_client_retries_total',
    'db_client_queries_total',
    'db_client_rows_read_total',
    'cache_lookups_total',
  ];
  const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
  const routes = Array.from(
    { length: 50 },
    (_, i) => `/api/v2/resources/${['users', 'orders', 'carts', 'items', 'payments'][i % 5]}/{id}/sub${i}`,
  );
  const statuses = ['200', '201', '404', '500'];
  const series: TimeSeries[] = [];
  const metadata = new Map<string, MetricFamilyMetadata>();
  let n = 0;
  for (const name of names) {
    metadata.set(name, {
      type: MetricType.COUNTER,
      familyName: name,
      help: `Number of ${name.replace(/_/g, ' ')}.`,
      unit: '',
    });
    for (const method of methods)
      for (const route of routes)
        for (const status of statuses) {
          const labels: Label[] = [
            { name: '__name__', value: name },
            { name: 'http_method', value: method },
            { name: 'http_route', value: route },
            { name: 'http_status_code', value: status },
            { name: 'instance', value: 'checkout-7f9c8d6b5-x2k4q:8080' },
            { name: 'job', value: 'shop/checkout' },
            { name: 'otel_scope_name', value: '@opentelemetry/instrumentation-http' },
          ];
          series.push({
            key: seriesKey(labels),
            labels,
            family: name,
            samples: [{ value: (n++ * 7919) % 100_000, timestampMs: NOW, startTimestampMs: NOW - 3_600_000 }],
          });
        }
  }
  return { series, metadata };
}

it('for 10,000 realistic series, the 2.0 request is at least 30% smaller than 1.0 after snappy', () => {
  const { series, metadata } = realisticSeries();
  assert.equal(series.length, 10_000);
  assert.equal(new Set(series.map((s) => s.key)).size, 10_000);
  const v1 = snappyCompress(encodeWriteRequest(series, [...metadata.values()]));
  const v2 = snappyCompress(encodeRequestV2(series, metadata));
  const saving = 1 - v2.length / v1.length;
  console.log(
    `10,000 series, snappy-compressed: RW 1.0 ${v1.length} bytes, RW 2.0 ${v2.length} bytes ` +
      `(${(saving * 100).toFixed(1)}% smaller; 2.0 also carries start timestamps and per-series metadata)`,
  );
  assert.ok(saving >= 0.3, `2.0 is only ${(saving * 100).toFixed(1)}% smaller`);
});
