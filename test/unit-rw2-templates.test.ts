/**
 * RW 2.0 request templates (wire/rw2.ts RequestV2Encoder): a request of the same series as an
 * earlier one reuses its symbols and per-series label and metadata fields. Whatever the history
 * of requests (same series, new values, stale markers, native histograms, other series, another
 * order, metadata that changed, templates forgotten), every body is byte for byte the one
 * `encodeRequestV2` makes from scratch.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MetricType,
  seriesKey,
  type Label,
  type MetricFamilyMetadata,
  type NativeHistogram,
  type Sample,
  type TimeSeries,
} from '../src/model.js';
import { encodeLabelFields } from '../src/wire/label-fields.js';
import { ProtobufWriter } from '../src/wire/protobuf-writer.js';
import { encodeRequestV2, RequestV2Encoder } from '../src/wire/rw2.js';
import { SeriesFrame } from '../src/wire/series-frame.js';
import { LabelStrings, PlanSymbols } from '../src/wire/label-strings.js';
import { seeded as random } from './helpers/random.js';

const T0 = 1_700_000_000_000;

function labelsOf(i: number): Label[] {
  const family = i % 3 === 0 ? 'latency_seconds' : i % 3 === 1 ? 'jobs_total' : 'queue_depth';
  return [
    { name: '__name__', value: family },
    { name: 'host', value: `h${i % 5}` },
    { name: 'id', value: `s${i}` },
    ...(i % 4 === 0 ? [{ name: 'zone', value: 'ü-north' }] : []),
    ...(i % 6 === 0 ? [{ name: 'zz_note', value: `${'é'.repeat(90)}${i}` }] : []),
  ];
}

const FAMILY = (i: number) => (i % 3 === 0 ? 'latency_seconds' : i % 3 === 1 ? 'jobs' : 'queue_depth');

function histogramAt(ms: number, k: number): NativeHistogram {
  return {
    count: k + 2,
    sum: k * 0.5,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 1,
    positiveSpans: [{ offset: 0, length: 2 }],
    positiveDeltas: [1, k],
    negativeSpans: [],
    negativeDeltas: [],
    resetHint: 0,
    timestampMs: ms,
    startTimestampMs: T0 - 60_000,
  } as unknown as NativeHistogram;
}

/**
 * `n` series of one counter family (two of their values not ASCII, start times on three in
 * four), a new encoder and a reference writer, and the encoder's templates to look into.
 */
function jobsOf(n: number) {
  const encoder = new RequestV2Encoder(new ProtobufWriter(1024));
  const metadata = new Map<string, MetricFamilyMetadata>([
    ['jobs', { type: MetricType.COUNTER, familyName: 'jobs', help: 'Jobs', unit: '1' }],
  ]);
  const labels = Array.from({ length: n }, (_, i) => [
    { name: '__name__', value: 'jobs_total' },
    { name: 'id', value: `s${i}` },
    { name: 'zone', value: i % 2 === 0 ? 'é' : 'b' },
  ]);
  const keys = labels.map(encodeLabelFields);
  const starts = keys.map((_, i) => (i % 4 === 0 ? 0 : 500));
  const seriesAt = (ts: number, values: number[]): TimeSeries[] =>
    keys.map((key, i) => ({
      key,
      labels: labels[i]!,
      family: 'jobs',
      encodedLabels: key,
      samples: [
        { value: values[i]!, timestampMs: ts, ...(starts[i] ? { startTimestampMs: starts[i] } : {}) },
      ],
    }));
  const templates = (encoder as unknown as { templates: Map<string, { body?: unknown; fields?: unknown }> })
    .templates;
  return { encoder, reference: new ProtobufWriter(1024), metadata, n, keys, starts, seriesAt, templates };
}

