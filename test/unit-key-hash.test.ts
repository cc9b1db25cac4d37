/**
 * keyHash (wire/key-hash.ts): the hash of a series' key, read from the string or, for a key the
 * label plans have just written, from its bytes four at a time. Both must agree for every key
 * whose characters are bytes, at every length (whole words, and 1–3 bytes left over), wherever
 * the bytes start (a new series' labels are written into its frame at any offset).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { keyHash, keyHashOfView } from '../src/wire/key-hash.js';
import { encodeLabelFields } from '../src/wire/label-fields.js';

/** The hash read from the key's bytes placed at each offset 0–4: one hash, or a failure. */
function fromBytes(key: string): number {
  const hashes = new Set<number>();
  for (let offset = 0; offset <= 4; offset++) {
    const memory = new ArrayBuffer(offset + key.length + 3);
    new Uint8Array(memory).fill(0xee).set(Buffer.from(key, 'latin1'), offset);
    hashes.add(keyHashOfView(new DataView(memory), offset, key.length));
  }
  assert.equal(hashes.size, 1, `one hash at every offset for ${JSON.stringify(key)}`);
  return [...hashes][0] as number;
}

describe('keyHash', () => {
  it('from the bytes as from the string, at every length from 0 to 40 and for encoded labels', () => {
    const keys = Array.from({ length: 41 }, (_, n) =>
      Array.from({ length: n }, (_, i) => String.fromCharCode((i * 37 + n * 11) & 0xff)).join(''),
    );
    keys.push(
      encodeLabelFields([
        { name: '__name__', value: 'http_server_requests_total' },
        { name: 'city', value: 'zürich' },
        { name: 'pod', value: 'checkout-7f9c6d5b8-x2k4p' },
      ]),
    );
    for (const key of keys) assert.equal(fromBytes(key), keyHash(key), JSON.stringify(key));
  });

  it('from the bytes as from the string, for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (raw) => {
        const key = Buffer.from(raw).toString('latin1');
        assert.equal(fromBytes(key), keyHash(key));
      }),
    );
  });

  it('the bytes before and past the key do not count', () => {
    const key = 'abcdefg';
    const memory = new ArrayBuffer(16);
    const bytes = new Uint8Array(memory);
    bytes.fill(0xee);
    bytes.set(Buffer.from(key, 'latin1'), 3);
    assert.equal(keyHashOfView(new DataView(memory), 3, key.length), keyHash(key));
  });
});
