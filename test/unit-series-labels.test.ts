/**
 * LabelPlans (translate/series-labels.ts): a metric's new series labelled from a plan made once
 * for its attribute keys. Whenever a plan answers, its bytes are exactly those of the full way
 * (attributesToLabels, buildLabels, encodeLabelFields), and the full way had nothing to repair or
 * drop; whenever it does not, the point goes the full way. The label strings a plan keeps for
 * RW 2.0 (wire/label-strings.ts) are those labels' names and values.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Attributes } from '@opentelemetry/api';
import fc from 'fast-check';
import {
  attributesToLabels,
  labelNamer,
  newLabelIssues,
  type LabelMap,
} from '../src/translate/attributes.js';
import type { TranslationStrategy } from '../src/translate/names.js';
import { buildLabels, labelOrder, LabelPlans } from '../src/translate/series-labels.js';
import { decodeLabelFields, encodeLabelFields } from '../src/wire/label-fields.js';
import { LabelFieldsPlan } from '../src/wire/label-fields-plan.js';
import { LabelStrings } from '../src/wire/label-strings.js';
import { keyHash } from '../src/wire/key-hash.js';
import { stringsAt } from './helpers/label-strings.js';

interface Case {
  name: string;
  attributes: Attributes;
  low?: Record<string, string>;
  high?: Record<string, string>;
  le?: string;
  strategy?: TranslationStrategy;
  /** Whether the plan answers (else the point goes the full way). */
  planned: boolean;
}

/** The full way's encoded labels, and whether it had anything to repair or drop. */
function fullWay(c: Case, family: string): { encoded: string; issues: number } {
  const strategy = c.strategy ?? 'UnderscoreEscapingWithSuffixes';
  const issues = newLabelIssues();
  const labels = attributesToLabels(c.attributes, labelNamer(strategy), undefined, issues);
  const le = c.le === undefined ? undefined : { name: 'le', value: c.le };
  const built = buildLabels(
    family,
    labels,
    new Map(Object.entries(c.low ?? {})),
    new Map(Object.entries(c.high ?? {})),
    labelOrder(strategy),
    le,
  );
  return { encoded: encodeLabelFields(built), issues: issues.dropped + issues.replaced };
}

function planned(c: Case, family: string): string | undefined {
  const strategy = c.strategy ?? 'UnderscoreEscapingWithSuffixes';
  const strings = new LabelStrings();
  const plans = new LabelPlans(
    labelNamer(strategy),
    new Map(Object.entries(c.low ?? {})) as LabelMap,
    new Map(Object.entries(c.high ?? {})) as LabelMap,
    labelOrder(strategy),
    strings,
  );
  const encoded = plans.encode(family, c.attributes, Object.keys(c.attributes), c.le);
  if (encoded !== undefined) {
    // The label strings kept beside (RW 2.0's symbols): the names and values of the encoded
    // labels, in their order, as UTF-8 bytes.
    const want = decodeLabelFields(encoded).flatMap((l) => [utf8(l.name), utf8(l.value)]);
    assert.deepEqual(stringsAt(strings, strings.lastAt), want, 'label strings');
    // The hash read from the bytes as they were written is the key's own (the state's index).
    assert.equal(plans.lastHash, keyHash(encoded), 'hash of the encoded labels');
  }
  return encoded;
}

const utf8 = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

