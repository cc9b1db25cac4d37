/**
 * What the per-series state (series-state.ts) keeps of one series: a plain object of seven
 * fields, made by one object literal (`makeRecord`) and read and written through the functions
 * below.
 *
 * Why not a class: a first export makes a record per new series, and they all live on. V8
 * allocates an object literal's objects straight into the old generation once it sees that they
 * survive (allocation-site pretenuring), which it does not do for `new`: class instances are
 * copied by every young-generation collection they live through, and at 100k new series those
 * copies were most of the first export's collector pauses (docs/decisions.md).
 */
import type { Label, SeriesIdentity } from '../model.js';
import { IDENTITY_SLOT_SHIFT } from '../model.js';
import { decodeLabelFields } from '../wire/label-fields.js';
import { identityKey, identitySlot, type SeriesFrame } from '../wire/series-frame.js';
import { keyHash } from '../wire/key-hash.js';
import type { ReadList } from '../chunked-list.js';

const ENCODED = 1;
const HISTOGRAM = 2;
const EVICTED = 4;
/** SeriesRecord.slotFlags: the flags, then the slot (SeriesIdentity). */
const FLAGS = 7;
const SLOT = 1 << IDENTITY_SLOT_SHIFT;

/**
 * Seven fields: a record is 80 bytes on V8 without pointer compression (Node), a word a field
 * and three for the object. Fields that are never needed together share one (see each). The
 * first two are its SeriesIdentity.
 */
export interface SeriesRecord extends SeriesIdentity {
  /**
   * The key while no frame holds it: the RW 1.0 encoding of its labels (wire/label-fields.ts)
   * for series from translate (ENCODED), else the `key` of a series built elsewhere (tests,
   * tools). Once a frame is built with the series (`settle`), the frame itself: the key is read
   * from there, at `placedAt`. The frame holds the same bytes, and a million keys kept twice
   * were a quarter of a gigabyte.
   */
  where: string | SeriesFrame;
  /** ENCODED, HISTOGRAM, EVICTED in the low three bits, the slot in `where` above them (placedAt). */
  slotFlags: number;
  /**
   * The export that last admitted it, or, while a frame keeps it, that frame's FramedRecords,
   * which holds its last export and timestamp for all of its records at once.
   */
  seen: number | FramedRecords;
  /**
   * Its last timestamp; undefined while a frame keeps it. A field that only ever holds numbers
   * is a box of its own per object in V8 (16 bytes), kept for the object's life: this one holds
   * none while a frame keeps the record (bench/memory.ts, per series at 1M).
   */
  ownLast: number | undefined;
  /** For the state's index (record-index.ts). */
  readonly keyHash: number;
  /** What only some records need: decoded labels, the shard hash (RecordExtras). */
  extras: RecordExtras | undefined;
  readonly family: string;
}

/** What a record keeps only once asked for it. */
interface RecordExtras {
  decoded: readonly Label[] | undefined;
  shardHash: number | undefined;
}

/** A record with its key as such (`labels`: its labels decoded, when the caller has them). */
export function newRecord(
  key: string,
  family: string,
  encoded: boolean,
  labels?: readonly Label[],
  hash = keyHash(key),
): SeriesRecord {
  const extras = labels === undefined ? undefined : { decoded: labels, shardHash: undefined };
  return makeRecord(key, encoded ? ENCODED : 0, 0, -Infinity, hash, extras, family);
}

/** A record whose encoded labels are at `slot` of `frame`, kept by `owner` (keptBy) from the start. */
export function framedRecord(
  frame: SeriesFrame,
  slot: number,
  family: string,
  hash: number,
  owner: FramedRecords,
): SeriesRecord {
  return makeRecord(frame, slot * SLOT + ENCODED, owner, undefined, hash, undefined, family);
}

/** Every record comes from this one literal: one allocation site, one shape (see the header). */
function makeRecord(
  where: string | SeriesFrame,
  slotFlags: number,
  seen: number | FramedRecords,
  ownLast: number | undefined,
  hash: number,
  extras: RecordExtras | undefined,
  family: string,
): SeriesRecord {
  return { where, slotFlags, seen, ownLast, keyHash: hash, extras, family };
}

/** A record, not another entry of the streams' cache (a classic-histogram point's records) nor none. */
export function isRecord(entry: object | undefined): entry is SeriesRecord {
  return entry !== undefined && (entry as Partial<SeriesRecord>).slotFlags !== undefined;
}

/** Its key is the RW 1.0 encoding of its labels (from translate). */
export function isEncoded(r: SeriesRecord): boolean {
  return (r.slotFlags & ENCODED) !== 0;
}

/** The last export carried native histograms for it: its stale marker is a histogram. */
export function isHistogram(r: SeriesRecord): boolean {
  return (r.slotFlags & HISTOGRAM) !== 0;
}

export function setHistogram(r: SeriesRecord, value: boolean): void {
  r.slotFlags = value ? r.slotFlags | HISTOGRAM : r.slotFlags & ~HISTOGRAM;
}

/** Forgotten by the state: a cache entry that still points here is out of date. */
export function isEvicted(r: SeriesRecord): boolean {
  return (r.slotFlags & EVICTED) !== 0;
}

