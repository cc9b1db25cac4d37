/**
 * Translate's steady state for counters, gauges and classic histograms sent as RW 1.0 (DESIGN.md,
 * performance principles). A cumulative SDK reports the same series at the same positions at
 * every collection, so each metric keeps the encoded series of its last export (a frame,
 * wire/series-frame.ts): a point whose attributes and value layout did not change only overwrites
 * its values and timestamp in it, and the frame goes to the sink as runs of encoded series. The
 * records are neither read nor written while the frame is used whole (FramedRecords keeps their
 * state for all of them). A point that does not fit is translated on its own and the runs continue
 * around it; the frame is then made again from what the export sent, unless most of its series
 * were new. The first export of a counter or gauge sent to one shard writes its new series
 * straight into its frame as it goes (addNew, up to NEW_FRAMED_AT_MOST points an export): the
 * frame takes the place of the per-series objects. Any other first export does not build its
 * frame (its peak memory must not also hold one): it hands the build over (LaterFrame), to run
 * between exports once the export's requests are delivered (exporter.ts), so that the second
 * export is already a steady one.
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { DataPoint, Histogram } from '@opentelemetry/sdk-metrics';
import { SeriesFrame, type FrameExtras, type FrameLayout } from '../wire/series-frame.js';
import type { FrameShape, MetricStreams, PointLike, SeriesState } from './series-state.js';
import {
  framedRecord,
  FramedRecords,
  isEncoded,
  isEvicted,
  isRecord,
  keptBy,
  keyOf,
  lastTimestampOf,
  ownerOf,
  release,
  seenInExport,
  setLastTimestamp,
  setSeenInExport,
  settle,
  type SeriesRecord,
} from './series-record.js';
import { hrTimeToMillis } from '../translate/time.js';
import { timeMillis } from '../translate/malformed.js';
import { ChunkedList, type ReadList } from '../chunked-list.js';
import type { LabelsTarget } from '../wire/label-fields-plan.js';
import type { LabelStrings } from '../wire/label-strings.js';

/**
 * How delivery splits series between its shards (exporter.ts): a frame keeps each shard's series
 * together, so that its steady state goes to every shard as one run.
 */
export interface Partition {
  readonly count: number;
  of(record: SeriesRecord): number;
}

/** Where framed runs go: translate's batch builder. */
export interface FrameSink {
  readonly state: SeriesState;
  /** When to pause the steps (translate.ts translateSteps). */
  readonly budget: { due(): boolean };
  /** Series `from`…`to` of `frame` (slots), in groups of `group` series never to be split. */
  addRun(frame: SeriesFrame, from: number, to: number, group: number): void;
  readonly partition: Partition | undefined;
  /** Takes the frame build of a metric's first export, to run after the export (LaterFrame). */
  later(build: LaterFrame): void;
}

/**
 * The frame of a metric's first export, built (or, made by it, checked) after it in steps. It is
 * built only while the records are as that export left them: the next export of their producer
 * has not begun.
 */
export interface LaterFrame {
  /** Returns whether the frame was built, or checked, and passed its check. */
  steps(due: () => boolean): Generator<void, boolean, void>;
}

/**
 * The encoded labels of a metric's new series (translate's label plans, translate/series-labels.ts),
 * for its first export, which writes them straight into its frame (addNew).
 */
export interface NewSeriesLabels {
  /**
   * Writes the encoded labels of series `name` for a point with these attributes (whose
   * Object.keys are `keys`) into `target` (wire/label-fields-plan.ts): their length, or −1 when
   * the point must go the per-series way.
   */
  writeInto(target: LabelsTarget, name: string, attributes: Attributes, keys: readonly string[]): number;
  /** `keyHash` of what `writeInto` wrote last. */
  readonly lastHash: number | undefined;
  /** For RW 2.0: where `writeInto` put the label strings of each series (LabelStrings.lastAt). */
  readonly labelStrings?: LabelStrings;
}