describe('RW 2.0 request templates', () => {
  it('300 requests of a random life: every body is the one encodeRequestV2 makes', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const r = random(seed);
      const encoder = new RequestV2Encoder(new ProtobufWriter(1024));
      const reference = new ProtobufWriter(1024);
      let ids = Array.from({ length: 40 }, (_, i) => i);
      let next = 40;
      let help = 'Jobs done';
      let hits = 0;
      for (let k = 0; k < 30; k++) {
        // Series come and go, now and then the order changes, or a description.
        if (r() < 0.2) ids.splice(Math.floor(r() * ids.length), 1);
        if (r() < 0.2) ids.push(next++);
        if (r() < 0.05) ids = [...ids].reverse();
        if (r() < 0.1) help = `Jobs done (${k})`;
        const metadata = new Map<string, MetricFamilyMetadata>([
          ['jobs', { type: MetricType.COUNTER, familyName: 'jobs', help, unit: '' }],
          [
            'latency_seconds',
            { type: MetricType.HISTOGRAM, familyName: 'latency_seconds', help: '', unit: 'seconds' },
          ],
          // queue_depth has none: UNSPECIFIED.
        ]);
        const ms = T0 + k * 1000;
        const all: TimeSeries[] = ids.map((i) => {
          const labels = labelsOf(i);
          const stale = r() < 0.05;
          const histograms = i % 3 === 0 && !stale ? [histogramAt(ms, k)] : undefined;
          const value = r() < 0.1 ? 0 : r() < 0.05 ? -0 : i * 10 + k + 0.25;
          const samples: Sample[] = histograms
            ? []
            : [
                {
                  value: stale ? NaN : value,
                  timestampMs: ms,
                  ...(stale ? { stale: true } : {}),
                  ...(i % 3 === 1 ? { startTimestampMs: T0 - 60_000 } : {}),
                },
              ];
          // Half of them as translate makes them: keyed by their encoded labels, which the
          // symbols are then read from (non-ASCII values and a length varint of two bytes among them).
          const encoded = i % 2 === 0 ? encodeLabelFields(labels) : undefined;
          return {
            key: encoded ?? seriesKey(labels),
            labels,
            family: FAMILY(i),
            samples,
            ...(encoded !== undefined ? { encodedLabels: encoded } : {}),
            ...(histograms ? { histograms } : {}),
          };
        });
        // Requests of 7 series (the last one shorter), as batching cuts them.
        for (let from = 0; from < all.length; from += 7) {
          const request = all.slice(from, from + 7);
          const want = Buffer.from(encodeRequestV2(request, metadata, reference));
          const got = Buffer.from(encoder.encode(request, metadata));
          assert.equal(Buffer.compare(got, want), 0, `seed ${seed}, export ${k}, request from ${from}`);
          hits++;
        }
        encoder.endExport();
      }
      assert.ok(hits > 100);
    }
  });

  it('labels read from encoded series: same names with new values, new names with same values, more and fewer labels', () => {
    // Each series against the one before it, at each place: the whole label the same (at another
    // offset, after a value of another length), the name alone, the value alone, nothing, or no
    // label there before.
    const sets: Label[][] = [
      [
        { name: '__name__', value: 'm' },
        { name: 'b', value: '1' },
        { name: 'host', value: 'h1' },
      ],
      [
        { name: '__name__', value: 'm' },
        { name: 'b', value: '22' },
        { name: 'host', value: 'h1' },
      ],
      [
        { name: '__name__', value: 'm' },
        { name: 'b', value: '22' },
        { name: 'host', value: 'h2' },
      ],
      [
        { name: '__name__', value: 'm' },
        { name: 'c', value: '22' },
        { name: 'hosu', value: 'h2' },
      ],
      [
        { name: '__name__', value: 'm' },
        { name: 'c', value: '22' },
      ],
      [
        { name: '__name__', value: 'm' },
        { name: 'c', value: 'é' },
        { name: 'host', value: 'h1' },
        { name: 'z', value: 'h1' },
      ],
      [
        { name: '__name__', value: 'n' },
        { name: 'c', value: 'é' },
        { name: 'host', value: 'b' },
        { name: 'z', value: 'host' },
      ],
    ];
    const metadata = new Map<string, MetricFamilyMetadata>();
    const series: TimeSeries[] = sets.map((labels, i) => ({
      key: encodeLabelFields(labels),
      encodedLabels: encodeLabelFields(labels),
      labels,
      family: labels[0]!.value,
      samples: [{ value: i + 1, timestampMs: T0 }],
    }));
    const want = Buffer.from(encodeRequestV2(series, metadata, new ProtobufWriter(1024)));
    const got = Buffer.from(new RequestV2Encoder(new ProtobufWriter(1024)).encode(series, metadata));
    assert.equal(Buffer.compare(got, want), 0);
  });

  it('labels given as strings (LabelStrings), of one export or two, mixed with encoded ones: the bytes of encodeRequestV2', () => {
    // A plan per family: `__name__` fixed, the others varying, `zone` and `zz_note` empty
    // (no label) on most series, `region` the same for runs of series (its ref kept).
    const plans = new Map<string, PlanSymbols>();
    const planOf = (family: string) => {
      let plan = plans.get(family);
      if (plan === undefined) {
        plan = new PlanSymbols([
          { name: '__name__', value: family },
          { name: 'host', slot: 0 },
          { name: 'id', slot: 1 },
          { name: 'region', slot: 4 },
          { name: 'zone', slot: 2 },
          { name: 'zz_note', slot: 3 },
        ]);
        plans.set(family, plan);
      }
      return plan;
    };
    const labelsAt = (i: number): Label[] =>
      [...labelsOf(i), { name: 'region', value: `r${Math.floor(i / 9)}` }].sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
      );
    const first = new LabelStrings();
    const second = new LabelStrings();
    const withStrings = (i: number, strings: LabelStrings | undefined, value: number): TimeSeries => {
      const labels = labelsAt(i);
      const encoded = encodeLabelFields(labels);
      let at = -1;
      if (strings !== undefined) {
        const of = (name: string) => labels.find((l) => l.name === name)?.value ?? '';
        const values = [of('host'), of('id'), of('zone'), of('zz_note'), of('region')];
        strings.add(
          planOf(of('__name__')),
          values,
          values.every((v) => Buffer.byteLength(v) === v.length),
        );
        at = strings.lastAt;
      }
      return {
        key: encoded,
        encodedLabels: encoded,
        labels,
        family: 'jobs',
        samples: [{ value, timestampMs: T0 }],
        ...(strings !== undefined ? { labelStrings: strings, labelStringsAt: at } : {}),
      };
    };
    const metadata = new Map<string, MetricFamilyMetadata>([
      ['jobs', { type: MetricType.COUNTER, familyName: 'jobs', help: 'Jobs ✓', unit: '' }],
    ]);
    // Two encoders (two shards) taking turns with the same plans.
    const encoders = [
      new RequestV2Encoder(new ProtobufWriter(1024)),
      new RequestV2Encoder(new ProtobufWriter(1024)),
    ];
    const reference = new ProtobufWriter(1024);
    for (let k = 0; k < 6; k++) {
      const series = Array.from({ length: 40 }, (_, i) => {
        const n = i + 40 * (k >> 1);
        return withStrings(n, n % 7 === 3 ? undefined : n % 5 === 4 ? second : first, i);
      });
      const want = Buffer.from(encodeRequestV2(series, metadata, reference));
      const encoder = encoders[k % 2] as RequestV2Encoder;
      const got = Buffer.from(encoder.encode(series, metadata));
      assert.equal(Buffer.compare(got, want), 0, `request ${k}`);
      encoder.endExport();
    }
  });

  it('an encoder paused inside a request, another using the same plans meanwhile: both bodies are encodeRequestV2’s', () => {
    const plan = new PlanSymbols([
      { name: '__name__', value: 'jobs_total' },
      { name: 'pod', slot: 0 },
      { name: 'zone', slot: 1 },
    ]);
    const strings = new LabelStrings();
    const series = Array.from({ length: 1_200 }, (_, i): TimeSeries => {
      const labels = [
        { name: '__name__', value: 'jobs_total' },
        { name: 'pod', value: `p${i}` },
        ...(i % 3 === 0 ? [] : [{ name: 'zone', value: `z${i % 3}` }]),
      ];
      strings.add(plan, [`p${i}`, i % 3 === 0 ? '' : `z${i % 3}`], true);
      const encoded = encodeLabelFields(labels);
      return {
        key: encoded,
        encodedLabels: encoded,
        labels,
        family: 'jobs',
        samples: [{ value: i, timestampMs: T0 }],
        labelStrings: strings,
        labelStringsAt: strings.lastAt,
      };
    });
    const metadata = new Map<string, MetricFamilyMetadata>();
    const a = series.slice(0, 700);
    const b = series.slice(500).reverse();
    const paused = new RequestV2Encoder(new ProtobufWriter(1024));
    const other = new RequestV2Encoder(new ProtobufWriter(1024));
    let pauses = 0;
    const steps = paused.encodeSteps(a, metadata, [], () => true);
    let step = steps.next();
    while (!step.done) {
      pauses++;
      if (pauses === 1) {
        const got = Buffer.from(other.encode(b, metadata));
        assert.equal(
          Buffer.compare(got, Buffer.from(encodeRequestV2(b, metadata, new ProtobufWriter()))),
          0,
          'other',
        );
      }
      step = steps.next();
    }
    assert.ok(pauses >= 2, 'the request paused');
    const want = Buffer.from(encodeRequestV2(a, metadata, new ProtobufWriter()));
    assert.equal(Buffer.compare(Buffer.from(step.value), want), 0, 'paused');
  });

  it('a template is reused while its series come back, and forgotten after 4 exports without them', () => {
    const encoder = new RequestV2Encoder();
    const metadata = new Map<string, MetricFamilyMetadata>();
    const request = (k: number): TimeSeries[] =>
      [1, 2, 3].map((i) => {
        const labels = labelsOf(i);
        return {
          key: seriesKey(labels),
          labels,
          family: FAMILY(i),
          samples: [{ value: k, timestampMs: T0 + k }],
        };
      });
    const templates = (): Map<string, unknown> =>
      (encoder as unknown as { templates: Map<string, unknown> }).templates;
    encoder.encode(request(1), metadata);
    encoder.endExport();
    const made = templates().get(request(1)[0]!.key);
    assert.ok(made, 'made at the first request');
    encoder.encode(request(2), metadata);
    encoder.endExport();
    assert.equal(templates().get(request(2)[0]!.key), made, 'the same one reused');
    for (let k = 0; k < 4; k++) encoder.endExport();
    assert.equal(templates().size, 1, 'kept through 4 exports without it');
    encoder.endExport();
    assert.equal(templates().size, 0, 'forgotten after that');
  });

  for (const valuesApart of [false, true])
    it(`requests of frames${valuesApart ? ' that keep their values apart' : ''}: patched in place while the layout holds, written again when it does not, always the bytes of encodeRequestV2`, () => {
      const r = random(7);
      const encoder = new RequestV2Encoder(new ProtobufWriter(1024));
      const reference = new ProtobufWriter(1024);
      const metadata = new Map<string, MetricFamilyMetadata>([
        ['jobs', { type: MetricType.COUNTER, familyName: 'jobs', help: 'Jobs', unit: '' }],
      ]);
      const n = 30;
      const labels = Array.from({ length: n }, (_, i) => [
        { name: '__name__', value: 'jobs_total' },
        { name: 'id', value: `s${i}` },
      ]);
      const keys = labels.map(encodeLabelFields);
      let ts = 1_000;
      let values = keys.map((_, i) => i + 1.5);
      let starts = keys.map((_, i) => (i % 5 === 0 ? 0 : 500 + (i % 3)));
      let frame = SeriesFrame.build('jobs', keys, values, ts, { starts, valuesApart });
      let rebuilt = 0;
      let patched = 0;
      for (let k = 0; k < 60; k++) {
        const change = r();
        if (change < 0.15) {
          // A value to or from +0, a start that moved, or a timestamp of another varint length:
          // a frame of another layout for the same series.
          // Each in turn and alone, so that each is seen to change the layout by itself; a start
          // moves by a few ms (another value, the same varint length).
          const i = Math.floor(r() * n);
          const what = rebuilt % 3;
          if (what === 0) values = values.map((v, j) => (j === i ? (v === 0 ? 1 : 0) : v));
          else if (what === 1)
            starts = starts.map((v, j) => (j === i || (j === i + 1 && v !== 0) ? v + 7 : v));
          else ts = ts < 100_000 ? ts * 1000 : ts + 1;
          frame = SeriesFrame.build('jobs', keys, values, ts, { starts, valuesApart });
          rebuilt++;
        } else {
          ts += 1000;
          values = values.map((v) => (v === 0 ? 0 : v + 1 + r()));
          if (frame.retime(ts)) values.forEach((v, i) => frame.set(i, v));
          else {
            // A timestamp of another varint length: translate makes the frame again.
            frame = SeriesFrame.build('jobs', keys, values, ts, { starts, valuesApart });
            rebuilt++;
          }
        }
        // Two requests: series 0–11 and 12–29, as batching would cut them.
        for (const [from, to] of [
          [0, 12],
          [12, n],
        ] as const) {
          const want: TimeSeries[] = [];
          for (let i = from; i < to; i++)
            want.push({
              key: keys[i]!,
              labels: labels[i]!,
              family: 'jobs',
              samples: [
                { value: values[i]!, timestampMs: ts, ...(starts[i] ? { startTimestampMs: starts[i] } : {}) },
              ],
            });
          const expected = Buffer.from(encodeRequestV2(want, metadata, reference));
          const body = encoder.encode([], metadata, [{ block: frame, from, to, at: 0 }]);
          assert.equal(Buffer.compare(body, expected), 0, `export ${k}, series ${from}–${to}`);
          // The patched path hands back the template's own body.
          const templates = (encoder as unknown as { templates: Map<string, { body?: { bytes: Buffer } }> })
            .templates;
          if ([...templates.values()].some((t) => t.body?.bytes === body)) patched++;
        }
        encoder.endExport();
      }
      assert.ok(rebuilt >= 3, `layouts changed ${rebuilt} times`);
      assert.ok(patched >= 60, `bodies patched in place: ${patched} of 120`);
    });
  it('a start after the sample time is left out, and written once the time passes it: the same frame, the body written again', () => {
    const encoder = new RequestV2Encoder(new ProtobufWriter(1024));
    const reference = new ProtobufWriter(1024);
    const metadata = new Map<string, MetricFamilyMetadata>();
    const labels = [0, 1, 2].map((i) => [
      { name: '__name__', value: 'jobs_total' },
      { name: 'id', value: `s${i}` },
    ]);
    const keys = labels.map(encodeLabelFields);
    // Series 1 starts at 2,500: after the samples of 1,000 and 2,000, before those from 3,000 on.
    const starts = [500, 2_500, 0];
    const frame = SeriesFrame.build('jobs', keys, [1, 2, 3], 1_000, { starts, valuesApart: true });
    const bodies: Buffer[] = [];
    for (const ts of [1_000, 2_000, 3_000, 4_000]) {
      assert.ok(frame.retime(ts));
      [1, 2, 3].forEach((v, i) => frame.set(i, v + ts));
      const want: TimeSeries[] = keys.map((key, i) => ({
        key,
        labels: labels[i]!,
        family: 'jobs',
        samples: [
          {
            value: [1, 2, 3][i]! + ts,
            timestampMs: ts,
            ...(starts[i]! <= ts && starts[i] ? { startTimestampMs: starts[i] } : {}),
          },
        ],
      }));
      const body = encoder.encode([], metadata, [{ block: frame, from: 0, to: 3, at: 0 }]);
      bodies.push(Buffer.from(body));
      assert.equal(
        Buffer.compare(body, Buffer.from(encodeRequestV2(want, metadata, reference))),
        0,
        `at ${ts}`,
      );
      encoder.endExport();
    }
    // The start's field came in at 3,000: one more field than the bodies before.
    assert.ok(bodies[2]!.length > bodies[1]!.length);
  });

  it('a template holding a body and not its fields: the same series given one by one are written from what the body holds', () => {
    const { encoder, reference, metadata, n, keys, starts, seriesAt, templates } = jobsOf(20);
    let values = keys.map((_, i) => (i === 3 ? 0 : i + 0.5));
    for (const [k, ts] of [1_000, 2_000, 3_000, 4_000].entries()) {
      values = values.map((v) => (v === 0 ? 0 : v + 1));
      const expected = Buffer.from(encodeRequestV2(seriesAt(ts, values), metadata, reference));
      // Export 2 takes the per-series path (a frame let go): the series as such.
      const body = Buffer.from(
        k === 2
          ? encoder.encode(seriesAt(ts, values), metadata)
          : encoder.encode([], metadata, [
              { block: SeriesFrame.build('jobs', keys, values, ts, { starts }), from: 0, to: n, at: 0 },
            ]),
      );
      assert.equal(Buffer.compare(body, expected), 0, `export ${k}`);
      assert.equal(templates.size, 1, `export ${k}: one template, reused`);
      const t = [...templates.values()][0]!;
      // Frames only: the body is kept and the fields let go; series: the other way round.
      assert.equal(t.body !== undefined, k !== 2, `export ${k}: body kept`);
      assert.equal(t.fields !== undefined, k === 2, `export ${k}: fields kept`);
      encoder.endExport();
    }
  });

  it('a request of series of one sample each keeps the body it wrote: the same series as a frame next time patch it, or write it again when its layout changed', () => {
    const { encoder, reference, metadata, n, keys, starts, seriesAt, templates } = jobsOf(30);
    const values = keys.map((_, i) => (i === 3 ? 0 : i + 0.5));
    // Export 0: series; 1: a frame, same layout; 2: a frame with a value turned +0 (another layout).
    const valuesOf = [
      values,
      values.map((v) => (v === 0 ? 0 : v + 1)),
      values.map((v, i) => (i === 7 ? 0 : v + 2)),
    ];
    let kept: unknown;
    for (const [k, ts] of [1_000, 2_000, 3_000].entries()) {
      const vs = valuesOf[k]!;
      const expected = Buffer.from(encodeRequestV2(seriesAt(ts, vs), metadata, reference));
      const body =
        k === 0
          ? encoder.encode(seriesAt(ts, vs), metadata)
          : encoder.encode([], metadata, [
              { block: SeriesFrame.build('jobs', keys, vs, ts, { starts }), from: 0, to: n, at: 0 },
            ]);
      assert.equal(Buffer.compare(Buffer.from(body), expected), 0, `export ${k}`);
      const t = [...templates.values()][0]!;
      assert.equal(templates.size, 1, `export ${k}: one template`);
      assert.ok(t.body !== undefined && t.fields === undefined, `export ${k}: the body kept, no fields`);
      // Patched in place: the same body. Written again: another.
      if (k === 1) assert.equal(t.body, kept, 'export 1: patched');
      if (k === 2) assert.notEqual(t.body, kept, 'export 2: written again');
      kept = t.body;
      encoder.endExport();
    }
    // A request with a histogram series keeps fields rather than its body.
    const other = new RequestV2Encoder(new ProtobufWriter(1024));
    const mixed = [
      ...seriesAt(5_000, values).slice(0, 3),
      { ...seriesAt(5_000, values)[3]!, samples: [], histograms: [histogramAt(5_000, 1)] },
    ];
    const want = Buffer.from(encodeRequestV2(mixed, metadata, reference));
    assert.equal(Buffer.compare(Buffer.from(other.encode(mixed, metadata)), want), 0, 'with a histogram');
    const withHistogram = [
      ...(
        other as unknown as { templates: Map<string, { body?: unknown; fields?: unknown }> }
      ).templates.values(),
    ][0]!;
    assert.ok(
      withHistogram.body === undefined && withHistogram.fields !== undefined,
      'with a histogram: fields kept',
    );
  });
});

