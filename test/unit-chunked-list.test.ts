/**
 * ChunkedList (src/chunked-list.ts): the append-only list that frames and symbol ids keep their
 * million-entry lists in, in chunks of 8,192, so that no array is grown by copying.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChunkedList } from '../src/chunked-list.js';

describe('ChunkedList', () => {
  it('gives back every entry by position, across chunk ends', () => {
    const list = new ChunkedList<string>();
    const n = 3 * 8_192 + 5;
    for (let i = 0; i < n; i++) list.push(`v${i}`);
    assert.equal(list.length, n);
    for (const i of [0, 1, 8_191, 8_192, 8_193, 16_383, 16_384, 24_575, 24_576, n - 1])
      assert.equal(list.at(i), `v${i}`, `entry ${i}`);
    for (let i = 0; i < n; i++) if (list.at(i) !== `v${i}`) assert.fail(`entry ${i}: ${list.at(i)}`);
  });

  it('keeps its entries when trimmed, and a full last chunk whole', () => {
    for (const n of [1, 100, 8_192, 8_193, 16_384]) {
      const list = new ChunkedList<number>();
      for (let i = 0; i < n; i++) list.push(i * 2);
      list.trim();
      assert.equal(list.length, n);
      assert.equal(list.at(0), 0, `first of ${n}`);
      assert.equal(list.at(n - 1), (n - 1) * 2, `last of ${n}`);
      assert.equal(list.at(Math.floor(n / 2)), Math.floor(n / 2) * 2, `middle of ${n}`);
    }
    const empty = new ChunkedList<number>();
    empty.trim();
    assert.equal(empty.length, 0);
  });
});