const cases: Case[] = [
  { name: 'plain strings', attributes: { method: 'GET', code: '200' }, planned: true },
  { name: 'no attributes', attributes: {}, low: { job: 'shop' }, planned: true },
  {
    name: 'numbers, booleans and arrays as their label text',
    attributes: { ratio: 0.25, big: 1e21, ok: true, tags: ['a', 'b'] },
    planned: true,
  },
  {
    name: 'a key sanitized (dots, leading digit)',
    attributes: { 'http.route': '/a', '1st': 'x' },
    planned: true,
  },
  {
    name: 'non-ASCII values, two-byte and four-byte',
    attributes: { city: 'Zürich', emoji: '🚀' },
    planned: true,
  },
  { name: 'a value of 200 bytes (a two-byte length)', attributes: { long: 'v'.repeat(200) }, planned: true },
  {
    name: 'an empty value: no label, and a lower layer of that name stays out too',
    attributes: { env: '', pod: 'p1' },
    low: { env: 'prod', zone: 'z1' },
    planned: true,
  },
  {
    name: 'an attribute overrides a lower layer',
    attributes: { job: 'mine' },
    low: { job: 'shop' },
    planned: true,
  },
  {
    name: 'a higher layer overrides an attribute',
    attributes: { job: 'mine' },
    high: { job: 'shop' },
    planned: true,
  },
  { name: '`__name__` never from an attribute', attributes: { __name__: 'evil', a: '1' }, planned: true },
  {
    // attributesToLabels skips such a key before reading its value: nothing to repair or count.
    name: "a `__name__` attribute's value is not even read, a lone surrogate included",
    attributes: { __name__: 'x\ud800', a: '1' },
    planned: true,
  },
  {
    name: 'a bucket: `le` from the series, not the attribute',
    attributes: { le: '7', a: '1' },
    le: '0.5',
    planned: true,
  },
  {
    name: 'a bucket with +Inf',
    attributes: { a: '1' },
    le: '+Inf',
    high: { otel_scope_name: 's' },
    planned: true,
  },
  {
    name: 'UTF-8 names kept as they are, sorted by code point',
    attributes: { 'ä.b': '1', 'z\u{10000}': '2', 'z\uffff': '3' },
    strategy: 'NoTranslation',
    planned: true,
  },
  {
    name: 'two keys naming one label: joined the full way',
    attributes: { 'a.b': '1', a_b: '2' },
    planned: false,
  },
  {
    name: 'an absent value lets a lower layer through: the full way',
    attributes: { env: undefined, a: '1' },
    low: { env: 'prod' },
    planned: false,
  },
  { name: 'a null value: the full way', attributes: { env: null as unknown as string }, planned: false },
  {
    name: 'a lone surrogate in a value: repaired and counted the full way',
    attributes: { a: 'x\ud800' },
    planned: false,
  },
  {
    name: 'a lone surrogate in a name (UTF-8 names): the full way',
    attributes: { 'k\udc00': 'v' },
    strategy: 'NoTranslation',
    planned: false,
  },
  { name: 'a key that leaves no valid name: the full way', attributes: { '': 'v', a: '1' }, planned: false },
];