/** How the points of one kind of metric sit in a frame. */
export interface FramedKind {
  /** The metric's Prometheus name: its frame's family. */
  readonly family: string;
  /** What its frames keep for RW 2.0. */
  readonly for: FrameFor;
  /** Series per point in the metric's frame: 1, or a histogram point's. */
  readonly width: number;
  /** Points translated on their own between two looks at the budget: about 32 series. */
  readonly pointsPerLook: number;
  /**
   * From point `from`, writes into the frame every point before `to` that still fits it (same
   * attributes, the frame's end time, values keeping their layout); returns the index of the
   * first that does not (`to` when all did). For a frame whose records need no look (see addFramed).
   */
  patchAll(
    frame: SeriesFrame,
    points: readonly DataPoint<unknown>[],
    end: HrTime,
    ts: number,
    from: number,
    to: number,
  ): number;
  /**
   * The same for point `index` alone, its records checked and marked seen one by one: true if it
   * was written. Its end time is checked already.
   */
  patchOne(
    frame: SeriesFrame,
    index: number,
    point: DataPoint<unknown>,
    exportNumber: number,
    ts: number,
  ): boolean;
  /** The frame of what this export sent for the points, if one can be made; in steps. */
  build(
    points: readonly DataPoint<unknown>[],
    exportNumber: number,
    partition: Partition | undefined,
    due: () => boolean,
  ): Generator<void, MadeFrame | undefined, void>;
}

interface MadeFrame {
  readonly frame: SeriesFrame;
  readonly owners: FramedRecords;
  readonly shape?: FrameShape;
}

/**
 * The points of one framed metric; returns how many were readable (all of them but those the
 * check left out). `single` translates one point on its own (the per-series path) and says
 * whether its series were in the cache.
 * With `check`, the points have not been checked yet (translate.ts `readable`: counters and
 * gauges): a frame that takes every point whole needs no check, as its patch reads and compares
 * all that the check would (`MetricStreams.patch`), and a second walk over every point was about
 * 6 % of a steady export. Anything else calls `check` first, for the readable points.
 */
export function* addFramed(
  sink: FrameSink,
  streams: MetricStreams,
  given: readonly DataPoint<unknown>[],
  kind: FramedKind,
  single: (index: number, point: DataPoint<unknown>) => boolean,
  check?: () => Generator<void, readonly DataPoint<unknown>[], void>,
  labels?: NewSeriesLabels,
): Generator<void, number, void> {
  if (
    labels !== undefined &&
    streams.frame === undefined &&
    streams.length === 0 &&
    kind.width === 1 &&
    sink.partition === undefined &&
    given.length > 0 &&
    sink.state.framedNew + given.length <= NEW_FRAMED_AT_MOST
  )
    return yield* addNew(sink, streams, given, kind, single, check, labels);
  const budget = sink.budget;
  let points = given;
  const state = sink.state;
  const exportNumber = state.exportNumber;
  const frame = streams.frame;
  const owners = streams.framed;
  const width = kind.width;
  let n = points.length;
  let places = 0; // points the frame has places for, at this export's time
  /** The points checked now, if they were not yet. */
  const checkNow = function* (): Generator<void, void, void> {
    if (check === undefined) return;
    points = yield* check();
    check = undefined;
    n = points.length;
    places = Math.min(places, n);
  };
  // Unchecked points with no frame, or whose first point is no start for one: checked first.
  if (check !== undefined && (frame === undefined || !firstIsReadable(points))) yield* checkNow();
  let end: HrTime | undefined;
  let ts = 0;
  if (frame !== undefined && n > 0) {
    end = (points[0] as DataPoint<unknown>).endTime;
    ts = hrTimeToMillis(end);
    if (frame.retime(ts)) places = Math.min(n, frame.count / width);
  }
  // The frame was used whole at the metric's last export, has exactly these points (all its
  // records are seen if they all match) and this export is later: its records need no look (a
  // record written elsewhere since has dissolved `owners`).
  const trusted =
    owners !== undefined &&
    owners.isLive &&
    places === n &&
    (frame as SeriesFrame).count === n * width &&
    owners.seenInExport !== exportNumber &&
    owners.lastTimestampMs < ts;
  if (!trusted) owners?.dissolve();
  let runStart = 0;
  let seen = 0;
  let misses = 0;
  const every = kind.pointsPerLook;
  try {
    let i = 0;
    if (trusted) {
      // In slices, pausing between them when the budget says so.
      const slice = slicePoints(width);
      while (i < n) {
        const to = Math.min(n, i + slice);
        i = kind.patchAll(frame as SeriesFrame, points, end as HrTime, ts, i, to);
        if (i < to) break;
        if (i < n && budget.due()) yield;
      }
      if (i === n) {
        owners.seenInExport = exportNumber;
        owners.lastTimestampMs = ts;
        // The run in slices too: each one fills, encodes and compresses requests.
        const slice = Math.max(1, Math.floor(SLICE_SERIES / width)) * width;
        for (let from = 0; from < n * width; from += slice) {
          if (from > 0 && budget.due()) yield;
          handOver(sink, frame as SeriesFrame, from, Math.min(n * width, from + slice), width);
        }
        state.countSeen(n * width);
        return n;
      }
      // From here on, record by record: the ones before were seen now.
      owners.dissolveAt(i * width, exportNumber, ts);
      seen = i * width;
    }
    // Patched points are readable: a point the check leaves out comes after them, and the
    // positions before it stay where they are.
    yield* checkNow();
    for (; i < places; i++) {
      if (i % every === every - 1 && budget.due()) yield;
      const point = points[i] as DataPoint<unknown>;
      // One end time: usually one array for all points, else the same millisecond.
      if (
        (point.endTime === end || hrTimeToMillis(point.endTime) === ts) &&
        kind.patchOne(frame as SeriesFrame, i, point, exportNumber, ts)
      ) {
        seen += width;
        continue;
      }
      if (i > runStart) addPoints(sink, frame as SeriesFrame, runStart, i, width);
      runStart = i + 1;
      if (!single(i, point)) misses++;
    }
    if (places > runStart) addPoints(sink, frame as SeriesFrame, runStart, places, width);
    state.countSeen(seen);
    for (let i = places; i < n; i++) {
      if (i % every === every - 1 && budget.due()) yield;
      if (!single(i, points[i] as DataPoint<unknown>)) misses++;
    }
  } catch (err) {
    // Unreadable points: no frame until the metric is read whole again.
    owners?.dissolve();
    keepFrame(streams, undefined);
    throw err;
  }
  if (misses * 2 > n) {
    keepFrame(streams, undefined);
    // Churn (a known metric whose series are mostly new) gets no frame: it would not fit next time.
    if (streams.createdInExport === exportNumber && n > 0)
      sink.later(laterFrame(state, streams, points, kind, exportNumber, sink.partition));
    return n;
  }
  const next = yield* kind.build(points, exportNumber, sink.partition, () => budget.due());
  keepFrame(streams, next);
  return n;
}

