/**
 * A minimal protobuf writer over one growable buffer (protobuf encoding spec: varints,
 * 64-bit little-endian doubles, length-delimited fields). Only what the remote-write messages
 * need. Nested messages reserve 5 bytes for their length and close up the gap once the length
 * is known, so no message is sized or built twice.
 */
const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const LENGTH_RESERVE = 5; // a varint of up to 2^35 - 1

declare module 'node:buffer' {
  interface Buffer {
    /**
     * What `buf.write(text, offset, 'latin1')` calls, without re-checking its arguments on every
     * series (Node's Buffer methods since v0.x, not in @types/node).
     */
    latin1Write(text: string, offset: number, length?: number): number;
  }
}

/** The bytes of values `from`…`to` as varints (the content of a packed field, packedInt32). */
export function packedLength(values: Int32Array, from: number, to: number): number {
  let size = 0;
  for (let i = from; i < to; i++) size += varintLength(values[i] as number);
  return size;
}

export function varintLength(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  if (n < 0x800000000) return 5;
  if (n < 0x40000000000) return 6; // millisecond timestamps until the year 2109
  if (n < 0x2000000000000) return 7;
  return n < 0x100000000000000 ? 8 : 9;
}

/**
 * Writes the varint of a non-negative integer up to 2^53 into `out` at `pos`; returns the
 * position after it (for buffers the writer does not own, e.g. wire/series-frame.ts).
 */
