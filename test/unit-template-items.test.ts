/**
 * TemplateItems (src/wire/template-items.ts): which series an RW 2.0 request template was made
 * for, kept as runs. Each case names the template's series, then asks whether a request fits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IDENTITY_SLOT_SHIFT, type EncodedRun, type SeriesIdentity, type TimeSeries } from '../src/model.js';
import { encodeLabelFields } from '../src/wire/label-fields.js';
import { SeriesFrame } from '../src/wire/series-frame.js';
import { TemplateItems } from '../src/wire/template-items.js';

const keysOf = (ids: readonly number[]): string[] =>
  ids.map((i) =>
    encodeLabelFields([
      { name: '__name__', value: 'jobs_total' },
      { name: 'id', value: `s${i}` },
    ]),
  );
const frameOf = (ids: readonly number[]): SeriesFrame =>
  SeriesFrame.build(
    'jobs',
    keysOf(ids),
    ids.map((i) => i + 1),
    1_000,
  );
const run = (block: SeriesFrame, from: number, to: number, at = 0): EncodedRun => ({ block, from, to, at });
const seriesOf = (key: string, identity?: SeriesIdentity): TimeSeries => ({
  key,
  labels: [],
  family: 'jobs',
  samples: [{ value: 1, timestampMs: 1_000 }],
  ...(identity ? { identity } : {}),
});

const A = frameOf([0, 1, 2, 3, 4, 5]);
const sameLabels = frameOf([0, 1, 2, 3, 4, 5]);
const other = frameOf([0, 1, 2, 9, 4, 5]);
const keys = keysOf([0, 1, 2, 3, 4, 5]);

describe('TemplateItems', () => {
  const cases: Array<{
    name: string;
    made: [TimeSeries[], EncodedRun[]];
    asked: [TimeSeries[], EncodedRun[]];
    fits: boolean;
    sameSlots?: boolean;
  }> = [
    {
      name: 'the very runs',
      made: [[], [run(A, 0, 3), run(A, 3, 6)]],
      asked: [[], [run(A, 0, 3), run(A, 3, 6)]],
      fits: true,
      sameSlots: true,
    },
    {
      name: 'the same slots cut otherwise',
      made: [[], [run(A, 0, 3), run(A, 3, 6)]],
      asked: [[], [run(A, 0, 6)]],
      fits: true,
      sameSlots: true,
    },
    {
      name: 'another frame, the same labels',
      made: [[], [run(A, 0, 6)]],
      asked: [[], [run(sameLabels, 0, 6)]],
      fits: true,
      sameSlots: false,
    },
    {
      name: 'another frame, one label differs',
      made: [[], [run(A, 0, 6)]],
      asked: [[], [run(other, 0, 6)]],
      fits: false,
    },
    {
      name: 'other slots of the frame',
      made: [[], [run(A, 0, 3)]],
      asked: [[], [run(A, 3, 6)]],
      fits: false,
    },
    { name: 'one series more', made: [[], [run(A, 0, 5)]], asked: [[], [run(A, 0, 6)]], fits: false },
    {
      name: 'series by key, then a frame of their labels',
      made: [keys.map((k) => seriesOf(k)), []],
      asked: [[], [run(A, 0, 6)]],
      fits: true,
      sameSlots: false,
    },
    {
      name: 'a frame, then series by key',
      made: [[], [run(A, 0, 6)]],
      asked: [keys.map((k) => seriesOf(k)), []],
      fits: true,
      sameSlots: false,
    },
    {
      name: 'series by identity placed in the frame, then the frame',
      // The series' own keys are wrong on purpose: only a comparison of place can make it fit.
      made: [keys.map((_, i) => seriesOf(`x${i}`, { where: A, slotFlags: i << IDENTITY_SLOT_SHIFT })), []],
      asked: [[], [run(A, 0, 6)]],
      fits: true,
      sameSlots: false,
    },
    {
      name: 'series by identity placed elsewhere, key differs',
      made: [
        keys.map((_, i) => seriesOf(`x${i}`, { where: A, slotFlags: (5 - i) << IDENTITY_SLOT_SHIFT })),
        [],
      ],
      asked: [[], [run(A, 0, 6)]],
      fits: false,
    },
    {
      name: 'series by an identity that holds its key as such, then a frame of those labels',
      made: [keys.map((k, i) => seriesOf(`x${i}`, { where: k, slotFlags: 0 })), []],
      asked: [[], [run(A, 0, 6)]],
      fits: true,
      sameSlots: false,
    },
    {
      name: 'series by an identity that holds another key, then the frame',
      made: [keys.map((_, i) => seriesOf(`x${i}`, { where: keys[5 - i]!, slotFlags: 0 })), []],
      asked: [[], [run(A, 0, 6)]],
      fits: false,
    },
    {
      name: 'series and runs mixed, in the same order',
      made: [
        [seriesOf(keys[0]!), seriesOf(keys[4]!)],
        [run(A, 1, 4, 1), run(A, 5, 6, 2)],
      ],
      asked: [
        [seriesOf(keys[0]!), seriesOf(keys[4]!)],
        [run(A, 1, 4, 1), run(A, 5, 6, 2)],
      ],
      fits: true,
      sameSlots: false,
    },
    {
      name: 'series and runs mixed, a run moved',
      made: [
        [seriesOf(keys[0]!), seriesOf(keys[4]!)],
        [run(A, 1, 4, 1), run(A, 5, 6, 2)],
      ],
      asked: [
        [seriesOf(keys[0]!), seriesOf(keys[4]!)],
        [run(A, 1, 4, 0), run(A, 5, 6, 2)],
      ],
      fits: false,
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const items = new TemplateItems(...c.made);
      assert.equal(items.fits(...c.asked), c.fits);
      if (c.sameSlots !== undefined) assert.equal(items.sameSlots, c.sameSlots, 'sameSlots');
    });

  it('named again, the new frame is the very one: the next request of it fits by its runs', () => {
    const items = new TemplateItems([], [run(A, 0, 6)]);
    assert.equal(items.fits([], [run(sameLabels, 0, 6)]), true);
    assert.equal(items.sameSlots, false);
    items.name([], [run(sameLabels, 0, 6)]);
    assert.equal(items.fits([], [run(sameLabels, 0, 6)]), true);
    assert.equal(items.sameSlots, true);
    assert.equal(items.fits([], [run(other, 0, 6)]), false);
  });
});