/**
 * A metric's first export, for counters and gauges (one series a point) sent to one shard: each
 * new series is written straight into the metric's frame (SeriesFrame.open) as its labels are
 * encoded, its record keeps its labels there from the start, and the frame goes to the sink in
 * runs as it fills. No key string, series object or sample is made per series, the requests copy
 * runs as in the steady state, and the frame is ready for the next export. Without it, a first
 * export's per-series work was about a third of its time (100k counters: 104–109 ms against
 * 151–189 ms with each new series dropped once admitted, docs/decisions.md), and the frame was
 * built again from the records after it.
 * At the first point that is not a plain new series of the frame's time (unreadable, another end
 * time, labels that go the full way, a series known already), the rest go the per-series way and
 * the frame is not kept: it is built after the export (LaterFrame), as before.
 */
function* addNew(
  sink: FrameSink,
  streams: MetricStreams,
  given: readonly DataPoint<unknown>[],
  kind: FramedKind,
  single: (index: number, point: DataPoint<unknown>) => boolean,
  check: (() => Generator<void, readonly DataPoint<unknown>[], void>) | undefined,
  labels: NewSeriesLabels,
): Generator<void, number, void> {
  const budget = sink.budget;
  const state = sink.state;
  const exportNumber = state.exportNumber;
  let points = given;
  const found = firstIsReadable(points) ? firstEnd(points) : undefined;
  let i = 0;
  let frame: SeriesFrame | undefined;
  let owners: FramedRecords | undefined;
  let handed = 0;
  const records = new ChunkedList<SeriesRecord>();
  const handRest = (): void => {
    if (frame !== undefined && frame.length > handed) handOver(sink, frame, handed, frame.length, 1);
    handed = frame?.length ?? 0;
  };
  if (found !== undefined) {
    const { end, ts } = found;
    const n = points.length;
    const startOf = kind.for.startOf;
    state.framedNew += n;
    yield* state.reserveSteps(n, () => budget.due());
    frame = SeriesFrame.open(kind.family, n, ts, startOf !== undefined, kind.for.valuesApart === true);
    owners = new FramedRecords(exportNumber, ts);
    const strings = labels.labelStrings;
    const stringsAt = strings !== undefined ? new Int32Array(n) : undefined;
    if (strings !== undefined) {
      frame.labelStrings = strings;
      frame.labelStringsAt = stringsAt;
    }
    try {
      for (; i < n; i++) {
        if ((i & 31) === 31 && budget.due()) {
          handRest();
          yield;
        }
        const point = points[i] as PointLike | null | undefined;
        // What the points' check (translate's `readable`) would refuse ends the frame here.
        if (typeof point !== 'object' || point === null) break;
        const attributes = point.attributes;
        const value = point.value;
        if (typeof attributes !== 'object' || attributes === null || typeof value !== 'number') break;
        if (point.endTime !== end && timeMillis(point.endTime) !== ts) break;
        // Written into the frame where its series goes: kept there if it is new.
        const shape = streams.keysOf(attributes);
        const keys = shape ?? Object.keys(attributes);
        const length = labels.writeInto(frame, kind.family, attributes, keys);
        const hash = labels.lastHash;
        if (length < 0 || hash === undefined) break;
        // Known already (another metric's series, or two points of one series): the per-series way.
        if (state.recordOfBytes(frame.bytes, frame.labelsStartOfNext, length, hash) !== undefined) break;
        const slot = frame.append(length, value, startOf === undefined ? 0 : startOf(point));
        if (stringsAt !== undefined) stringsAt[slot] = (strings as LabelStrings).lastAt;
        const record = framedRecord(frame, slot, kind.family, hash, owners);
        state.addFramed(record);
        records.push(record);
        streams.set(i, attributes, record, shape === undefined ? null : shape);
      }
    } catch (err) {
      // A getter that throws: what was written goes, as the per-series way would have sent it.
      handRest();
      owners.adopt(records);
      owners.dissolve();
      throw err;
    }
    handRest();
    state.countSeen(frame.length);
    records.trim();
    owners.adopt(records);
    if (i === n) {
      frame.seal();
      keepFrame(streams, { frame, owners });
      sink.later(checkLater(state, streams, points, kind, exportNumber));
      return n;
    }
    // From point i on, the per-series way: the records so far keep their own state.
    owners.dissolve();
  }
  if (check !== undefined) {
    // The points before i were readable: they keep their places.
    points = yield* check();
  }
  const n = points.length;
  for (; i < n; i++) {
    if ((i & 31) === 31 && budget.due()) yield;
    single(i, points[i] as DataPoint<unknown>);
  }
  if (streams.createdInExport === exportNumber && n > 0)
    sink.later(laterFrame(state, streams, points, kind, exportNumber, sink.partition));
  return n;
}

