/**
 * What the exporter remembers of each series between exports: its labels and the timestamp of
 * its last sample. Two receiver rules depend on it:
 * - samples of one series must have increasing timestamps, and two different values at one
 *   millisecond make Prometheus reject the whole request (RW1 §Ordering);
 * - a series that stops being reported gets one stale marker (RW1 §Stale Markers).
 */
import { diag } from '@opentelemetry/api';
import type { Label, Sample, TimeSeries } from '../model.js';

interface SeriesRecord {
  readonly labels: readonly Label[];
  readonly family: string;
  lastTimestampMs: number;
  seenInExport: number;
}

export class SeriesState {
  private readonly records = new Map<string, SeriesRecord>();
  private exportNumber = 0;

  /**
   * Makes every sample of `series` later than what was sent before for that series. A sample
   * at or before the last one (two collections in one millisecond, a clock step back) is moved
   * to 1 ms after it rather than dropped: for cumulative data the newest value is the one that
   * matters, and dropping it would lose the last value of a short job.
   * Then returns stale markers for the series of the previous export that are missing now.
   */
  admit(series: TimeSeries[], nowMs: number): TimeSeries[] {
    const exportNumber = ++this.exportNumber;
    for (const s of series) {
      let record = this.records.get(s.key);
      if (!record) {
        record = {
          labels: s.labels,
          family: s.family,
          lastTimestampMs: -Infinity,
          seenInExport: exportNumber,
        };
        this.records.set(s.key, record);
      }
      record.seenInExport = exportNumber;
      for (let i = 0; i < s.samples.length; i++) {
        const sample = s.samples[i] as Sample;
        if (sample.timestampMs <= record.lastTimestampMs) {
          const moved = record.lastTimestampMs + 1;
          diag.debug(
            `prometheus remote write: sample of ${describe(s.labels)} moved from ${sample.timestampMs} to ${moved} ms to keep its series in order`,
          );
          s.samples[i] = { ...sample, timestampMs: moved };
        }
        record.lastTimestampMs = (s.samples[i] as Sample).timestampMs;
      }
    }
    const stale: TimeSeries[] = [];
    for (const [key, record] of this.records) {
      if (record.seenInExport === exportNumber) continue;
      stale.push(this.staleSeries(key, record, nowMs));
      this.records.delete(key);
    }
    return stale;
  }

  /** Stale markers for every known series, forgetting them all (shutdown). */
  staleAll(nowMs: number): TimeSeries[] {
    const stale = [...this.records].map(([key, record]) => this.staleSeries(key, record, nowMs));
    this.records.clear();
    return stale;
  }

  get size(): number {
    return this.records.size;
  }

  private staleSeries(key: string, record: SeriesRecord, nowMs: number): TimeSeries {
    const timestampMs = Math.max(nowMs, record.lastTimestampMs + 1);
    return {
      key,
      labels: record.labels,
      family: record.family,
      samples: [{ value: NaN, timestampMs, stale: true }],
    };
  }
}

/** `name{a="b",…}` for messages. */
export function describe(labels: readonly Label[]): string {
  const name = labels.find((l) => l.name === '__name__')?.value ?? '';
  const rest = labels.filter((l) => l.name !== '__name__').map((l) => `${l.name}=${JSON.stringify(l.value)}`);
  return `${name}{${rest.join(',')}}`;
}