describe('RW 2.0 body of series of one sample each (BodyWriter): each series written with its timestamps and metadata copied as encoded once', () => {
  const metadata = new Map<string, MetricFamilyMetadata>([
    ['jobs', { type: MetricType.COUNTER, familyName: 'jobs', help: 'Jobs done', unit: '' }],
    ['depth', { type: MetricType.GAUGE, familyName: 'depth', help: '', unit: 'bytes' }],
    // 'other' has none: UNSPECIFIED.
  ]);
  const families = ['jobs', 'depth', 'other'];
  // Each case changes one thing from series to series; the body must be encodeRequestV2's.
  const cases: Array<[string, (i: number) => Partial<Sample> & { family?: string; labels?: Label[] }]> = [
    [
      'values: +0 (left out), −0, NaN, ±Inf, tiny, huge, negative',
      (i) => ({
        value: [0, -0, NaN, Infinity, -Infinity, 5e-324, 1.7e308, -42.5][i % 8]!,
      }),
    ],
    [
      'a start time on some series, none on others, one after the sample (left out)',
      (i) => ({
        ...(i % 3 === 0 ? {} : { startTimestampMs: i % 3 === 1 ? T0 - 60_000 : T0 + 5 }),
      }),
    ],
    [
      'each series its own timestamp, one of them 0 (left out), one before 1970 (10 bytes)',
      (i) => ({ timestampMs: i === 4 ? 0 : i === 5 ? -1_000 : T0 + i }),
    ],
    ['a stale marker among them', (i) => (i % 5 === 2 ? { value: NaN, stale: true } : {})],
    ['families alternating, one of them with no metadata', (i) => ({ family: families[i % 3]! })],
    [
      'labels whose refs take more than 127 bytes, and a series of no label refs',
      (i) => ({
        labels:
          i === 6
            ? []
            : Array.from({ length: i % 2 === 0 ? 70 : 2 }, (_, l) => ({
                name: `l${String(l).padStart(2, '0')}`,
                value: `v${i}-${l}`,
              })),
      }),
    ],
  ];
  for (const [name, vary] of cases) {
    it(name, () => {
      const encoder = new RequestV2Encoder(new ProtobufWriter(64));
      const reference = new ProtobufWriter(64);
      const series: TimeSeries[] = Array.from({ length: 24 }, (_, i) => {
        const { family = 'jobs', labels: given, ...sample } = vary(i);
        const labels = given ?? [
          { name: '__name__', value: `${family}_x` },
          { name: 'id', value: `s${i}` },
        ];
        const encoded = encodeLabelFields(labels);
        return {
          key: encoded,
          labels,
          family,
          encodedLabels: encoded,
          samples: [{ value: i + 0.5, timestampMs: T0, ...sample }],
        };
      });
      const want = Buffer.from(encodeRequestV2(series, metadata, reference));
      assert.equal(Buffer.compare(Buffer.from(encoder.encode(series, metadata)), want), 0);
      const t = [
        ...(encoder as unknown as { templates: Map<string, { body?: unknown }> }).templates.values(),
      ][0]!;
      assert.ok(t.body !== undefined, 'written as a kept body');
    });
  }
});