/**
 * After a first export that kept its frame (addNew): the room the frame did not use is given
 * back, and the points it was made from must patch it whole, as the next export's will. This
 * checks the frame against the cache, readies the steady state's code for that export (see
 * laterFrame), and lets go of its label strings (SeriesFrame.retime).
 */
function checkLater(
  state: SeriesState,
  streams: MetricStreams,
  points: readonly DataPoint<unknown>[],
  kind: FramedKind,
  exportNumber: number,
): LaterFrame {
  return {
    *steps(due) {
      const frame = streams.frame;
      const owners = streams.framed;
      if (state.exportNumber !== exportNumber || state.isOpen || frame === undefined) return false;
      if (owners === undefined || !owners.isLive) return false;
      // The room its export left unused given back (SeriesFrame.trimSteps), then the check.
      yield* frame.trimSteps(due);
      return yield* patchesWhole(frame, owners, streams, points, kind, 1, due);
    },
  };
}

/** Whether the first of unchecked points is an object with an end time (a frame is timed by it). */
function firstIsReadable(points: readonly unknown[]): boolean {
  const first = points[0] as { readonly endTime?: unknown } | null | undefined;
  return typeof first === 'object' && first !== null && !Number.isNaN(timeMillis(first.endTime));
}

/** The metric's frame from now on, with its records and shape; none with undefined. */
function keepFrame(streams: MetricStreams, made: MadeFrame | undefined): void {
  streams.frame = made?.frame;
  streams.framed = made?.owners;
  streams.frameShape = made?.shape;
}