export function setEvicted(r: SeriesRecord, value: boolean): void {
  r.slotFlags = value ? r.slotFlags | EVICTED : r.slotFlags & ~EVICTED;
}

/** Its key: a new string each time once a frame holds it (read from the frame). */
export function keyOf(r: SeriesRecord): string {
  return identityKey(r);
}

export function hasKey(r: SeriesRecord, key: string): boolean {
  const where = r.where;
  return typeof where === 'string' ? where === key : where.hasEncodedLabels(placedAt(r), key);
}

/** The same for a key held as `length` bytes from `from`. */
export function hasKeyBytes(r: SeriesRecord, bytes: Uint8Array, from: number, length: number): boolean {
  const where = r.where;
  if (typeof where !== 'string') return where.hasLabelBytes(placedAt(r), bytes, from, length);
  if (where.length !== length) return false;
  for (let i = 0; i < length; i++) if (where.charCodeAt(i) !== bytes[from + i]) return false;
  return true;
}

/**
 * Its encoded labels are at `slot` of `frame` (from now on, its key is read from there). A
 * frame holds fewer than 2^28 series (each takes more than 16 of its at most 2^32 bytes), so
 * the slot and the flags fit one small integer.
 */
export function settle(r: SeriesRecord, frame: SeriesFrame, slot: number): void {
  if (!isEncoded(r)) return;
  r.where = frame;
  r.slotFlags = slot * SLOT + (r.slotFlags & FLAGS);
}

/** Its slot in the frame that holds its encoded labels (settle), if one does. */
export function placedAt(r: SeriesRecord): number {
  return identitySlot(r);
}

/** Decoded from the encoded bytes when first asked (RW 2.0, debug text, messages). */
export function labelsOf(r: SeriesRecord): readonly Label[] {
  const extras = (r.extras ??= { decoded: undefined, shardHash: undefined });
  return (extras.decoded ??= decodeLabelFields(keyOf(r)));
}

/** For delivery's sharding (exporter.ts), computed once by `compute`. */
export function shardHashOf(r: SeriesRecord, compute: (record: SeriesRecord) => number): number {
  const extras = (r.extras ??= { decoded: undefined, shardHash: undefined });
  return (extras.shardHash ??= compute(r));
}

/** The FramedRecords that keeps its export and timestamp, if a frame keeps it. */
export function ownerOf(r: SeriesRecord): FramedRecords | undefined {
  const seen = r.seen;
  return typeof seen === 'number' ? undefined : seen;
}

/** The export that last admitted it (ordering, staleness, two points for one series). */
export function seenInExport(r: SeriesRecord): number {
  const seen = r.seen;
  return typeof seen === 'number' ? seen : seen.seenInExport;
}

export function setSeenInExport(r: SeriesRecord, exportNumber: number): void {
  ownerOf(r)?.dissolve();
  r.seen = exportNumber;
}

/** The timestamp of the last sample or histogram sent for it. */
export function lastTimestampOf(r: SeriesRecord): number {
  const seen = r.seen;
  return typeof seen === 'number' ? (r.ownLast as number) : seen.lastTimestampMs;
}

export function setLastTimestamp(r: SeriesRecord, timestampMs: number): void {
  ownerOf(r)?.dissolve();
  r.ownLast = timestampMs;
}

/** Kept by a frame from now on (FramedRecords): its own last timestamp is the frame's. */
export function keptBy(r: SeriesRecord, owner: FramedRecords): void {
  r.seen = owner;
  r.ownLast = undefined;
}

/** No longer kept by a frame: its own values again. */
export function release(r: SeriesRecord, exportNumber: number, lastTimestampMs: number): void {
  r.seen = exportNumber;
  r.ownLast = lastTimestampMs;
}

/**
 * The records of a metric's frame, while the frame is used whole. Their last export and last
 * timestamp are the same for all of them and are kept here once, so that a steady-state export
 * checks and updates them in one place and never reads the records themselves (each one is a
 * memory access of its own). Any write to one of the records from elsewhere (a second point for
 * the series, from another metric) dissolves it first: every record gets its values back.
 */
export class FramedRecords {
  private live = true;
  private records: ReadList<SeriesRecord> = NO_RECORDS;

  /** For records seen in `seenInExport`, at `lastTimestampMs` (their own values too). */
  constructor(
    public seenInExport: number,
    public lastTimestampMs: number,
  ) {}

  /** Takes over these records, whose `owner` is already set to it. */
  adopt(records: ReadList<SeriesRecord>): void {
    this.records = records;
  }

  get isLive(): boolean {
    return this.live;
  }

  /** Every record back to its own values: those kept here. */
  dissolve(): void {
    this.dissolveAt(0, 0, 0);
  }

  /**
   * The same, the first `seen` records having been seen in `exportNumber` at `timestampMs`
   * (an export that stopped using the frame there).
   */
  dissolveAt(seen: number, exportNumber: number, timestampMs: number): void {
    if (!this.live) return;
    this.live = false;
    const records = this.records;
    for (let i = 0; i < records.length; i++) {
      const r = records.at(i) as SeriesRecord;
      if (i < seen) release(r, exportNumber, timestampMs);
      else release(r, this.seenInExport, this.lastTimestampMs);
    }
  }
}

const NO_RECORDS: readonly SeriesRecord[] = [];
