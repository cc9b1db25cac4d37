/**
 * The disk spool: requests that could not be delivered at once (their first attempt failed, or
 * they wait behind one that did) are kept in a directory until delivered, so that neither a
 * crash nor the end of the process loses them; the next process started with the same directory
 * sends what is left first.
 *
 * One file per request, written atomically (temporary file, fsync, rename), so a crash leaves
 * either a whole file or none. A file holds a 48-byte header, then the compressed body as it
 * would have been sent:
 *   0  "PRWSPOOL"   8  format version (1)   9  protocol (1 = RW 1.0, 2 = RW 2.0)   10 reserved (2)
 *   12 samples (u32 LE)   16 native histograms (u32 LE)   20 created, ms (f64 LE)   28 SHA-1 of body (20)
 * File names sort by creation time, so a directory listing is the sending order.
 * Knows nothing of OTel or HTTP.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { WireProtocol } from './sender.js';
import type { DropReason } from './stats.js';

const MAGIC = Buffer.from('PRWSPOOL', 'latin1');
const FORMAT_VERSION = 1;
const HEADER_BYTES = 48;
const SUFFIX = '.prw';

export interface SpoolLimits {
  readonly maxBytes: number;
  readonly maxAgeMillis: number;
}

export interface SpoolEntry {
  readonly path: string;
  readonly createdMs: number;
  /** Samples plus native histograms, from the header. */
  readonly samples: number;
}

export interface SpooledRequest {
  readonly protocol: WireProtocol;
  readonly body: Buffer;
  readonly samples: number;
  readonly histograms: number;
  readonly createdMs: number;
}

/** Told of every spooled request given up on, with the number of samples it held. */
export type SpoolDropListener = (reason: DropReason, samples: number, detail: string, path: string) => void;

export class Spool {
  private sequence = 0;
  /**
   * The files this spool knows of (found at start, then written), oldest first, with their sizes:
   * `maxBytes` is enforced from this, not from a directory listing per write (an outage writes
   * thousands of files). Files another process adds are counted when a later process starts.
   */
  private readonly files = new Map<string, number>();
  private bytes = 0;

  constructor(
    readonly dir: string,
    private readonly limits: SpoolLimits,
    private readonly onDrop: SpoolDropListener,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  /**
   * The spooled requests, oldest first. Expired ones are deleted (and reported) on the way;
   * leftovers of interrupted writes are removed.
   */
  pending(nowMs: number): SpoolEntry[] {
    const entries: SpoolEntry[] = [];
    for (const name of readdirSync(this.dir).sort()) {
      const path = join(this.dir, name);
      if (name.endsWith('.tmp')) {
        // An interrupted write; a recent one may belong to a process writing right now.
        if (nowMs - mtimeOf(path) > 60_000) removeQuietly(path);
        continue;
      }
      if (!name.endsWith(SUFFIX)) continue;
      const createdMs = Number(name.slice(0, name.indexOf('-')));
      if (!Number.isFinite(createdMs)) continue;
      if (nowMs - createdMs > this.limits.maxAgeMillis) {
        this.drop(path, 'spool_expired', `older than spoolMaxAgeMillis (${this.limits.maxAgeMillis} ms)`);
        continue;
      }
      entries.push({ path, createdMs, samples: samplesIn(path) });
      if (!this.files.has(path)) this.track(path, sizeOf(path));
    }
    this.enforceSize(undefined);
    return entries.filter((e) => this.files.has(e.path));
  }

  /** The request in `entry`, or undefined if it is gone or corrupt (then moved aside as `*.corrupt`). */
  read(entry: SpoolEntry): SpooledRequest | undefined {
    let file: Buffer;
    try {
      file = readFileSync(entry.path);
    } catch {
      this.untrack(entry.path);
      return undefined; // another process sent it already
    }
    const parsed = parse(file);
    if (typeof parsed === 'string') {
      const samples = samplesIn(entry.path);
      this.untrack(entry.path);
      const aside = `${entry.path}.corrupt`;
      try {
        renameSync(entry.path, aside);
      } catch {
        removeQuietly(entry.path);
      }
      this.onDrop('spool_corrupt', samples, `${entry.path}: ${parsed}; moved to ${aside}`, entry.path);
      return undefined;
    }
    return parsed;
  }

  /** Writes one request atomically (fsync'd), then deletes the oldest files while over `maxBytes`. */
  write(request: Omit<SpooledRequest, 'createdMs'>, nowMs: number): SpoolEntry {
    const name = `${String(Math.floor(nowMs)).padStart(15, '0')}-${process.pid}-${String(this.sequence++).padStart(6, '0')}${SUFFIX}`;
    const path = join(this.dir, name);
    const tmp = `${path}.tmp`;
    const header = Buffer.alloc(HEADER_BYTES);
    MAGIC.copy(header, 0);
    header.writeUInt8(FORMAT_VERSION, 8);
    header.writeUInt8(request.protocol === 'v2' ? 2 : 1, 9);
    header.writeUInt32LE(request.samples, 12);
    header.writeUInt32LE(request.histograms, 16);
    header.writeDoubleLE(nowMs, 20);
    digest(request.body).copy(header, 28);
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, header);
      writeSync(fd, request.body);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    syncDirectory(this.dir);
    const entry = { path, createdMs: nowMs, samples: request.samples + request.histograms };
    this.track(path, HEADER_BYTES + request.body.length);
    this.enforceSize(path);
    return entry;
  }

