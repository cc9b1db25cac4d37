/**
 * SymbolIds (wire/symbol-ids.ts): ids of label strings for RW 2.0 symbol tables. An id always
 * gives back its string's UTF-8 bytes; a string keeps its id while the index holds it, and gets
 * another once the index has been emptied (ids need not be unique: a request's symbols are).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SymbolIds } from '../src/wire/symbol-ids.js';

describe('SymbolIds', () => {
  it('every id gives back its string as UTF-8 bytes, across the index being emptied', () => {
    const ids = new SymbolIds();
    const texts = Array.from({ length: 5_000 }, (_, i) => (i % 3 === 0 ? `zürich-${i}` : `v${i % 50}`));
    for (const text of texts) {
      const id = ids.idOf(text);
      assert.equal(ids.bytes[id], Buffer.from(text, 'utf8').toString('latin1'), text);
    }
    // Asked again right away, a string has the same id.
    assert.equal(ids.idOf('again'), ids.idOf('again'));
    assert.ok(ids.size < texts.length + 1, 'repeated strings share ids while indexed');
  });

  it('series of ids back to back: a count, then a name and a value id per label, past the first buffer', () => {
    const ids = new SymbolIds();
    const starts: number[] = [];
    for (let s = 0; s < 400; s++) {
      ids.begin(3);
      ids.push(ids.idOf('__name__'), ids.idOf('m'));
      ids.push(ids.idOf('pod'), ids.idOf(`p${s}`));
      // At most three: a label may be left out (an empty value).
      if (s % 2 === 0) ids.push(ids.idOf('zone'), ids.idOf('z'));
      ids.end();
      starts.push(ids.lastAt);
    }
    assert.ok(ids.stream.length > 1024);
    starts.forEach((at, s) => {
      const count = ids.stream[at] as number;
      assert.equal(count, s % 2 === 0 ? 3 : 2);
      const strings = Array.from(ids.stream.subarray(at + 1, at + 1 + 2 * count), (id) => ids.bytes[id]);
      assert.deepEqual(strings.slice(0, 4), ['__name__', 'm', 'pod', `p${s}`]);
    });
  });
});
