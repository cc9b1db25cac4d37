/**
 * LabelStrings (wire/label-strings.ts): the label strings of an export's new series, for RW 2.0
 * symbol tables. A series is its plan's PlanSymbols and its values by slot; read back, it gives
 * its labels' names and values in order as UTF-8 bytes, with an empty varying value's label left
 * out, past the first chunk and for a series larger than a chunk.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PrometheusRemoteWriteExporter } from '../src/exporter.js';
import { CHUNK, LabelStrings, PlanSymbols, utf8Bytes } from '../src/wire/label-strings.js';
import { stringsAt } from './helpers/label-strings.js';
import { T0_MS, point, resourceMetrics, sum } from './helpers/otel.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const latin1 = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

describe('LabelStrings', () => {
  const plan = new PlanSymbols([
    { name: '__name__', value: 'jobs_total' },
    { name: 'pod', slot: 1 },
    { name: 'städte', value: 'zürich' },
    { name: 'zone', slot: 0 },
  ]);

  it('series back to back past the first chunk: fixed labels from the plan, varying ones by slot, in order', () => {
    const strings = new LabelStrings();
    const starts: number[] = [];
    const count = Math.ceil((2 * CHUNK) / (1 + plan.slotCount)) + 7;
    for (let s = 0; s < count; s++) {
      // An empty value is no label; a non-ASCII one is kept as its UTF-8 bytes.
      const values = [s % 3 === 0 ? '' : `z${s % 3}`, s % 5 === 1 ? `pöd-${s}` : `p${s}`];
      strings.add(
        plan,
        values,
        values.every((v) => Buffer.byteLength(v) === v.length),
      );
      starts.push(strings.lastAt);
    }
    assert.ok(strings.chunks.length >= 3, 'past the first chunks');
    starts.forEach((at, s) => {
      const pod = s % 5 === 1 ? latin1(`pöd-${s}`) : `p${s}`;
      const zone = s % 3 === 0 ? [] : ['zone', `z${s % 3}`];
      assert.deepEqual(
        stringsAt(strings, at),
        ['__name__', 'jobs_total', 'pod', pod, latin1('städte'), latin1('zürich'), ...zone],
        `series ${s}`,
      );
    });
  });

  it('a series of more values than a chunk holds has a chunk of its own, and the series after it start a new one', () => {
    const strings = new LabelStrings();
    const wide = new PlanSymbols(Array.from({ length: CHUNK + 10 }, (_, i) => ({ name: `n${i}`, slot: i })));
    const starts: number[] = [];
    for (const [p, values] of [
      [plan, ['a', 'b']],
      [wide, Array.from({ length: CHUNK + 10 }, (_, i) => `v${i}`)],
      [plan, ['c', 'd']],
    ] as const) {
      strings.add(p, values, true);
      starts.push(strings.lastAt);
    }
    assert.equal(strings.chunks.length, 3);
    assert.deepEqual(stringsAt(strings, starts[0] as number).slice(2, 4), ['pod', 'b']);
    const big = stringsAt(strings, starts[1] as number);
    assert.equal(big.length, 2 * (CHUNK + 10));
    assert.deepEqual(big.slice(-2), [`n${CHUNK + 9}`, `v${CHUNK + 9}`]);
    assert.deepEqual(stringsAt(strings, starts[2] as number).slice(2, 4), ['pod', 'd']);
  });

  it('a plan of fixed labels only: each series is its plan alone', () => {
    const fixed = new PlanSymbols([
      { name: '__name__', value: 'up' },
      { name: 'job', value: 'jobs' },
    ]);
    assert.equal(fixed.slotCount, 0);
    const strings = new LabelStrings();
    strings.add(fixed, [], true);
    const first = strings.lastAt;
    strings.add(plan, ['z', 'p'], true);
    strings.add(fixed, [], true);
    assert.equal(strings.lastAt - first, 1 + 1 + plan.slotCount);
    assert.deepEqual(stringsAt(strings, strings.lastAt), ['__name__', 'up', 'job', 'jobs']);
    assert.deepEqual(stringsAt(strings, first + 1).slice(0, 4), ['__name__', 'jobs_total', 'pod', 'p']);
  });

  it('utf8Bytes: a string as its UTF-8 bytes, itself when ASCII', () => {
    for (const text of ['', 'plain', 'zürich', '日本', '😀 ok'])
      assert.equal(utf8Bytes(text), latin1(text), text);
    const ascii = 'x'.repeat(50);
    assert.equal(utf8Bytes(ascii), ascii);
  });

  it("an export's strings are let go of once it is done", async (t) => {
    const made: Array<WeakRef<LabelStrings>> = [];
    // Not t.mock.method: it keeps each call's `this`.
    const add = LabelStrings.prototype.add;
    LabelStrings.prototype.add = function (
      this: LabelStrings,
      ...args: Parameters<LabelStrings['add']>
    ): void {
      if (!made.some((r) => r.deref() === this)) made.push(new WeakRef(this));
      add.apply(this, args);
    };
    t.after(() => {
      LabelStrings.prototype.add = add;
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
    assert.ok(made.length >= 1, 'the first export kept label strings');
    assert.equal(made.filter((r) => r.deref() !== undefined).length, 0, "no export's strings are still held");
    await exporter.shutdown();
  });
});
