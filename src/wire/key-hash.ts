/**
 * A 32-bit hash of a series' key (its encoded labels, one character a byte, wire/label-fields.ts),
 * for the index of the per-series state (steady-state/record-index.ts). It reads the key as
 * little-endian 32-bit words: the label plans (label-fields-plan.ts) hash a new series' key from
 * the buffer they wrote it into, four bytes a load, where reading the string a character at a time
 * was about a tenth of a first export's translation (a micro-benchmark of 100k keys of 129 bytes:
 * 21–85 ms reading the strings, 7–9 ms from the buffer). Both forms give the same hash for a key whose
 * characters are bytes; any other string still gets a hash (a poor one would cost time, never
 * correctness: the index compares keys).
 *
 * FNV-style steps in four independent lanes (every fourth word each), so that the multiplications
 * of one lane do not wait for the others', each lane folded and the four mixed at the end.
 */
export function keyHash(key: string): number {
  const n = key.length;
  let a = A0;
  let b = B0 ^ n;
  let c = C0;
  let d = D0;
  let i = 0;
  for (; i + 15 < n; i += 16) {
    a = Math.imul(a ^ wordAt(key, i), PRIME);
    b = Math.imul(b ^ wordAt(key, i + 4), PRIME);
    c = Math.imul(c ^ wordAt(key, i + 8), PRIME);
    d = Math.imul(d ^ wordAt(key, i + 12), PRIME);
  }
  for (; i + 3 < n; i += 4) a = Math.imul(a ^ wordAt(key, i), PRIME);
  let tail = 0;
  for (let shift = 0; i < n; i++, shift += 8) tail |= key.charCodeAt(i) << shift;
  return finish(a, Math.imul(b ^ tail, PRIME), c, d);
}

/**
 * `keyHash` of the key held in bytes `from`…`from + length` of `view`'s memory, read as
 * little-endian words (four bytes a load, at any offset).
 */
export function keyHashOfView(view: DataView, from: number, length: number): number {
  let a = A0;
  let b = B0 ^ length;
  let c = C0;
  let d = D0;
  const full = length >>> 2;
  let w = 0;
  for (; w + 3 < full; w += 4) {
    const at = from + 4 * w;
    a = Math.imul(a ^ view.getInt32(at, true), PRIME);
    b = Math.imul(b ^ view.getInt32(at + 4, true), PRIME);
    c = Math.imul(c ^ view.getInt32(at + 8, true), PRIME);
    d = Math.imul(d ^ view.getInt32(at + 12, true), PRIME);
  }
  for (; w < full; w++) a = Math.imul(a ^ view.getInt32(from + 4 * w, true), PRIME);
  let tail = 0;
  for (let i = from + (full << 2), shift = 0; i < from + length; i++, shift += 8)
    tail |= view.getUint8(i) << shift;
  return finish(a, Math.imul(b ^ tail, PRIME), c, d);
}

function wordAt(key: string, i: number): number {
  return (
    key.charCodeAt(i) |
    (key.charCodeAt(i + 1) << 8) |
    (key.charCodeAt(i + 2) << 16) |
    (key.charCodeAt(i + 3) << 24)
  );
}

/** The lanes folded (a word's high bytes reach the low bits) and mixed into one hash. */
function finish(a: number, b: number, c: number, d: number): number {
  a ^= a >>> 16;
  b ^= b >>> 16;
  c ^= c >>> 16;
  d ^= d >>> 16;
  let h = a ^ Math.imul(b, 0x85ebca6b) ^ Math.imul(c, 0xc2b2ae35) ^ Math.imul(d, 0x27d4eb2f);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h | 0;
}

const PRIME = 0x01000193;
const A0 = 0x811c9dc5;
const B0 = 0x6c62272e;
const C0 = 0x9e3779b9;
const D0 = 0x85ebca6b;