function laterFrame(
  state: SeriesState,
  streams: MetricStreams,
  points: readonly DataPoint<unknown>[],
  kind: FramedKind,
  exportNumber: number,
  partition: Partition | undefined,
): LaterFrame {
  return {
    *steps(due) {
      if (state.exportNumber !== exportNumber || state.isOpen || streams.frame !== undefined) return false;
      const next = yield* kind.build(points, exportNumber, partition, due);
      if (next === undefined) return false;
      keepFrame(streams, next);
      return yield* patchesWhole(next.frame, next.owners, streams, points, kind, next.shape?.width ?? 1, due);
    },
  };
}

/**
 * The points a frame was made from must patch it whole, as the next export's will: a check of
 * the frame against the cache, which also readies the steady state's code for that export. If
 * they do not, the frame is let go. Retimed first, as that export will do: V8 treats a field that
 * was never written after the constructor as a constant, and the first write (the next export's
 * retime) would otherwise throw away the patch code compiled here (measured: 10k counters, second
 * export 14–17 ms rather than 6–10).
 */
function* patchesWhole(
  frame: SeriesFrame,
  owners: FramedRecords,
  streams: MetricStreams,
  points: readonly DataPoint<unknown>[],
  kind: FramedKind,
  /** Series per point (a histogram point's, read from its frame's shape). */
  width: number,
  due: () => boolean,
): Generator<void, boolean, void> {
  const end = (points[0] as DataPoint<unknown>).endTime;
  const ts = hrTimeToMillis(end);
  frame.retime(ts);
  const n = points.length;
  const slice = slicePoints(width);
  for (let i = 0; i < n;) {
    if (i > 0 && due()) yield;
    const to = Math.min(n, i + slice);
    if (kind.patchAll(frame, points, end, ts, i, to) < to) {
      owners.dissolve();
      keepFrame(streams, undefined);
      return false;
    }
    i = to;
  }
  return true;
}

/**
 * Points `from`…`to` of a frame as runs. In a frame grouped by shard the points are not at their
 * own index: runs of adjacent slots are made (only in an export that could not use the frame
 * whole, after which it is made again).
 */
function addPoints(sink: FrameSink, frame: SeriesFrame, from: number, to: number, width: number): void {
  if (frame.shardEnds === undefined) {
    handOver(sink, frame, from * width, to * width, width);
    return;
  }
  let start = frame.slotOf(from * width);
  let end = start + width;
  for (let i = from + 1; i < to; i++) {
    const slot = frame.slotOf(i * width);
    if (slot === end) {
      end += width;
      continue;
    }
    handOver(sink, frame, start, end, width);
    start = slot;
    end = slot + width;
  }
  handOver(sink, frame, start, end, width);
}

/** Slots `from`…`to` of a frame to the sink as a run, their staged samples written first (SeriesFrame.stage). */
function handOver(sink: FrameSink, frame: SeriesFrame, from: number, to: number, width: number): void {
  frame.commit(from, to);
  sink.addRun(frame, from, to, width);
}

/**
 * The most points an export writes straight into new frames (addNew), about 32 MB of frames:
 * past it, a metric's frame is built after the export. A larger allocation during the export
 * set off V8's marking inside it: first export of 1M counters, longest block 27–56 ms against
 * 14–19 ms with the frame built after it (bench workload d, four processes each, alternated).
 */
const NEW_FRAMED_AT_MOST = 131_072;

/** Series patched between two looks at the budget (about 1 ms at 0.3 µs a series; 3 ms before V8 optimizes). */
const SLICE_POINTS = 4_096;

/** Points of `width` series each patched between two looks: a histogram point is a dozen series or more. */
function slicePoints(width: number): number {
  return Math.max(1, Math.floor(SLICE_POINTS / width));
}

/** Series of a frame handed over as a run between two looks (requests encoded and compressed). */
const SLICE_SERIES = 1_024;

/** A record that can take this export's sample at `ts`: live, not in it yet, in order. */
function usable(record: SeriesRecord, exportNumber: number, ts: number): boolean {
  return !isEvicted(record) && seenInExport(record) !== exportNumber && lastTimestampOf(record) < ts;
}

function markSeen(record: SeriesRecord, exportNumber: number, ts: number): void {
  setSeenInExport(record, exportNumber);
  setLastTimestamp(record, ts);
}

