/**
 * What the exporter remembers of each series between exports: its labels and the timestamp of
 * its last sample. Two receiver rules depend on it:
 * - samples of one series must have increasing timestamps, and two different values at one
 *   millisecond make Prometheus reject the whole request (RW1 §Ordering);
 * - a series that stops being reported gets one stale marker (RW1 §Stale Markers); for a
 *   native-histogram series that is a stale histogram (OTel spec §Staleness).
 * It also keeps the metadata of each family it has seen, so that stale markers of a family that
 * vanished entirely still carry their type (RW 2.0 sends metadata on every series).
 */
import { diag } from '@opentelemetry/api';
import type { Label, MetricFamilyMetadata, NativeHistogram, Sample, TimeSeries } from '../model.js';
import { staleNativeHistogram } from './native-histogram.js';

interface SeriesRecord {
  readonly labels: readonly Label[];
  readonly family: string;
  lastTimestampMs: number;
  seenInExport: number;
  /** The last export carried native histograms for it: its stale marker is a histogram. */
  histogram: boolean;
}

export class SeriesState {
  private readonly records = new Map<string, SeriesRecord>();
  private readonly families = new Map<string, MetricFamilyMetadata>();
  private exportNumber = 0;

  /**
   * Makes every sample of `series` later than what was sent before for that series. A sample
   * at or before the last one (two collections in one millisecond, a clock step back) is moved
   * to 1 ms after it rather than dropped: for cumulative data the newest value is the one that
   * matters, and dropping it would lose the last value of a short job.
   * Native-histogram samples are kept in order the same way.
   * Then returns stale markers for the series of the previous export that are missing now.
   *
   * With `metadata` (the export's metadata map), the metadata of every family is remembered,
   * and entries for the families of the returned stale markers are added to the map if missing.
   */
  admit(series: TimeSeries[], nowMs: number, metadata?: Map<string, MetricFamilyMetadata>): TimeSeries[] {
    const exportNumber = ++this.exportNumber;
    if (metadata) for (const [family, meta] of metadata) this.families.set(family, meta);
    for (const s of series) {
      let record = this.records.get(s.key);
      if (!record) {
        record = {
          labels: s.labels,
          family: s.family,
          lastTimestampMs: -Infinity,
          seenInExport: exportNumber,
          histogram: false,
        };
        this.records.set(s.key, record);
      }
      record.seenInExport = exportNumber;
      const histograms = s.histograms;
      if (histograms && histograms.length > 0) {
        record.histogram = true;
        for (let i = 0; i < histograms.length; i++) {
          const h = histograms[i] as NativeHistogram;
          if (h.timestampMs <= record.lastTimestampMs) {
            const moved = record.lastTimestampMs + 1;
            diag.debug(
              `prometheus remote write: histogram of ${describe(s.labels)} moved from ${h.timestampMs} to ${moved} ms to keep its series in order`,
            );
            histograms[i] = { ...h, timestampMs: moved };
          }
          record.lastTimestampMs = (histograms[i] as NativeHistogram).timestampMs;
        }
        continue;
      }
      record.histogram = false;
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
    if (metadata) this.addMetadata(stale, metadata);
    return stale;
  }

  /**
   * Stale markers for every known series, forgetting them all (shutdown). With `metadata`, the
   * remembered metadata of their families is added to it.
   */
  staleAll(nowMs: number, metadata?: Map<string, MetricFamilyMetadata>): TimeSeries[] {
    const stale = [...this.records].map(([key, record]) => this.staleSeries(key, record, nowMs));
    this.records.clear();
    if (metadata) this.addMetadata(stale, metadata);
    return stale;
  }

  private addMetadata(stale: readonly TimeSeries[], metadata: Map<string, MetricFamilyMetadata>): void {
    for (const s of stale) {
      const meta = this.families.get(s.family);
      if (meta && !metadata.has(s.family)) metadata.set(s.family, meta);
    }
  }

  get size(): number {
    return this.records.size;
  }

  private staleSeries(key: string, record: SeriesRecord, nowMs: number): TimeSeries {
    const timestampMs = Math.max(nowMs, record.lastTimestampMs + 1);
    if (record.histogram) {
      return {
        key,
        labels: record.labels,
        family: record.family,
        samples: [],
        histograms: [staleNativeHistogram(timestampMs)],
      };
    }
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
