/**
 * The debug view of a request: Prometheus text exposition of the series it carries, in the
 * format of the Python client this project grew from (`[DEBUG] remote_write_req_seq: N`).
 */
import type { MetricFamilyMetadata, TimeSeries } from '../model.js';

/** One request as text, ending with a blank line. `seq` counts requests from 1. */
export function formatDebugText(
  seq: number,
  series: readonly TimeSeries[],
  metadata: ReadonlyMap<string, MetricFamilyMetadata>,
): string {
  // Placeholder until the full formatter lands: header and series names only.
  void metadata;
  return `[DEBUG] remote_write_req_seq: ${seq}\n${series.map((s) => s.key).join('\n')}\n\n`;
}