describe('RW 2.0 requests encoded in steps', () => {
  it('a 2,000-series request, series or a frame: it pauses at every look when due says so, with the bytes of encodeRequestV2', () => {
    const n = 2_000;
    const metadata = new Map<string, MetricFamilyMetadata>([
      ['jobs', { type: MetricType.COUNTER, familyName: 'jobs', help: 'Jobs', unit: '' }],
    ]);
    const labels = Array.from({ length: n }, (_, i) => [
      { name: '__name__', value: 'jobs_total' },
      { name: 'id', value: `s${i}` },
      { name: 'zone', value: i % 2 ? 'ü' : 'a' },
    ]);
    const keys = labels.map(encodeLabelFields);
    const values = keys.map((_, i) => i + 0.5);
    const series: TimeSeries[] = keys.map((key, i) => ({
      key,
      labels: labels[i]!,
      family: 'jobs',
      encodedLabels: key,
      samples: [{ value: values[i]!, timestampMs: T0 }],
    }));
    const expected = Buffer.from(encodeRequestV2(series, metadata, new ProtobufWriter(1024)));
    const frame = SeriesFrame.build('jobs', keys, values, T0);
    for (const [what, items, runs] of [
      ['series', series, []],
      ['a frame', [], [{ block: frame, from: 0, to: n, at: 0 }]],
    ] as const) {
      const encoder = new RequestV2Encoder(new ProtobufWriter(1024));
      // A new template and a body from it, then (a frame) the same request patched in place.
      for (const round of [0, 1]) {
        const steps = encoder.encodeSteps(items, metadata, runs, () => true);
        let pauses = 0;
        let step = steps.next();
        while (!step.done) {
          pauses++;
          step = steps.next();
        }
        assert.equal(Buffer.compare(step.value, expected), 0, `${what}, round ${round}: the bytes`);
        // Round 0: one pass, each series' refs read and its part of the body written (every series
        // has one sample), a look every 256 series.
        if (round === 0) assert.ok(pauses >= Math.floor(n / 256), `${what}: ${pauses} pauses`);
        else if (what === 'a frame') assert.equal(pauses, 0, 'a patched body takes no steps');
        encoder.endExport();
      }
    }
  });
});