/**
 * What a frame keeps for RW 2.0 (wire/rw2.ts): the start time of each point, when the metric's
 * samples carry one (`startOf`, the per-series path's reading of it).
 */
export interface FrameFor {
  readonly startOf?: (point: PointLike) => number;
  /** Frames only ever written as RW 2.0 (SeriesFrame's FrameExtras.valuesApart). */
  readonly valuesApart?: boolean;
}

const V1: FrameFor = {};

/** Counters and gauges: one series per point. */
export function counterFrames(streams: MetricStreams, family: string, v2: FrameFor = V1): FramedKind {
  const startOf = v2.startOf;
  return {
    family,
    for: v2,
    width: 1,
    pointsPerLook: 32,
    patchAll: (frame, points, end, ts, from, to) => streams.patch(frame, points, end, ts, startOf, from, to),
    patchOne: (frame, index, point, exportNumber, ts) => {
      const value = point.value;
      if (typeof value !== 'number' || !frame.fits(index, value)) return false;
      if (startOf !== undefined && !frame.startIs(index, startOf(point))) return false;
      const record = streams.get(index, point.attributes);
      if (!isRecord(record) || !usable(record, exportNumber, ts)) return false;
      markSeen(record, exportNumber, ts);
      frame.stage(index, value);
      return true;
    },
    build: function* (points, exportNumber, partition, due) {
      const found = firstEnd(points);
      if (found === undefined) return undefined;
      // Records in chunks as found (chunked-list.ts), values in a typed array: a million-entry
      // array allocated or grown in one go holds the event loop for 5–50 ms.
      const records = new ChunkedList<SeriesRecord>();
      const values = new Float64Array(points.length);
      const starts = startOf === undefined ? undefined : new Float64Array(points.length);
      for (let i = 0; i < points.length; i++) {
        if ((i & 1023) === 1023 && due()) yield;
        const point = points[i] as DataPoint<unknown>;
        const value = point.value;
        const record = streams.entryAt(i);
        if (typeof value !== 'number' || !isRecord(record)) return undefined;
        if (!atEnd(point, found) || !sentNow(record, exportNumber, found.ts)) return undefined;
        records.push(record);
        values[i] = value;
        if (starts !== undefined) starts[i] = (startOf as (p: PointLike) => number)(point);
      }
      const extras = { starts, valuesApart: v2.valuesApart };
      return yield* frameFrom(records, values, family, exportNumber, found.ts, 1, partition, extras, due);
    },
  };
}

/**
 * Classic histograms: a point is its `_bucket`…, `_sum`, `_count` series (FrameShape.width of
 * them, the same for every point of a frame: one set of bounds, a sum or not), so that runs hold
 * whole points and batching keeps them whole (a receiver never stores half a histogram).
 */
