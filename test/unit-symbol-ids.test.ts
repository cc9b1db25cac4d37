/**
 * SymbolIds (wire/symbol-ids.ts): ids of label strings for RW 2.0 symbol tables. An id always
 * gives back its string's UTF-8 bytes; a string keeps its id while the index holds it, and gets
 * another once the index has been emptied (ids need not be unique: a request's symbols are).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PrometheusRemoteWriteExporter } from '../src/exporter.js';
import { SymbolIds } from '../src/wire/symbol-ids.js';
import { T0_MS, point, resourceMetrics, sum } from './helpers/otel.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('SymbolIds', () => {
  it('every id gives back its string as UTF-8 bytes, across the index being emptied', () => {
    const ids = new SymbolIds();
    const texts = Array.from({ length: 5_000 }, (_, i) => (i % 3 === 0 ? `zürich-${i}` : `v${i % 50}`));
    for (const text of texts) {
      const id = ids.idOf(text);
      assert.equal(ids.bytesOf(id), Buffer.from(text, 'utf8').toString('latin1'), text);
    }
    // Asked again right away, a string has the same id.
    assert.equal(ids.idOf('again'), ids.idOf('again'));
    assert.ok(ids.size < texts.length + 1, 'repeated strings share ids while indexed');
  });

  it('series of ids back to back: a count, then a name and a value id per label, past the first chunk', () => {
    const ids = new SymbolIds();
    const starts: number[] = [];
    for (let s = 0; s < 30_000; s++) {
      ids.begin(3);
      ids.push(ids.idOf('__name__'), ids.idOf('m'));
      ids.push(ids.idOf('pod'), ids.idOf(`p${s}`));
      // At most three: a label may be left out (an empty value).
      if (s % 2 === 0) ids.push(ids.idOf('zone'), ids.idOf('z'));
      ids.end();
      starts.push(ids.lastAt);
    }
    assert.ok(ids.chunks.length > 1);
    starts.forEach((at, s) => {
      const series = ids.idsAt(at);
      assert.equal(series.length, s % 2 === 0 ? 6 : 4);
      const strings = Array.from(series, (id) => ids.bytesOf(id));
      assert.deepEqual(strings.slice(0, 4), ['__name__', 'm', 'pod', `p${s}`]);
    });
  });

  it('a series of more labels than a chunk holds has a chunk of its own, and the series after it start a new one', () => {
    const ids = new SymbolIds();
    const starts: number[] = [];
    // The big one writes fewer labels than it said (some empty): its chunk has room left.
    for (const [most, labels] of [
      [2, 2],
      [40_000, 39_000],
      [3, 3],
      [2, 2],
    ] as const) {
      ids.begin(most);
      for (let l = 0; l < labels; l++) ids.push(ids.idOf(`n${l}`), ids.idOf(`v${labels}`));
      ids.end();
      starts.push(ids.lastAt);
    }
    assert.deepEqual(
      starts.map((at) => ids.idsAt(at).length / 2),
      [2, 39_000, 3, 2],
    );
    starts.forEach((at) => {
      const series = ids.idsAt(at);
      const labels = series.length / 2;
      assert.equal(ids.bytesOf(series[2 * labels - 1] as number), `v${labels}`);
      assert.equal(ids.bytesOf(series[2 * labels - 2] as number), `n${labels - 1}`);
    });
    assert.equal(ids.chunks.length, 3);
  });

  it("an export's ids are let go of once it is done (they are about 70 bytes a new series)", async (t) => {
    const made: Array<WeakRef<SymbolIds>> = [];
    // Not t.mock.method: it keeps each call's `this`.
    const begin = SymbolIds.prototype.begin;
    SymbolIds.prototype.begin = function (this: SymbolIds, labels: number): void {
      if (!made.some((r) => r.deref() === this)) made.push(new WeakRef(this));
      begin.call(this, labels);
    };
    t.after(() => {
      SymbolIds.prototype.begin = begin;
    });
    const exporter = new PrometheusRemoteWriteExporter(
      { url: 'http://127.0.0.1:9/api/v1/write', protocol: 'v2' },
      { post: async () => ({ status: 204, statusText: 'No Content', headers: {}, bodyPrefix: '' }) },
    );
    const attributes = Array.from({ length: 500 }, (_, i) => ({ pod: `p${i}` }));
    for (let k = 0; k < 2; k++) {
      const points = attributes.map((a, i) => point(i + k + 1, a, T0_MS + k * 1000));
      await exporter.exportAndWait(resourceMetrics([sum({ name: 'jobs' }, points)]));
    }
    await exporter.forceFlush();
    // The finalization of WeakRefs waits for a turn of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
    assert.ok(made.length >= 1, 'the first export wrote ids');
    assert.equal(made.filter((r) => r.deref() !== undefined).length, 0, "no export's ids are still held");
    await exporter.shutdown();
  });
});