export function writeVarint(out: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    out[pos++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[pos++] = value;
  return pos;
}

/** Writes values `from`…`to` (non-negative, below 2^31) as varints at `pos`; returns the position after them. */
function writeInt32Varints(
  out: Uint8Array,
  pos: number,
  values: Int32Array,
  from: number,
  to: number,
): number {
  for (let i = from; i < to; i++) {
    let value = values[i] as number;
    while (value > 0x7f) {
      out[pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    out[pos++] = value;
  }
  return pos;
}

/**
 * Whether a double field is written: proto3 (and protobufjs) leave out the default +0, but not
 * −0, whose bits are not 0.
 */
export function writesDouble(value: number): boolean {
  return value !== 0 || Object.is(value, -0);
}

/**
 * Zig-zag mapping of a signed integer (0, −1, 1, −2… → 0, 1, 2, 3…), with arithmetic instead of
 * bit operations so that values beyond 32 bits (sint64 deltas of large counts) stay exact.
 */
export function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/**
 * Two int64 fields (`first`, then `second`; each left out at 0, as proto3 does) as their encoded
 * bytes, for the last pair of values asked for: a Sample's timestamps, which the series of a
 * request mostly share, and whose varints of millisecond times (past 32 bits) were the dearest
 * part of writing each series.
 */
export class Int64FieldPair {
  private readonly w = new ProtobufWriter(32);
  private a = NaN;
  private b = NaN;
  private bytes = new Uint8Array(0);

  constructor(
    private readonly first: number,
    private readonly second = 0,
  ) {}

  of(a: number, b = 0): Uint8Array {
    if (a !== this.a || b !== this.b) {
      const w = this.w;
      w.reset();
      if (a !== 0) w.int64(this.first, a);
      if (b !== 0) w.int64(this.second, b);
      this.bytes = Uint8Array.from(w.view());
      this.a = a;
      this.b = b;
    }
    return this.bytes;
  }
}

export class ProtobufWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private varint(value: number): void {
    // Non-negative integers up to 2^53. Bit operations stop at 32 bits, so a larger value
    // (a millisecond timestamp) is split into its low and high 32 bits first.
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    if (value > 0xffffffff) {
      let lo = value >>> 0;
      let hi = (value - lo) / 0x100000000;
      while (hi !== 0) {
        buf[pos++] = (lo & 0x7f) | 0x80;
        lo = ((lo >>> 7) | (hi << 25)) >>> 0;
        hi >>>= 7;
      }
      value = lo;
    }
    while (value > 0x7f) {
      buf[pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[pos++] = value;
    this.pos = pos;
  }

  private tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  uint(field: number, value: number): void {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
  }

  /** int64: negative values are 10-byte two's complement varints. */
  int64(field: number, value: number): void {
    if (value >= 0) return this.uint(field, value);
    this.tag(field, WIRE_VARINT);
    let v = BigInt.asUintN(64, BigInt(value));
    this.ensure(10);
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  /** sint32/sint64: zig-zag, so small negative numbers stay short (schema, span offsets, deltas). */
  sint(field: number, value: number): void {
    this.tag(field, WIRE_VARINT);
    this.varint(zigzag(value));
  }

  /** A packed `repeated sint32/sint64` (proto3 packs repeated scalars); nothing when empty. */
  packedSint(field: number, values: readonly number[]): void {
    if (values.length === 0) return;
    const start = this.begin(field);
    for (const v of values) this.varint(zigzag(v));
    this.end(start);
  }

  /** A packed `repeated uint32/uint64`; nothing when empty. */
  packedUint(field: number, values: ArrayLike<number>, from = 0, to = values.length): void {
    if (to <= from) return;
    const start = this.begin(field);
    for (let i = from; i < to; i++) this.varint(values[i] as number);
    this.end(start);
  }

  /**
   * The same for 31-bit values in an Int32Array (RW 2.0's label refs): sized first, so no length
   * is reserved and moved, and read from one array type only. `size`: packedLength of the values,
   * when the caller has it already.
   */
  packedInt32(
    field: number,
    values: Int32Array,
    from: number,
    to: number,
    size = packedLength(values, from, to),
  ): void {
    if (to <= from) return;
    this.header(field, size);
    this.ensure(size);
    this.pos = writeInt32Varints(this.buf, this.pos, values, from, to);
  }

  /** A packed `repeated double`; nothing when empty. */
  packedDouble(field: number, values: readonly number[]): void {
    if (values.length === 0) return;
    this.tag(field, WIRE_LEN);
    this.varint(values.length * 8);
    this.ensure(values.length * 8);
    for (const v of values) {
      this.buf.writeDoubleLE(v, this.pos);
      this.pos += 8;
    }
  }

  double(field: number, value: number): void {
    this.tag(field, WIRE_FIXED64);
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  /** A double field given as its 8 little-endian bytes (for NaN payloads JavaScript may not keep). */
  rawDouble(field: number, bytes: Uint8Array): void {
    this.tag(field, WIRE_FIXED64);
    this.ensure(8);
    this.buf.set(bytes, this.pos);
    this.pos += 8;
  }

  string(field: number, value: string): void {
    this.tag(field, WIRE_LEN);
    const length = value.length;
    if (length < 0x80) {
      // Short ASCII (nearly every label name and value): copy the characters directly, which is
      // cheaper than a call into the native UTF-8 encoder.
      this.ensure(1 + length * 3);
      const buf = this.buf;
      let p = this.pos + 1;
      let i = 0;
      for (; i < length; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        buf[p++] = c;
      }
      if (i === length) {
        buf[this.pos] = length;
        this.pos = p;
        return;
      }
    }
    const max = length * 3;
    if (max < 0x80) {
      // Common case: the length fits one byte whatever the encoding turns out to be.
      this.ensure(1 + max);
      // The length given: workerd's Buffer (Workers) refuses write(text, offset, encoding) near the end.
      const n = this.buf.write(value, this.pos + 1, max, 'utf8');
      this.buf[this.pos] = n;
      this.pos += 1 + n;
      return;
    }
    const n = Buffer.byteLength(value, 'utf8');
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.write(value, this.pos, n, 'utf8');
  }

  /**
   * A sub-message of a double (field 1) and a non-negative int64 (field 2), each left out when
   * zero as proto3 does, the double given by value or (for NaN payloads) by its 8 bytes: the
   * remote-write `Sample`, written in one go because every series of every export has one.
   */
  doubleInt64Message(field: number, value: number, valueBytes: Uint8Array | undefined, int: number): void {
    this.ensure(32);
    const buf = this.buf;
    let pos = this.pos;
    const writeValue = valueBytes !== undefined || writesDouble(value);
    let size = writeValue ? 9 : 0;
    if (int !== 0) size += 1 + varintLength(int);
    buf[pos++] = field * 8 + WIRE_LEN; // fields < 16, size < 128: one byte each
    buf[pos++] = size;
    if (writeValue) {
      buf[pos++] = 0x09; // field 1, fixed64
      if (valueBytes !== undefined) buf.set(valueBytes, pos);
      else buf.writeDoubleLE(value, pos);
      pos += 8;
    }
    this.pos = pos;
    if (int !== 0) {
      buf[this.pos++] = 0x10; // field 2, varint
      this.varint(int);
    }
  }

  /**
   * A message holding bytes already encoded (a latin1 string) followed by a sub-message
   * (`inner`) of a double (field 1, left out at +0 as proto3 does; given by value or, for NaN
   * payloads, by its 8 bytes) and the encoded bytes `innerRest`, every field number below 16: the
   * remote-write `TimeSeries` with cached labels and one sample, whose timestamp field is the
   * same bytes for most series of a request. Written with one size computation and one check
   * for room.
   */
  bytesAndDoubleMessage(
    field: number,
    bytes: string,
    inner: number,
    value: number,
    valueBytes: Uint8Array | undefined,
    innerRest: Uint8Array,
  ): void {
    const writeValue = valueBytes !== undefined || writesDouble(value);
    const innerSize = (writeValue ? 9 : 0) + innerRest.length;
    const size = bytes.length + 2 + innerSize;
    this.ensure(size + 6);
    const buf = this.buf;
    let pos = writeVarint(buf, this.pos, field * 8 + WIRE_LEN);
    pos = writeVarint(buf, pos, size);
    // The length given: workerd's Buffer (Workers) takes the whole buffer's length by default.
    pos += buf.latin1Write(bytes, pos, bytes.length);
    buf[pos++] = inner * 8 + WIRE_LEN;
    buf[pos++] = innerSize; // a Sample is < 128 bytes
    if (writeValue) {
      buf[pos++] = 0x09; // field 1, fixed64
      if (valueBytes !== undefined) buf.set(valueBytes, pos);
      else buf.writeDoubleLE(value, pos);
      pos += 8;
    }
    for (let i = 0; i < innerRest.length; i++) buf[pos++] = innerRest[i] as number;
    this.pos = pos;
  }

  /**
   * A message (`field`) of: a packed field of 31-bit values (`values[from…to)`, whose
   * packedLength is `valuesLength`; left out when empty), a sub-message (`innerField`) of a double
   * (field 1, left out at +0 as proto3 does) followed by the encoded bytes `innerRest`, then the
   * encoded bytes `rest`. Every field number below 16. The RW 2.0 TimeSeries of one float sample:
   * its sample's timestamps and its metadata are the same bytes for most series of a request, so
   * they are encoded once and copied. Returns where the sub-message's content starts.
   */
  packedAndDoubleMessage(
    field: number,
    packedField: number,
    values: Int32Array,
    from: number,
    to: number,
    valuesLength: number,
    innerField: number,
    value: number,
    innerRest: Uint8Array,
    rest: Uint8Array,
  ): number {
    const writeValue = writesDouble(value);
    const innerSize = (writeValue ? 9 : 0) + innerRest.length;
    const packedSize = to > from ? 1 + varintLength(valuesLength) + valuesLength : 0;
    const size = packedSize + 1 + varintLength(innerSize) + innerSize + rest.length;
    this.ensure(1 + varintLength(size) + size);
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = field * 8 + WIRE_LEN;
    pos = writeVarint(buf, pos, size);
    if (to > from) {
      buf[pos++] = packedField * 8 + WIRE_LEN;
      pos = writeVarint(buf, pos, valuesLength);
      pos = writeInt32Varints(buf, pos, values, from, to);
    }
    buf[pos++] = innerField * 8 + WIRE_LEN;
    pos = writeVarint(buf, pos, innerSize);
    const innerAt = pos;
    if (writeValue) {
      buf[pos++] = 0x09; // field 1, fixed64
      buf.writeDoubleLE(value, pos);
      pos += 8;
    }
    for (let i = 0; i < innerRest.length; i++) buf[pos++] = innerRest[i] as number;
    for (let i = 0; i < rest.length; i++) buf[pos++] = rest[i] as number;
    this.pos = pos;
    return innerAt;
  }

  /** The key and length of a length-delimited field whose size is known; its content follows. */
  header(field: number, length: number): void {
    this.tag(field, WIRE_LEN);
    this.varint(length);
  }

  /** Bytes already encoded, given as a latin1 string (wire/label-fields.ts), copied as they are. */
  latin1(bytes: string): void {
    this.ensure(bytes.length);
    this.pos += this.buf.latin1Write(bytes, this.pos, bytes.length);
  }

  /** Bytes `start`…`end` of `source`, already encoded, copied as they are. */
  raw(source: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    if (n > 64) this.buf.set(source.subarray(start, end), this.pos);
    else {
      // A few bytes (RW 2.0 label refs): a loop costs less than the view `subarray` makes.
      const buf = this.buf;
      const pos = this.pos;
      for (let i = 0; i < n; i++) buf[pos + i] = source[start + i] as number;
    }
    this.pos += n;
  }

  /** Starts a length-delimited sub-message; pass the result to `end`. */
  begin(field: number): number {
    this.tag(field, WIRE_LEN);
    this.ensure(LENGTH_RESERVE);
    const start = this.pos;
    this.pos += LENGTH_RESERVE;
    return start;
  }

  end(start: number): void {
    const bodyStart = start + LENGTH_RESERVE;
    const length = this.pos - bodyStart;
    let lengthBytes = 1;
    for (let v = length; v > 0x7f; v = Math.floor(v / 0x80)) lengthBytes++;
    let p = start;
    let v = length;
    while (v > 0x7f) {
      this.buf[p++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[p] = v;
    if (lengthBytes < LENGTH_RESERVE) {
      this.buf.copyWithin(start + lengthBytes, bodyStart, this.pos);
      this.pos -= LENGTH_RESERVE - lengthBytes;
    }
  }

  /** The bytes written so far (a view, valid until the next write or reset). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Bytes written so far (`view().length`, without making a view). */
  get length(): number {
    return this.pos;
  }

  reset(): void {
    this.pos = 0;
  }
}