export function histogramFrames(streams: MetricStreams, family: string, v2: FrameFor = V1): FramedKind {
  const shape = streams.frameShape;
  const startOf = v2.startOf;
  return {
    family,
    for: v2,
    width: shape?.width ?? 1,
    // A point is a dozen series or more: a look after each.
    pointsPerLook: 1,
    patchAll: (frame, points, end, ts, from, to) => {
      // Read at each call: the frame of a first export is built after it (LaterFrame).
      const s = streams.frameShape as FrameShape;
      let i = from;
      for (; i < to; i++) {
        const point = points[i] as DataPoint<unknown>;
        if (point.endTime !== end && hrTimeToMillis(point.endTime) !== ts) break;
        if (!streams.matches(i, point.attributes)) break;
        if (startOf !== undefined && !frame.startIs(i * s.width, startOf(point))) break;
        const h = point.value as Histogram;
        if (!fitsShape(h, s) || !patchHistogram(frame, i * s.width, s, h)) break;
      }
      return i;
    },
    patchOne: (frame, index, point, exportNumber, ts) => {
      const s = shape as FrameShape;
      const h = point.value as Histogram;
      if (!fitsShape(h, s)) return false;
      if (startOf !== undefined && !frame.startIs(index * s.width, startOf(point))) return false;
      const entry = streams.get(index, point.attributes);
      if (entry === undefined || isRecord(entry) || entry.records.length !== s.width) return false;
      if (!entry.records.every((r) => usable(r, exportNumber, ts))) return false;
      if (!patchHistogram(frame, index * s.width, s, h)) return false;
      for (const r of entry.records) markSeen(r, exportNumber, ts);
      return true;
    },
    build: function* (points, exportNumber, partition, due) {
      const found = firstEnd(points);
      const h0 = (points[0] as DataPoint<unknown> | undefined)?.value as Histogram | undefined;
      if (found === undefined || typeof h0 !== 'object' || h0 === null) return undefined;
      const s = shapeOf(h0);
      const records = new ChunkedList<SeriesRecord>();
      const values = new Float64Array(points.length * s.width);
      const starts = startOf === undefined ? undefined : new Float64Array(points.length * s.width);
      for (let i = 0; i < points.length; i++) {
        if ((i & 1023) === 1023 && due()) yield;
        const point = points[i] as DataPoint<unknown>;
        const h = point.value as Histogram;
        if (!atEnd(point, found)) return undefined;
        if (starts !== undefined)
          starts.fill((startOf as (p: PointLike) => number)(point), i * s.width, (i + 1) * s.width);
        const entry = streams.entryAt(i);
        if (!fitsShape(h, s) || entry === undefined || isRecord(entry)) return undefined;
        if (entry.records.length !== s.width || entry.hasSum !== s.hasSum) return undefined;
        if (!sameBoundaries(entry.boundaries, s.boundaries)) return undefined;
        for (let j = 0; j < s.width; j++) {
          const record = entry.records[j] as SeriesRecord;
          if (!sentNow(record, exportNumber, found.ts)) return undefined;
          records.push(record);
        }
        histogramValues(h, s, values, i * s.width);
      }
      const made = yield* frameFrom(
        records,
        values,
        family,
        exportNumber,
        found.ts,
        s.width,
        partition,
        { starts, valuesApart: v2.valuesApart },
        due,
      );
      return made && { ...made, shape: s };
    },
  };
}

/** The end time of the first point, if there is one and it is after the epoch (in ms). */
function firstEnd(points: readonly DataPoint<unknown>[]): { end: HrTime; ts: number } | undefined {
  if (points.length === 0) return undefined;
  const end = (points[0] as DataPoint<unknown>).endTime;
  const ts = hrTimeToMillis(end);
  return ts > 0 ? { end, ts } : undefined;
}

/** Whether the point ends at that time: a frame has one timestamp. */
function atEnd(point: DataPoint<unknown>, at: { end: HrTime; ts: number }): boolean {
  return point.endTime === at.end || hrTimeToMillis(point.endTime) === at.ts;
}

/** A record this export sent a float sample for at `ts` (not moved), that no frame keeps. */
function sentNow(record: SeriesRecord, exportNumber: number, ts: number): boolean {
  return (
    isEncoded(record) &&
    ownerOf(record) === undefined &&
    seenInExport(record) === exportNumber &&
    lastTimestampOf(record) === ts
  );
}

/**
 * The frame of these records (every one seen in `exportNumber` at `timestampMs`, with these
 * values, in groups of `width` for one point), owned by a new FramedRecords; none if a record is
 * at two places: one series at two positions (attributes that sanitize alike) would be sent
 * twice. With more than one shard, the points are laid out shard by shard.
 */
function* frameFrom(
  records: ChunkedList<SeriesRecord>,
  values: Float64Array,
  family: string,
  exportNumber: number,
  timestampMs: number,
  width: number,
  partition: Partition | undefined,
  extras: Omit<FrameExtras, 'layout'>,
  due: () => boolean,
): Generator<void, MadeFrame | undefined, void> {
  const owners = new FramedRecords(exportNumber, timestampMs);
  const n = records.length;
  const labels = new ChunkedList<string>();
  const shards = partition !== undefined && partition.count > 1 ? new Int32Array(n / width) : undefined;
  for (let i = 0; i < n; i++) {
    const record = records.at(i);
    if (ownerOf(record) !== undefined) {
      // As they were: seen in this export at this timestamp.
      for (let j = 0; j < i; j++) release(records.at(j), exportNumber, timestampMs);
      return undefined;
    }
    keptBy(record, owners);
    labels.push(keyOf(record));
    // The series of one point share a shard (their hash leaves out `__name__` and `le`).
    if (shards !== undefined && i % width === 0) shards[i / width] = (partition as Partition).of(record);
    if ((i & 1023) === 1023 && due()) {
      // Nothing else runs between the steps of an export: the records stay as they are.
      yield;
    }
  }
  records.trim();
  owners.adopt(records);
  const layout =
    shards !== undefined ? layoutOfShards(shards, width, (partition as Partition).count) : undefined;
  const frame = yield* SeriesFrame.buildSteps(
    family,
    labels,
    values,
    timestampMs,
    { ...extras, layout },
    due,
  );
  // From now on the records' keys are read from the frame: their own strings can go.
  for (let i = 0; i < n; i++) {
    if ((i & 4095) === 4095 && due()) yield;
    settle(records.at(i), frame, frame.slotOf(i));
  }
  return { frame, owners };
}