  remove(entry: SpoolEntry): void {
    this.untrack(entry.path);
    removeQuietly(entry.path);
  }

  private track(path: string, size: number): void {
    this.files.set(path, size);
    this.bytes += size;
  }

  private untrack(path: string): void {
    const size = this.files.get(path);
    if (size === undefined) return;
    this.files.delete(path);
    this.bytes -= size;
  }

  /** The oldest files go while over `maxBytes`, never `keep` (the one just written). */
  private enforceSize(keep: string | undefined): void {
    for (const path of this.files.keys()) {
      if (this.bytes <= this.limits.maxBytes) return;
      if (path === keep) continue;
      this.drop(path, 'spool_full', `spoolDir over spoolMaxBytes (${this.limits.maxBytes})`);
    }
  }

  private drop(path: string, reason: DropReason, why: string): void {
    const samples = samplesIn(path);
    this.untrack(path);
    removeQuietly(path);
    this.onDrop(reason, samples, `${path}: ${why}`, path);
  }
}

function parse(file: Buffer): SpooledRequest | string {
  if (file.length < HEADER_BYTES || !file.subarray(0, 8).equals(MAGIC)) return 'not a spool file';
  if (file.readUInt8(8) !== FORMAT_VERSION) return `unknown format version ${file.readUInt8(8)}`;
  const protocolByte = file.readUInt8(9);
  if (protocolByte !== 1 && protocolByte !== 2) return `unknown protocol ${protocolByte}`;
  const body = file.subarray(HEADER_BYTES);
  if (!digest(body).equals(file.subarray(28, 48))) return 'checksum mismatch (truncated or damaged)';
  return {
    protocol: protocolByte === 2 ? 'v2' : 'v1',
    body,
    samples: file.readUInt32LE(12),
    histograms: file.readUInt32LE(16),
    createdMs: file.readDoubleLE(20),
  };
}

function digest(body: Buffer): Buffer {
  return createHash('sha1').update(body).digest();
}

function samplesIn(path: string): number {
  try {
    const fd = openSync(path, 'r');
    try {
      const header = Buffer.alloc(HEADER_BYTES);
      if (readSync(fd, header, 0, HEADER_BYTES, 0) < HEADER_BYTES || !header.subarray(0, 8).equals(MAGIC))
        return 0;
      return header.readUInt32LE(12) + header.readUInt32LE(16);
    } finally {
      closeSync(fd);
    }
  } catch {
    return 0;
  }
}

/** The rename is durable only once the directory is synced too (POSIX); best effort elsewhere. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Not supported on this platform or file system: the file itself is synced.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone: another process sent or removed it
  }
}