describe('LabelPlans: the labels of a new series from a plan', () => {
  for (const c of cases)
    it(c.name, () => {
      const family = c.le === undefined ? 'shop_requests_total' : 'shop_latency_seconds_bucket';
      const got = planned(c, family);
      const want = fullWay(c, family);
      if (!c.planned) {
        assert.equal(got, undefined);
        return;
      }
      assert.equal(want.issues, 0, 'nothing for the full way to repair or drop');
      assert.notEqual(got, undefined, 'the plan answers');
      assert.deepEqual(decodeLabelFields(got as string), decodeLabelFields(want.encoded));
      assert.equal(got, want.encoded, 'byte for byte');
    });

  it('one set of plans for a metric: keys in another order or another set get plans of their own', () => {
    const plans = new LabelPlans(
      labelNamer('UnderscoreEscapingWithSuffixes'),
      new Map(),
      new Map(),
      labelOrder('UnderscoreEscapingWithSuffixes'),
    );
    const points: Attributes[] = [{ a: '1', b: '2' }, { b: '3', a: '4' }, { a: '5' }, { a: '6', b: '7' }];
    for (const attributes of points) {
      const want = fullWay({ name: '', attributes, planned: true }, 'm').encoded;
      assert.equal(plans.encode('m', attributes, Object.keys(attributes)), want, JSON.stringify(attributes));
    }
  });

  it('the series of one point read its attributes once a plan; each new point reads them again', () => {
    const strategy = 'UnderscoreEscapingWithSuffixes';
    const strings = new LabelStrings();
    const plans = new LabelPlans(labelNamer(strategy), new Map(), new Map(), labelOrder(strategy), strings);
    // Each series' label strings (RW 2.0's symbols) are those of its own labels: a point's
    // series keep the values read from its attributes, each with its own `le`.
    const checked = (encoded: string | undefined) => {
      const labels = decodeLabelFields(encoded as string);
      assert.deepEqual(
        stringsAt(strings, strings.lastAt),
        labels.flatMap((l) => [utf8(l.name), utf8(l.value)]),
        'label strings',
      );
      return labels;
    };
    const attributes: Record<string, string> = { path: '/a', code: '200' };
    const keys = Object.keys(attributes);
    const bucket = (le: string, samePoint: boolean) =>
      checked(plans.encode('h_bucket', attributes, keys, le, samePoint));
    const path = (labels: ReturnType<typeof bucket>) => labels.find((l) => l.name === 'path')?.value;
    assert.equal(path(bucket('1', false)), '/a');
    // Changed between two series of one point (no SDK does): the point's first reading stands,
    // with the `le` of the series.
    attributes.path = '/b';
    const second = bucket('+Inf', true);
    assert.equal(path(second), '/a');
    assert.equal(second.find((l) => l.name === 'le')?.value, '+Inf');
    // Another plan (another series name) has not read this point yet.
    const sum = checked(plans.encode('h_sum', attributes, keys, undefined, true));
    assert.equal(path(sum), '/b');
    // The next point, even with the same object, is read again.
    assert.equal(path(bucket('1', false)), '/b');
    // So is a point with another object, though its series say samePoint.
    const other = { path: '/c', code: '200' };
    const labels = checked(plans.encode('h_bucket', other, keys, '1', true));
    assert.equal(path(labels), '/c');
  });

  it('any attributes and layers: the plan answers with the full way’s bytes, or not at all', () => {
    const key = fc.constantFrom(
      'a',
      'b',
      'a.b',
      'a_b',
      'le',
      '__name__',
      'job',
      '',
      'ü',
      'k\udc00',
      '1x',
      'z\u{10000}',
    );
    const value = fc.oneof(
      fc.constantFrom('', 'v', 'Zürich', '🚀', 'x\ud800', 'v'.repeat(130)),
      fc.string({ unit: 'binary', maxLength: 8 }),
      fc.double(),
      fc.boolean(),
      fc.constantFrom(undefined, null),
      fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }),
    );
    const layer = fc.dictionary(
      fc.constantFrom('job', 'a', 'instance', 'le', 'env'),
      fc.constantFrom('', 'x', 'ÿ'),
    );
    fc.assert(
      fc.property(
        fc.dictionary(key, value, { maxKeys: 6 }),
        layer,
        layer,
        fc.option(fc.constantFrom('0.5', '+Inf'), { nil: undefined }),
        fc.constantFrom<TranslationStrategy>('UnderscoreEscapingWithSuffixes', 'NoTranslation'),
        (attributes, low, high, le, strategy) => {
          const c: Case = {
            name: '',
            attributes: attributes as Attributes,
            low,
            high,
            le,
            strategy,
            planned: true,
          };
          const got = planned(c, 'm_bucket');
          const want = fullWay(c, 'm_bucket');
          if (got === undefined) return;
          assert.equal(want.issues, 0);
          assert.equal(got, want.encoded);
        },
      ),
      { numRuns: 3_000 },
    );
  });
});

describe('LabelFieldsPlan.addStrings', () => {
  const plan = new LabelFieldsPlan([
    { name: '__name__', value: 'h_bucket' },
    { name: 'path', slot: 0 },
    { name: 'le', slot: 1 },
  ]);

  it('keeps the strings of what it wrote last: the plan fixed labels, the values by slot, as UTF-8 bytes', () => {
    const strings = new LabelStrings();
    for (const values of [
      ['/a', '1'],
      ['/a', '+Inf'],
      ['/zürich', '2'],
      ['', '3'],
    ]) {
      const labels = decodeLabelFields(plan.encode(values));
      plan.addStrings(values, strings);
      assert.equal(labels.length, values[0] === '' ? 2 : 3);
      assert.deepEqual(
        stringsAt(strings, strings.lastAt),
        labels.flatMap((l) => [utf8(l.name), utf8(l.value)]),
        values.join(','),
      );
    }
  });

  it('a non-ASCII value between ASCII ones is kept as its UTF-8 bytes', () => {
    const strings = new LabelStrings();
    const at: number[] = [];
    for (const values of [
      ['/a', '1'],
      ['/é', '1'],
      ['/b', '1'],
    ]) {
      plan.write(values);
      plan.addStrings(values, strings);
      at.push(strings.lastAt);
    }
    assert.deepEqual(
      at.map((a) => stringsAt(strings, a)[3]),
      ['/a', Buffer.from('/é', 'utf8').toString('latin1'), '/b'],
    );
  });
});