/**
 * Slots grouped by shard, points in their own order within a shard (a counting sort). The series
 * of one point share a shard: its hash leaves out `__name__` and `le`.
 */
export function layoutByShard(
  records: ReadList<SeriesRecord>,
  width: number,
  partition: Partition,
): FrameLayout {
  const shards = new Int32Array(records.length / width);
  for (let p = 0; p < shards.length; p++) shards[p] = partition.of(records.at(p * width) as SeriesRecord);
  return layoutOfShards(shards, width, partition.count);
}

/** The same from the shard of each point. */
function layoutOfShards(shardOfPoint: Int32Array, width: number, count: number): FrameLayout {
  const points = shardOfPoint.length;
  const shardEnds = new Int32Array(count);
  for (let p = 0; p < points; p++) {
    const shard = shardOfPoint[p] as number;
    shardEnds[shard] = (shardEnds[shard] as number) + width;
  }
  for (let k = 1; k < shardEnds.length; k++)
    shardEnds[k] = (shardEnds[k] as number) + (shardEnds[k - 1] as number);
  const next = new Int32Array(count);
  for (let k = 1; k < next.length; k++) next[k] = shardEnds[k - 1] as number;
  const position = new Int32Array(points * width);
  for (let p = 0; p < points; p++) {
    const shard = shardOfPoint[p] as number;
    const slot = next[shard] as number;
    next[shard] = slot + width;
    for (let j = 0; j < width; j++) position[p * width + j] = slot + j;
  }
  return { position, shardEnds };
}

/** The shape of the frame a histogram point would make: its bounds, sum, number of series. */
function shapeOf(h: Histogram): FrameShape {
  const boundaries = h.buckets.boundaries;
  let finite = boundaries.indexOf(Infinity);
  if (finite < 0) finite = boundaries.length;
  const hasSum = h.sum !== undefined;
  return { boundaries, hasSum, finite, width: finite + 1 + (hasSum ? 1 : 0) + 1 };
}

/** Whether a histogram point has the frame's bounds and sum. */
function fitsShape(h: Histogram, shape: FrameShape): boolean {
  if (typeof h !== 'object' || h === null) return false;
  const boundaries = h.buckets.boundaries;
  return (
    (h.sum !== undefined) === shape.hasSum &&
    (boundaries === shape.boundaries || sameBoundaries(boundaries, shape.boundaries))
  );
}

/**
 * Writes the series values of a histogram point (histogramValues) from slot `base`; false as soon
 * as one does not fit (a bucket leaving zero): the point then goes on its own and the frame is
 * made again.
 */
function patchHistogram(frame: SeriesFrame, base: number, shape: FrameShape, h: Histogram): boolean {
  histogramValues(h, shape, scratch, 0);
  for (let j = 0; j < shape.width; j++) {
    const value = scratch[j] as number;
    if (!frame.fits(base + j, value)) return false;
    frame.stage(base + j, value);
  }
  return true;
}

const scratch: number[] = [];

/**
 * A point's series values in the order of its records, into `out` from `base`: cumulative
 * `_bucket`s, `+Inf` (the count), `_sum` if any, `_count`.
 */
function histogramValues(h: Histogram, shape: FrameShape, out: number[] | Float64Array, base: number): void {
  const counts = h.buckets.counts;
  let cumulative = 0;
  let slot = base;
  for (let b = 0; b < shape.finite; b++) {
    cumulative += counts[b] ?? 0;
    out[slot++] = cumulative;
  }
  out[slot++] = h.count;
  if (shape.hasSum) out[slot++] = h.sum as number;
  out[slot] = h.count;
}

export function sameBoundaries(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
