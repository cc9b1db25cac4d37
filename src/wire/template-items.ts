/**
 * Which series a Remote-Write 2.0 request template (wire/rw2.ts) was made for, in order, kept as
 * runs: a frame's slots `from`…`to` as one entry (a frame-made request is a few runs of
 * thousands of series), a series given as such as one entry of its own, named by its identity
 * in the per-series state (TimeSeries.identity) or else its key (its encoded labels). Per-series
 * arrays of frames and slots cost 20 bytes a series at 1M series for what a run says in three
 * numbers; and a request whose runs are the very runs of before fits without a look at each
 * series.
 */
import type { EncodedRun, SeriesIdentity, TimeSeries } from '../model.js';
import { identityKey, identitySlot, type SeriesFrame } from './series-frame.js';

/** `from` of an entry that is one series given as such. */
const SERIES = -1;

export class TemplateItems {
  /** Per entry: the frame of a run, or the identity or key of a series given as such. */
  private entries: Array<SeriesFrame | SeriesIdentity | string> = [];
  /** Per entry: the run's first slot and the slot after its last; SERIES for a series. */
  private from: number[] = [];
  private to: number[] = [];
  /** Series in all. */
  count = 0;
  /**
   * Whether `fits` last found every series at the very frame and slot named before (the steady
   * state: then only frames are named, and they are the ones the last body was written from).
   */
  sameSlots = false;

  constructor(series: readonly TimeSeries[], runs: readonly EncodedRun[]) {
    this.name(series, runs);
  }

  /**
   * Whether `series` and the series of `runs` (each placed before `series[run.at]`) are the
   * series named here, item by item: the same frame and slot (a pointer and a number compared),
   * else the same encoded labels wherever they are read from. It sets `sameSlots`; it does not
   * name the new ones (`name`), since the request may still not fit for its metadata.
   */
  fits(series: readonly TimeSeries[], runs: readonly EncodedRun[]): boolean {
    let count = series.length;
    for (const run of runs) count += run.to - run.from;
    if (count !== this.count) return false;
    const { entries, from, to } = this;
    if (series.length === 0 && runs.length === entries.length) {
      let k = 0;
      while (k < runs.length) {
        const run = runs[k] as EncodedRun;
        if (entries[k] !== run.block || from[k] !== run.from || to[k] !== run.to) break;
        k++;
      }
      if (k === runs.length) return (this.sameSlots = true);
    }
    let same = series.length === 0;
    // The entry being read (k) and, in a run, the slot of its next series.
    let k = 0;
    let at = from[0] as number;
    let r = 0;
    for (let i = 0; i <= series.length; i++) {
      while (r < runs.length && (runs[r] as EncodedRun).at === i) {
        const run = runs[r++] as EncodedRun;
        const frame = run.block as SeriesFrame;
        for (let slot = run.from; slot < run.to; slot++) {
          const was = entries[k] as SeriesFrame | SeriesIdentity | string;
          if (at !== SERIES) {
            const wasSlot = at++;
            if (at === to[k]) at = from[++k] as number;
            if (was === frame && wasSlot === slot) continue;
            same = false;
            if (!frame.sameLabelsAs(slot, was as SeriesFrame, wasSlot)) return false;
            continue;
          }
          same = false;
          at = from[++k] as number;
          if (typeof was === 'string') {
            if (!frame.hasEncodedLabels(slot, was)) return false;
          } else {
            const id = was as SeriesIdentity;
            if (
              (id.where !== frame || identitySlot(id) !== slot) &&
              !frame.hasEncodedLabels(slot, identityKey(id))
            )
              return false;
          }
        }
      }
      if (i === series.length) break;
      const s = series[i] as TimeSeries;
      const was = entries[k] as SeriesFrame | SeriesIdentity | string;
      let fits: boolean;
      if (at !== SERIES) {
        fits = (was as SeriesFrame).hasEncodedLabels(at++, s.key);
        if (at === to[k]) at = from[++k] as number;
      } else {
        fits =
          was === s.key ||
          (typeof was !== 'string' && (was === s.identity || identityKey(was as SeriesIdentity) === s.key));
        at = from[++k] as number;
      }
      if (!fits) return false;
    }
    this.sameSlots = same;
    return true;
  }

  /** From now on these are the series named: the frames and slots where they are now. */
  name(series: readonly TimeSeries[], runs: readonly EncodedRun[]): void {
    const entries: Array<SeriesFrame | SeriesIdentity | string> = [];
    const from: number[] = [];
    const to: number[] = [];
    let r = 0;
    for (let i = 0; i <= series.length; i++) {
      while (r < runs.length && (runs[r] as EncodedRun).at === i) {
        const run = runs[r++] as EncodedRun;
        if (run.to === run.from) continue;
        entries.push(run.block as SeriesFrame);
        from.push(run.from);
        to.push(run.to);
      }
      if (i === series.length) break;
      const s = series[i] as TimeSeries;
      entries.push(s.identity ?? s.key);
      from.push(SERIES);
      to.push(SERIES);
    }
    this.entries = entries;
    this.from = from;
    this.to = to;
    this.count = series.length;
    for (const run of runs) this.count += run.to - run.from;
  }
}
