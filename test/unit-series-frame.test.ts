/**
 * The encoded steady state (wire/series-frame.ts, translate's addFramed, Chunker.addRun): a
 * counter or gauge whose series did not change is sent by patching its frame. What it sends must
 * be, byte for byte, what the per-series path sends and what protobufjs writes, with the same
 * request boundaries, in every way a frame can go out of date.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { DataPoint, Histogram, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import protobuf from 'protobufjs';
import { Chunker, type Chunk } from '../src/deliver/batching.js';
import { PrometheusRemoteWriteExporter } from '../src/exporter.js';
import type { PrometheusRemoteWriteExporterOptions } from '../src/options.js';
import type { EncodedSeriesBlock, Label, TimeSeries } from '../src/model.js';
import { DeltaAccumulator } from '../src/translate/delta.js';
import { SeriesState } from '../src/steady-state/series-state.js';
import { translate, type SeriesSink, type TranslateOptions } from '../src/translate/translate.js';
import { encodeLabelFields } from '../src/wire/label-fields.js';
import { ProtobufWriter } from '../src/wire/protobuf-writer.js';
import { encodeWriteRequest } from '../src/wire/rw1.js';
import { SeriesFrame } from '../src/wire/series-frame.js';
import { snappyUncompress } from '../src/wire/snappy.js';
import { T0_MS, gauge, histogram, hr, resourceMetrics, sum } from './helpers/otel.js';
import { seeded as random } from './helpers/random.js';

const root = protobuf.loadSync(fileURLToPath(new URL('../proto/remote.proto', import.meta.url)));
const WriteRequest = root.lookupType('prometheus.WriteRequest');

/** protobufjs decoding our bytes and encoding them again: the same bytes if ours are canonical. */
function reencoded(body: Uint8Array): Buffer {
  return Buffer.from(WriteRequest.encode(WriteRequest.decode(body)).finish());
}

const labelSet = (i: number): Label[] => [
  { name: '__name__', value: 'jobs_total' },
  { name: 'city', value: i % 2 ? 'Zürich' : '東京' },
  { name: 'id', value: `${i}`.repeat(1 + (i % 40)) }, // lengths from 1 to 160 bytes: 1- and 2-byte varints
];

function floatSeries(labels: Label[], value: number, timestampMs: number): TimeSeries {
  return { key: encodeLabelFields(labels), labels, family: 'jobs', samples: [{ value, timestampMs }] };
}

/** A frame of these label sets, one value each, at one timestamp. */
const frameOf = (labels: Label[][], values: readonly number[], timestampMs: number): SeriesFrame =>
  SeriesFrame.build('jobs', labels.map(encodeLabelFields), values, timestampMs);

/** What encodeWriteRequest writes for the same series. */
const encodedSeries = (labels: Label[][], values: readonly number[], timestampMs: number): Buffer =>
  encodeWriteRequest(
    labels.map((l, i) => floatSeries(l, values[i] as number, timestampMs)),
    [],
    new ProtobufWriter(),
  );

describe('SeriesFrame', () => {
  const values = [1, -1, 0.5, 1e300, -1e-300, Infinity, -Infinity, NaN, 2 ** 53, 123456.789];

  it('is, byte for byte, what encodeWriteRequest writes for the same series', () => {
    for (const ts of [1, 127, 128, T0_MS, 2 ** 52]) {
      const labels = values.map((_, i) => labelSet(i));
      const frame = frameOf(labels, values, ts);
      const expected = encodedSeries(labels, values, ts);
      assert.equal(Buffer.compare(frame.bytes, expected), 0, `timestamp ${ts}`);
      assert.equal(frame.ends[frame.count - 1], expected.length);
      assert.equal(Buffer.compare(reencoded(frame.bytes), frame.bytes), 0, 'canonical for protobufjs');
    }
  });

  it('a +0 has no value field, as in encodeWriteRequest; −0 has one', () => {
    const withZeros = [0, 1, -0, 0, 2.5, 0];
    const labels = withZeros.map((_, i) => labelSet(i));
    const frame = frameOf(labels, withZeros, T0_MS);
    assert.equal(Buffer.compare(frame.bytes, encodedSeries(labels, withZeros, T0_MS)), 0);
    assert.deepEqual(
      withZeros.map((_, i) => [frame.fits(i, 0), frame.fits(i, -0), frame.fits(i, 7)]),
      withZeros.map((v) => (Object.is(v, 0) ? [true, false, false] : [false, true, true])),
    );
    assert.ok(frame.retime(T0_MS + 1000));
    const next = [0, 3, 4, 0, -0, 0];
    next.forEach((v, i) => frame.set(i, v));
    assert.equal(Buffer.compare(frame.bytes, encodedSeries(labels, next, T0_MS + 1000)), 0);
    labels.forEach((l, i) => assert.deepEqual(frame.labelsOf(i), l));
  });

  /**
   * A frame of 12 series laid out by shard: series i at slot position[i], three shards of the
   * series whose index is 0, 1 or 2 mod 3; +0 (no value field) at 1, 5 and 9.
   */
  const byShard = () => {
    const count = 12;
    const position = new Int32Array(count);
    for (let i = 0; i < count; i++) position[i] = (i % 3) * 4 + Math.floor(i / 3);
    const labels = Array.from({ length: count }, (_, i) => labelSet(i));
    const first = labels.map((_, i) => (i % 4 === 1 ? 0 : i + 0.5));
    const frame = SeriesFrame.build('jobs', labels.map(encodeLabelFields), first, T0_MS, {
      layout: { position, shardEnds: Int32Array.of(4, 8, 12) },
    });
    const inSlots = <T>(byIndex: readonly T[]): T[] => {
      const out = new Array<T>(count);
      byIndex.forEach((v, i) => (out[position[i] as number] = v));
      return out;
    };
    return { position, labels, first, frame, inSlots };
  };

  it('laid out by shard: fits and set go by series, the bytes are the series in slot order', () => {
    const { position, labels, first, frame, inSlots } = byShard();
    assert.equal(Buffer.compare(frame.bytes, encodedSeries(inSlots(labels), inSlots(first), T0_MS)), 0);
    assert.deepEqual(
      first.map((_, i) => frame.fits(i, 0)),
      first.map((v) => Object.is(v, 0)),
    );
    assert.ok(frame.retime(T0_MS + 1000));
    const next = first.map((v, i) => (Object.is(v, 0) ? 0 : -i * 1e6 - 0.125));
    next.forEach((v, i) => frame.set(i, v));
    assert.equal(Buffer.compare(frame.bytes, encodedSeries(inSlots(labels), inSlots(next), T0_MS + 1000)), 0);
    labels.forEach((l, i) => assert.deepEqual(frame.labelsOf(position[i] as number), l));
  });

  it('laid out by shard, staged: the samples are written by commit, run by run, with what was staged or set last', () => {
    const { labels, first, frame, inSlots } = byShard();
    const built = Buffer.from(frame.bytes);
    assert.ok(frame.retime(T0_MS + 1000));
    const next = first.map((v, i) => (Object.is(v, 0) ? 0 : -i * 1e6 - 0.125));
    next.forEach((v, i) => frame.stage(i, i === 4 ? 99 : v));
    frame.set(4, next[4] as number); // set after stage: the value commit writes
    assert.equal(
      Buffer.compare(frame.bytes.subarray(0, frame.ends[3]), built.subarray(0, frame.ends[3])),
      0,
      'shard 0 before its commit',
    );
    const expected = encodedSeries(inSlots(labels), inSlots(next), T0_MS + 1000);
    frame.commit(0, 4);
    assert.equal(
      Buffer.compare(frame.bytes.subarray(0, frame.ends[3]), expected.subarray(0, frame.ends[3])),
      0,
      'shard 0 committed',
    );
    assert.notEqual(Buffer.compare(frame.bytes, expected), 0, 'shards 1 and 2 not yet');
    frame.commit(4, 8);
    frame.commit(8, 12);
    assert.equal(Buffer.compare(frame.bytes, expected), 0);
  });

  it('takes new values and a new timestamp in place', () => {
    const labels = Array.from({ length: 60 }, (_, i) => labelSet(i));
    const frame = frameOf(
      labels,
      labels.map((_, i) => i + 1),
      T0_MS,
    );
    assert.ok(frame.retime(T0_MS + 15_000));
    const next = labels.map((_, i) => (i % 3 === 0 ? -i - 0.25 : i * 1e9 + 7));
    next.forEach((v, i) => frame.set(i, v));
    assert.equal(Buffer.compare(frame.bytes, encodedSeries(labels, next, T0_MS + 15_000)), 0);
  });

  it('refuses a timestamp whose varint has another length', () => {
    const frame = frameOf([labelSet(1)], [1], 100);
    assert.equal(frame.retime(127), true);
    assert.equal(frame.retime(128), false, '2 bytes instead of 1');
    assert.equal(frame.retime(0), false, 'a zero timestamp is left out');
    assert.equal(frame.timestampMs, 127);
  });

  it('values kept apart (RW 2.0 only): the same value bytes, the samples in its bytes left as built, and no RW 1.0 request made of it', () => {
    const labels = values.map((_, i) => labelSet(i));
    const keys = labels.map(encodeLabelFields);
    const frame = SeriesFrame.build('m', keys, values, T0_MS, { valuesApart: true });
    const plain = frameOf(labels, values, T0_MS);
    assert.equal(Buffer.compare(frame.bytes, plain.bytes), 0, 'as built');
    assert.ok(frame.retime(T0_MS + 1000) && plain.retime(T0_MS + 1000));
    const next = values.map((v, i) => (i % 2 === 0 ? -v : v * 3));
    next.forEach((v, i) => {
      frame.set(i, v);
      plain.set(i, v);
    });
    const a = new Uint8Array(8);
    const b = new Uint8Array(8);
    next.forEach((_, i) => {
      frame.copyValue(i, a, 0);
      plain.copyValue(i, b, 0);
      assert.deepEqual(a, b, `series ${i}`);
    });
    assert.equal(Buffer.compare(frame.bytes, encodedSeries(labels, values, T0_MS)), 0, 'its bytes as built');
    assert.throws(
      () => encodeWriteRequest([], [], new ProtobufWriter(), [{ block: frame, from: 0, to: 2, at: 0 }]),
      /frame of m is kept for RW 2\.0 only/,
    );
  });

  it('gives back the labels of each series', () => {
    const labels = Array.from({ length: 45 }, (_, i) => labelSet(i));
    const frame = frameOf(
      labels,
      labels.map(() => 2),
      T0_MS,
    );
    labels.forEach((l, i) => assert.deepEqual(frame.labelsOf(i), l));
  });
});

describe('SeriesFrame.open: a frame written series by series (a first export, frames.ts addNew)', () => {
  const padded = (i: number, bytes: number): string =>
    encodeLabelFields([
      { name: '__name__', value: 'jobs_total' },
      { name: 'id', value: `${i}` },
      { name: 'pad', value: 'x'.repeat(bytes) },
    ]);
  // Series of 1-, 2- and 3-byte lengths, each one's field header longer or shorter than the last's.
  const sizes = [0, 90, 3, 20_000, 300, 5, 110, 17_000, 1];
  const values = [1.5, 0, -0, NaN, Infinity, -1e300, 42, 0, 7];
  const cases = [
    {
      name: 'lengths of 1 to 3 bytes, headers changing both ways',
      count: 9,
      size: (i: number) => sizes[i]!,
      v2: false,
    },
    {
      name: 'with start times, values kept apart (RW 2.0)',
      count: 9,
      size: (i: number) => sizes[i]!,
      v2: true,
    },
    // Past the looks at its size (1,024 series, 16,384): sized from the first series, then grown, then shrunk.
    {
      name: '20,000 series growing in size',
      count: 20_000,
      size: (i: number) => Math.floor(i / 100),
      v2: false,
    },
    {
      name: '3,000 series shrinking in size',
      count: 3_000,
      size: (i: number) => 200 - Math.floor(i / 15),
      v2: true,
    },
  ];
  for (const c of cases)
    it(`${c.name}: byte for byte the frame built whole, and as steady`, () => {
      const labels = Array.from({ length: c.count }, (_, i) => padded(i, c.size(i)));
      const vals = labels.map((_, i) => values[i % values.length] as number);
      const starts = c.v2 ? labels.map((_, i) => (i % 3 === 0 ? 0 : T0_MS - i)) : undefined;
      const built = SeriesFrame.build('jobs', labels, vals, T0_MS, { starts, valuesApart: c.v2 });
      const open = SeriesFrame.open('jobs', c.count, T0_MS, c.v2, c.v2);
      labels.forEach((l, i) => {
        // Room for more than the labels take, as the label plans ask.
        const at = open.room(3 * l.length + 40);
        open.bytes.write(l, at, 'latin1');
        assert.equal(open.append(l.length, vals[i] as number, starts?.[i] ?? 0), i);
      });
      assert.equal(open.length, c.count);
      open.seal();
      const same = (what: string) => {
        const end = open.ends[c.count - 1] as number;
        assert.equal(Buffer.compare(open.bytes.subarray(0, end), built.bytes), 0, `${what}: bytes`);
        assert.deepEqual([...open.ends], [...built.ends], `${what}: ends`);
        for (let i = 0; i < c.count; i++) {
          assert.equal(open.hasValue(i), built.hasValue(i));
          assert.ok(Object.is(open.valueAt(i), built.valueAt(i)), `${what}: value ${i}`);
          assert.equal(open.startAt(i), built.startAt(i));
        }
      };
      same('written');
      // The room it did not use given back (after its export, frames.ts checkLater).
      for (const _ of open.trimSteps(() => true));
      assert.equal(open.bytes.length, open.ends[c.count - 1], 'trimmed to its bytes');
      same('trimmed');
      for (let i = 0; i < c.count; i += 997) assert.equal(open.encodedLabelsOf(i), labels[i]);
      for (const frame of [open, built]) {
        assert.ok(frame.retime(T0_MS + 1000));
        for (let i = 0; i < c.count; i++) if (frame.fits(i, i + 0.25)) frame.set(i, i + 0.25);
      }
      same('patched');
    });

  it('gives back the room it did not use in steps of 1 MiB, its bytes readable all along', () => {
    const count = 40_000;
    const open = SeriesFrame.open('jobs', count, T0_MS, false, false);
    const labels = Array.from({ length: count }, (_, i) => padded(i, 200));
    labels.forEach((l, i) => {
      const at = open.room(l.length);
      open.bytes.write(l, at, 'latin1');
      open.append(l.length, i, 0);
    });
    const used = open.ends[count - 1] as number;
    assert.ok(open.bytes.length > used * 1.1, `room left: ${open.bytes.length} for ${used}`);
    let pauses = 0;
    for (const _ of open.trimSteps(() => true)) {
      pauses++;
      assert.equal(open.encodedLabelsOf(count - 1), labels[count - 1], 'readable between steps');
    }
    assert.equal(pauses, Math.ceil(used / (1 << 20)) - 1);
    assert.equal(open.bytes.length, used);
    assert.equal(open.encodedLabelsOf(count - 1), labels[count - 1]);
  });

  it('series of over 2 MiB of labels (a 4-byte length), room asked for exactly their labels: as built', () => {
    const l = padded(1, (1 << 21) + 10);
    const open = SeriesFrame.open('jobs', 2, T0_MS, false, false);
    for (let i = 0; i < 2; i++) {
      const at = open.room(l.length);
      open.bytes.write(l, at, 'latin1');
      open.append(l.length, i + 1, 0);
    }
    const built = SeriesFrame.build('jobs', [l, l], [1, 2], T0_MS);
    assert.equal(Buffer.compare(open.bytes.subarray(0, open.ends[1]), built.bytes), 0);
  });

  it('lets go of its label strings (RW 2.0) when retimed', () => {
    const open = SeriesFrame.open('jobs', 1, T0_MS, false, true);
    const l = padded(1, 4);
    const at = open.room(l.length);
    open.bytes.write(l, at, 'latin1');
    open.append(l.length, 1, 0);
    open.labelStrings = { chunks: [] };
    open.labelStringsAt = new Int32Array(1);
    open.retime(T0_MS + 1000);
    assert.equal(open.labelStrings, undefined);
    assert.equal(open.labelStringsAt, undefined);
  });
});

describe('Chunker.addRun', () => {
  const labels = Array.from({ length: 90 }, (_, i) => labelSet(i));
  const frame = frameOf(
    labels,
    labels.map((_, i) => i + 1),
    T0_MS,
  );
  const series = labels.map((l, i) => floatSeries(l, i + 1, T0_MS));

  type Shape = Array<{ samples: number; bytes: number; body: Buffer }>;
  const shape = (chunks: Chunk[]): Shape =>
    chunks.map((c) => ({
      samples: c.samples,
      bytes: c.bytes,
      body: Buffer.from(encodeWriteRequest(c.series, [], new ProtobufWriter(), c.runs)),
    }));

  function split(limits: { maxSamples: number; maxBytes: number }, feed: (c: Chunker) => void) {
    const chunks: Chunk[] = [];
    const oversize: Array<[readonly Label[], number, number, number]> = [];
    const chunker = new Chunker(
      limits,
      (c) => chunks.push(c),
      (l, others, samples, bytes) => oversize.push([l, others, samples, bytes]),
    );
    feed(chunker);
    chunker.flush();
    return { chunks: shape(chunks), oversize };
  }

  const table: Array<[string, { maxSamples: number; maxBytes: number }]> = [
    ['no limit reached', { maxSamples: 1000, maxBytes: 1e9 }],
    ['by samples', { maxSamples: 7, maxBytes: 1e9 }],
    ['one sample per request', { maxSamples: 1, maxBytes: 1e9 }],
    ['by bytes', { maxSamples: 1000, maxBytes: 700 }],
    ['by both', { maxSamples: 9, maxBytes: 900 }],
    ['series over the byte limit', { maxSamples: 1000, maxBytes: 150 }],
  ];
  for (const [name, limits] of table) {
    it(`${name}: the requests of series added one by one`, () => {
      const one = split(limits, (c) => series.forEach((s) => c.add(s)));
      const run = split(limits, (c) => c.addRun(frame, 0, frame.count));
      assert.deepEqual(run.chunks, one.chunks);
      assert.deepEqual(run.oversize, one.oversize);
      for (const c of run.chunks) assert.equal(c.body.length, c.bytes, 'size is exact');
    });
  }

  for (const [name, limits] of [
    ['groups, no limit reached', { maxSamples: 1000, maxBytes: 1e9 }],
    ['groups, by samples', { maxSamples: 40, maxBytes: 1e9 }],
    ['groups, by bytes', { maxSamples: 1000, maxBytes: 3000 }],
    ['a group over the sample limit', { maxSamples: 10, maxBytes: 1e9 }],
    ['a group over the byte limit', { maxSamples: 1000, maxBytes: 1000 }],
  ] as const) {
    it(`${name}: groups of 15 (histogram points) as their series added one by one`, () => {
      // The series of one point share a group number (TimeSeries.group) and are never split.
      const grouped = series.map((s, i) => ({ ...s, group: Math.floor(i / 15) }));
      const one = split(limits, (c) => grouped.forEach((s) => c.add(s)));
      const run = split(limits, (c) => c.addRun(frame, 0, frame.count, 15));
      assert.deepEqual(run.chunks, one.chunks);
      assert.deepEqual(run.oversize, one.oversize);
      for (const c of run.chunks) assert.equal(c.samples % 15, 0, 'whole points');
    });
  }

  it('runs and single series mixed keep their order', () => {
    const limits = { maxSamples: 11, maxBytes: 5000 };
    const one = split(limits, (c) => series.forEach((s) => c.add(s)));
    const mixed = split(limits, (c) => {
      c.addRun(frame, 0, 20);
      for (let i = 20; i < 25; i++) c.add(series[i]!);
      c.addRun(frame, 25, 26);
      c.add(series[26]!);
      c.addRun(frame, 27, 90);
    });
    assert.deepEqual(mixed.chunks, one.chunks);
  });
});

/** Export k of a scripted life: steady stretches and every way a frame can go out of date. */
function script(): Array<() => ResourceMetrics> {
  const n = 300;
  const attributes: Attributes[] = Array.from({ length: n }, (_, i) => ({
    queue: `q${i}`,
    region: i % 3 ? 'eu' : 'ünïcode',
  }));
  const rooms: Attributes[] = Array.from({ length: 40 }, (_, i) => ({ room: `r${i}` }));
  const at = (k: number): HrTime => hr(T0_MS + k * 1000);
  /** Another metric whose series is also one of `jobs` (the same Prometheus name and labels). */
  const twin = (end: HrTime, value: number) =>
    sum({ name: 'jobs_total' }, [
      { attributes: { ...attributes[1] }, startTime: hr(T0_MS - 60_000), endTime: end, value },
    ]);
  const build = (
    k: number,
    end: HrTime,
    value: (i: number) => number,
    attrs = attributes,
    twins: { before?: boolean; after?: boolean } = {},
  ) => {
    const points: DataPoint<number>[] = attrs.map((a, i) => ({
      attributes: a,
      startTime: hr(T0_MS - 60_000),
      endTime: end,
      value: value(i),
    }));
    const temps: DataPoint<number>[] = rooms.map((a, i) => ({
      attributes: a,
      startTime: end,
      endTime: end,
      value: (i - 20) * 0.5 + k,
    }));
    return resourceMetrics([
      ...(twins.before ? [twin(end, -k)] : []),
      sum({ name: 'jobs' }, points),
      ...(twins.after ? [twin(end, -k)] : []),
      gauge({ name: 'temperature' }, temps),
    ]);
  };
  const steady = (k: number) => () => build(k, at(k), (i) => (i + 1) * (k + 1));
  return [
    steady(0),
    steady(1),
    steady(2),
    // A counter at zero, a gauge at −0 (k = 20 − i·0.5 … the room 20 is at 0).
    () => build(3, at(3), (i) => (i === 7 ? 0 : i === 8 ? -0 : (i + 1) * 4)),
    steady(4),
    // An attributes object changed in place: a value, then a new key.
    () => {
      (attributes[5] as Record<string, string>).region = 'us';
      (attributes[6] as Record<string, string>).extra = 'x';
      return build(5, at(5), (i) => (i + 1) * 6);
    },
    steady(6),
    // Streams removed from the middle (positions shift) and new ones at the end.
    () => {
      attributes.splice(100, 20);
      for (let i = 0; i < 25; i++) attributes.push({ queue: `new${i}`, region: 'eu' });
      return build(7, at(7), (i) => (i + 1) * 8);
    },
    steady(8),
    steady(9),
    // The same end time again (moved 1 ms later), then one in the past.
    () => build(10, at(9), (i) => (i + 1) * 11),
    () => build(11, at(2), (i) => (i + 1) * 12),
    steady(11),
    // One end-time array per point (a hand-made producer), same millisecond.
    () => {
      const rm = build(12, at(12), (i) => (i + 1) * 13);
      for (const p of rm.scopeMetrics[0]!.metrics[0]!.dataPoints) (p as { endTime: HrTime }).endTime = at(12);
      return rm;
    },
    // Two points with equal attributes (two objects): one series, sent once with a warning.
    () => build(13, at(13), (i) => i + 1, [...attributes, { ...attributes[3] }]),
    steady(14),
    steady(15),
    steady(16),
    // A series of the frame also made by another metric: after the framed one (the twin is not
    // sent), then before it (the twin is sent, not the framed point), then steady again.
    () => build(17, at(17), (i) => (i + 1) * 18, attributes, { after: true }),
    () => build(18, at(18), (i) => (i + 1) * 19, attributes, { before: true }),
    () => build(19, at(19), (i) => (i + 1) * 20, attributes, { before: true }),
    steady(20),
    steady(21),
    steady(22),
  ];
}

async function bodiesOf(options: { debug?: (text: string) => void; maxSamplesPerSend: number }) {
  const bodies: Buffer[][] = [];
  let current: Buffer[] = [];
  const exporter = new PrometheusRemoteWriteExporter(
    { url: 'http://127.0.0.1:9/api/v1/write', maxRequestBytes: 4000, markStaleWhenMissing: true, ...options },
    {
      post: async (body) => {
        current.push(snappyUncompress(body));
        return { status: 204, statusText: 'No Content', headers: {}, bodyPrefix: '' };
      },
    },
  );
  for (const make of script()) {
    await new Promise<void>((resolve, reject) =>
      // Export 13's twin points are reported (duplicate_series); the rest of it is sent.
      exporter.export(make(), (r) =>
        r.code === 0 || /produced twice/.test(r.error?.message ?? '') ? resolve() : reject(r.error),
      ),
    );
    await exporter.forceFlush();
    bodies.push(current);
    current = [];
  }
  await exporter.shutdown();
  return bodies;
}

describe('the exporter with frames', () => {
  it('sends, export by export, the bytes of the per-series path and of protobufjs', async (t) => {
    // Stale markers carry the time of the export: one clock for both exporters.
    t.mock.method(Date, 'now', () => T0_MS + 3_600_000);
    // A debug hook needs series, so that exporter never frames: the reference.
    const framed = await bodiesOf({ maxSamplesPerSend: 37 });
    const perSeries = await bodiesOf({ maxSamplesPerSend: 37, debug: () => {} });
    assert.equal(framed.length, perSeries.length);
    for (let k = 0; k < framed.length; k++) {
      assert.equal(framed[k]!.length, perSeries[k]!.length, `export ${k}: requests`);
      assert.ok(framed[k]!.length >= 9, `export ${k}: split into requests`);
      framed[k]!.forEach((body, r) => {
        assert.equal(Buffer.compare(body, perSeries[k]![r]!), 0, `export ${k}, request ${r}`);
        assert.equal(Buffer.compare(reencoded(body), body), 0, `export ${k}, request ${r}: protobufjs`);
      });
    }
    // What the script changed is in what was sent.
    const sent = (k: number) =>
      framed[k]!.flatMap(
        (b) => (WriteRequest.toObject(WriteRequest.decode(b), { longs: Number }) as Decoded).timeseries,
      );
    const find = (k: number, queue: string) =>
      sent(k).filter((s) => s.labels.some((l) => l.name === 'queue' && l.value === queue));
    assert.equal(find(3, 'q7')[0]!.samples[0]!.value ?? 0, 0, 'a zero is sent');
    assert.deepEqual(
      find(5, 'q5')[0]!.labels.find((l) => l.name === 'region'),
      { name: 'region', value: 'us' },
      'an object changed in place: its new value',
    );
    assert.ok(
      find(5, 'q6')[0]!.labels.some((l) => l.name === 'extra'),
      'an object changed in place: its new key',
    );
    assert.equal(find(10, 'q0')[0]!.samples[0]!.timestamp, T0_MS + 9001, 'the same end time: 1 ms later');
    assert.equal(
      find(11, 'q0')[0]!.samples[0]!.timestamp,
      T0_MS + 9002,
      'an end time in the past: 1 ms later',
    );
    assert.equal(find(14, 'q3').length, 1, 'a series twice in one export: sent once');
    assert.equal(find(15, 'new24').length, 1);
    // q1 where the twin comes first (exports 19, 20) carries its value; else the framed one's.
    assert.deepEqual(
      [18, 19, 20, 21].map((k) => find(k, 'q1').map((s) => s.samples[0]!.value)),
      [[36], [-18], [-19], [42]],
    );
  });
});

/**
 * A random life of two metrics: streams that come and go, attributes changed in place, zeros,
 * repeated and past end times, per-point end-time arrays, one series twice, a colliding metric
 * before or after, a metric left out of an export.
 */
function randomLife(seed: number, exports: number): Array<() => ResourceMetrics> {
  const r = random(seed);
  const pick = (n: number) => Math.floor(r() * n);
  let next = 0;
  const stream = (): Attributes => ({ id: `s${next++}`, zone: pick(2) ? 'a' : 'b' });
  const counters: Attributes[] = Array.from({ length: 20 + pick(30) }, stream);
  const gauges: Attributes[] = Array.from({ length: 1 + pick(10) }, stream);
  const totals = new Map<Attributes, number>();
  const BOUNDS = [0.1, 1, 10, 100];
  const histograms: Attributes[] = Array.from({ length: 2 + pick(10) }, stream);
  const buckets = new Map<Attributes, number[]>();
  let endMs = T0_MS;
  return Array.from({ length: exports }, (_, k) => () => {
    if (k > 0 && r() < 0.2) counters.splice(pick(counters.length), 1 + pick(4));
    if (k > 0 && r() < 0.1) counters.length = Math.max(0, counters.length - 1 - pick(3));
    if (r() < 0.2) for (let i = pick(5); i >= 0; i--) counters.push(stream());
    if (r() < 0.15 && counters.length > 0) {
      const a = counters[pick(counters.length)] as Record<string, string>;
      if (r() < 0.5) a.zone = `z${k}`;
      else a[`extra${k}`] = 'x';
    }
    const moment = r();
    endMs = moment < 0.1 ? endMs : moment < 0.15 ? endMs - 5000 : endMs + 1000 + pick(3);
    const end = hr(endMs);
    const ownArrays = r() < 0.1;
    const zeros = r() < 0.15;
    const points = counters.map((a) => {
      const total = (totals.get(a) ?? 0) + (zeros && r() < 0.3 ? 0 : 1 + pick(100));
      totals.set(a, total);
      return {
        attributes: a,
        startTime: hr(T0_MS - 1000),
        endTime: ownArrays ? hr(endMs) : end,
        value: total,
      };
    });
    if (r() < 0.1 && counters.length > 0) {
      points.push({ ...points[pick(points.length)]!, attributes: { ...counters[pick(counters.length)] } });
    }
    const twin =
      r() < 0.15 && counters.length > 0
        ? sum({ name: 'jobs_total' }, [
            {
              attributes: { ...counters[pick(counters.length)] },
              startTime: end,
              endTime: r() < 0.5 ? end : hr(endMs - 1),
              value: k + 1,
            },
          ])
        : undefined;
    const twinFirst = r() < 0.5;
    if (k > 0 && r() < 0.1) histograms.splice(pick(histograms.length), 1);
    if (r() < 0.1) histograms.push(stream());
    if (r() < 0.1 && histograms.length > 0)
      (histograms[pick(histograms.length)] as Record<string, string>).zone = `h${k}`;
    // Bounds: the one array, an equal copy, or other bounds for one export.
    const bounds = r() < 0.05 ? [0.5, 5] : r() < 0.1 ? [...BOUNDS] : BOUNDS;
    const hPoints: DataPoint<Histogram>[] = histograms.map((a) => {
      let counts = buckets.get(a);
      if (counts === undefined || counts.length !== bounds.length + 1)
        counts = new Array<number>(bounds.length + 1).fill(0);
      // Some buckets stay empty for a while, then fill (a bucket leaving zero leaves the frame).
      counts = counts.map((c, b) => c + (r() < 0.3 + b * 0.1 ? pick(3) : 0));
      buckets.set(a, counts);
      const count = counts.reduce((x, y) => x + y, 0);
      return {
        attributes: a,
        startTime: hr(T0_MS - 1000),
        endTime: end,
        value: { buckets: { boundaries: bounds, counts }, count, sum: r() < 0.05 ? undefined : count * 0.7 },
      };
    });
    const metrics = [
      histogram({ name: 'latency', unit: 's' }, hPoints),
      ...(twin && twinFirst ? [twin] : []),
      sum({ name: 'jobs' }, points),
      ...(twin && !twinFirst ? [twin] : []),
      ...(r() < 0.1
        ? []
        : [
            gauge(
              { name: 'level' },
              gauges.map((a, i) => ({
                attributes: a,
                startTime: end,
                endTime: end,
                value: i % 4 === 1 ? 0 : zeros && i === 0 ? (k % 2 ? 0 : -0) : (i + 1) * (k % 3) - 0.5,
              })),
            ),
          ]),
    ];
    return resourceMetrics(metrics);
  });
}

/**
 * Random lives through two exporters with the same options, one framing (the default) and one
 * made to take the per-series path (a debug hook): every export, the same request bodies. With
 * shards, requests answer in any order, so an export's bodies are compared as a sorted list.
 * Returns how many requests the last exports made.
 */
async function compareLives(
  lives: number,
  options: Partial<PrometheusRemoteWriteExporterOptions>,
  minSamplesPerSend: number,
): Promise<number> {
  // As a 2.0 receiver answers: what it wrote.
  const ok = {
    status: 204,
    statusText: 'No Content',
    headers: { 'x-prometheus-remote-write-samples-written': '1' },
    bodyPrefix: '',
  };
  const sharded = (options.maxConcurrentRequests ?? 1) > 1;
  const inOrder = (bodies: Buffer[]) => (sharded ? [...bodies].sort(Buffer.compare) : bodies);
  let lastRequests = 0;
  for (let seed = 1; seed <= lives; seed++) {
    const limits = { maxSamplesPerSend: minSamplesPerSend + (seed % 30), maxRequestBytes: 1500 + seed * 97 };
    const sent: Buffer[][] = [[], []];
    const exporters = [{}, { debug: () => {} }].map(
      (extra, which) =>
        new PrometheusRemoteWriteExporter(
          {
            url: 'http://127.0.0.1:9/api/v1/write',
            markStaleWhenMissing: true,
            ...options,
            ...limits,
            ...extra,
          },
          { post: async (body) => (sent[which]!.push(snappyUncompress(body)), ok) },
        ),
    );
    const life = randomLife(seed, 12);
    for (let k = 0; k < life.length; k++) {
      const rm = (life[k] as () => ResourceMetrics)();
      for (const exporter of exporters) {
        await new Promise<void>((resolve) => exporter.export(rm, () => resolve()));
        await exporter.forceFlush();
      }
      const [framed, perSeries] = sent.map(inOrder) as [Buffer[], Buffer[]];
      assert.equal(framed.length, perSeries.length, `seed ${seed}, export ${k}: requests`);
      framed.forEach((body, i) =>
        assert.equal(Buffer.compare(body, perSeries[i]!), 0, `seed ${seed}, export ${k}, request ${i}`),
      );
      if (k === life.length - 1) lastRequests += framed.length;
      sent[0] = [];
      sent[1] = [];
    }
    for (const exporter of exporters) await exporter.shutdown();
  }
  return lastRequests;
}

describe('the exporter with frames, random lives', () => {
  for (const protocol of ['v1', 'v2'] as const)
    it(`40 lives of 12 exports each, ${protocol}: the bytes of the per-series path, request by request`, async (t) => {
      t.mock.method(Date, 'now', () => T0_MS + 3_600_000);
      const patched = t.mock.method(SeriesFrame.prototype, 'stage');
      await compareLives(40, { protocol }, 5);
      assert.ok(patched.mock.callCount() > 5000, `values written into frames: ${patched.mock.callCount()}`);
    });

  it('with 4 shards: frames laid out by shard, and each shard gets the bytes of the per-series path', async (t) => {
    t.mock.method(Date, 'now', () => T0_MS + 3_600_000);
    const patched = t.mock.method(SeriesFrame.prototype, 'stage');
    const committed = t.mock.method(SeriesFrame.prototype, 'commit');
    // Frames are split at their shard boundaries, never series by series from their labels.
    const labelsRead = t.mock.method(SeriesFrame.prototype, 'labelsOf');
    // At least a histogram point's 7 series per request: no group over a limit (its report reads labels).
    const requests = await compareLives(25, { maxConcurrentRequests: 4 }, 7);
    assert.ok(requests >= 25 * 4, `requests of the last exports: ${requests}`);
    assert.ok(patched.mock.callCount() > 3000, `values written into frames: ${patched.mock.callCount()}`);
    assert.ok(committed.mock.callCount() > 100, `runs committed: ${committed.mock.callCount()}`);
    assert.equal(labelsRead.mock.callCount(), 0, 'labels read back from frames');
  });
});

interface Decoded {
  timeseries: Array<{ labels: Label[]; samples: Array<{ value?: number; timestamp: number }> }>;
}

describe('translate with a sink that takes runs', () => {
  const options: TranslateOptions = {
    addMetricSuffixes: true,
    namespace: '',
    externalLabels: new Map(),
    withoutTargetInfo: true,
    withoutScopeInfo: true,
    promoteResourceAttributes: [],
    withoutStartTimestamps: true,
  };
  const attributes = Array.from({ length: 50 }, (_, i) => ({ id: `${i}` }));
  const rmAt = (k: number, value: (i: number) => number = (i) => i + k + 1) => {
    const endTime = hr(T0_MS + k * 1000);
    const points = attributes.map((a, i) => ({
      attributes: a,
      startTime: endTime,
      endTime,
      value: value(i),
    }));
    return resourceMetrics([gauge({ name: 'level' }, points)]);
  };
  function run(state: ReturnType<typeof newState>, rm: ResourceMetrics) {
    const runs: Array<[EncodedSeriesBlock, number, number]> = [];
    const series: TimeSeries[] = [];
    const sink: SeriesSink = {
      metadata: new Map(),
      add: (s) => series.push(s),
      addRun: (block, from, to) => runs.push([block, from, to]),
    };
    translate(rm, options, state, sink);
    state.series.admit([], T0_MS);
    return { runs: runs.map(([, from, to]) => [from, to]), series: series.map((s) => s.labels[1]!.value) };
  }
  const newState = () => ({
    deltas: new DeltaAccumulator(),
    warned: new Set<string>(),
    series: new SeriesState(),
  });

  it('frames from the first export on, and runs around a point that does not fit', () => {
    const state = newState();
    // New series written into the frame as they are made (frames.ts addNew), sent from it.
    assert.deepEqual(run(state, rmAt(0)), { runs: [[0, 50]], series: [] }, 'first export');
    assert.deepEqual(run(state, rmAt(1)), { runs: [[0, 50]], series: [] }, 'second export');
    assert.deepEqual(run(state, rmAt(2)), { runs: [[0, 50]], series: [] });
    assert.deepEqual(
      run(
        state,
        rmAt(3, (i) => (i === 10 || i === 11 ? 0 : i + 1)),
      ),
      {
        runs: [
          [0, 10],
          [12, 50],
        ],
        series: ['10', '11'],
      },
    );
    // The zeros did not fit the frame (a +0 has no value field): built again with them, then
    // the values back from zero do not fit either, then the frame holds again.
    assert.deepEqual(run(state, rmAt(4)), {
      runs: [
        [0, 10],
        [12, 50],
      ],
      series: ['10', '11'],
    });
    assert.deepEqual(run(state, rmAt(5)).runs, [[0, 50]]);
    // Zeros that stay (an idle counter, an empty bucket) are framed like any value.
    const idle = (i: number) => (i % 3 === 0 ? 0 : i + 1);
    run(state, rmAt(6, idle));
    assert.deepEqual(run(state, rmAt(7, idle)), { runs: [[0, 50]], series: [] });
    // Churn: a quarter of the streams replaced. Runs around them, and a frame again at once.
    for (let i = 0; i < 50; i += 4) attributes[i] = { id: `new${i}` };
    assert.equal(run(state, rmAt(8, idle)).series.length, 13);
    assert.deepEqual(run(state, rmAt(9, idle)), { runs: [[0, 50]], series: [] });
  });

  it('a first export writes its frame up to a point that is not a plain new series, then goes series by series', () => {
    const plain = () =>
      rmAt(0).scopeMetrics[0]!.metrics[0]!.dataPoints as unknown as Array<Record<string, unknown>>;
    const cases: Array<{ name: string; change: (p: Array<Record<string, unknown>>) => void; sent: number }> =
      [
        {
          name: 'another end time',
          change: (p) => void (p[20] = { ...p[20], endTime: hr(T0_MS + 5) }),
          sent: 30,
        },
        {
          name: 'a value that is not a number',
          change: (p) => void (p[20] = { ...p[20], value: '3' }),
          sent: 29,
        },
        {
          name: 'a second point of one series',
          change: (p) => void (p[20] = { ...p[20], attributes: { ...(p[5]!.attributes as object) } }),
          sent: 29,
        },
        // A lone surrogate is repaired the full way: the plan leaves it out.
        {
          name: 'labels that go the full way',
          change: (p) => void (p[20] = { ...p[20], attributes: { id: 'a\ud800' } }),
          sent: 30,
        },
      ];
    for (const c of cases) {
      const state = newState();
      const points = plain();
      c.change(points);
      const rm = resourceMetrics([gauge({ name: 'level' }, points as never)]);
      const runs: Array<[number, number]> = [];
      const series: TimeSeries[] = [];
      const sink: SeriesSink = {
        metadata: new Map(),
        add: (s) => series.push(s),
        addRun: (block, from, to) => {
          runs.push([from, to]);
          assert.equal((block as SeriesFrame).length, 20, `${c.name}: the frame stops at the point`);
        },
      };
      translate(rm, options, state, sink);
      assert.deepEqual(runs, [[0, 20]], c.name);
      assert.equal(series.length, c.sent, `${c.name}: series on their own`);
      assert.deepEqual(state.series.admit(series, T0_MS), [], `${c.name}: stale markers`);
      // Every series sent each time, and a frame again (built at the end of an export, as no later
      // build runs here) once the positions hold: a point left out moved those after it.
      for (let k = 1; k <= 3; k++) {
        const next = run(state, rmAt(k));
        const framed = next.runs.reduce((n, [from, to]) => n + (to as number) - (from as number), 0);
        assert.equal(framed + next.series.length, 50, `${c.name}, export ${k}`);
      }
      assert.deepEqual(run(state, rmAt(4)), { runs: [[0, 50]], series: [] }, c.name);
    }
  });

  it('a first export reads own attributes only, as the full way does: an inherited one is no label', () => {
    const state = newState();
    const endTime = hr(T0_MS);
    const inherited = Object.assign(Object.create({ zone: 'z' }) as Attributes, { id: 'own' });
    const points = [{ id: 'a' }, inherited, { id: 'b' }].map((a, i) => ({
      attributes: a,
      startTime: endTime,
      endTime,
      value: i + 1,
    }));
    const frames: SeriesFrame[] = [];
    const sink: SeriesSink = {
      metadata: new Map(),
      add: () => assert.fail('no series on their own'),
      addRun: (block) => void frames.push(block as SeriesFrame),
    };
    translate(resourceMetrics([gauge({ name: 'level' }, points)]), options, state, sink);
    assert.equal(frames.length, 1);
    const labels = frames[0]!.labelsOf(1);
    assert.ok(labels.some((l) => l.name === 'id' && l.value === 'own'));
    assert.ok(!labels.some((l) => l.name === 'zone'), JSON.stringify(labels));
  });

  it('a first export writes at most 131,072 points into new frames: the metrics past that get theirs after it', () => {
    const state = newState();
    const endTime = hr(T0_MS);
    const points = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => ({
        attributes: { id: `${tag}${i}` },
        startTime: endTime,
        endTime,
        value: i + 1,
      }));
    const rm = resourceMetrics([
      gauge({ name: 'big' }, points(131_000, 'b')),
      gauge({ name: 'small' }, points(72, 's')),
      gauge({ name: 'over' }, points(1, 'o')),
    ]);
    const runs: Array<[string, number, number]> = [];
    const series: TimeSeries[] = [];
    const sink: SeriesSink = {
      metadata: new Map(),
      add: (s) => series.push(s),
      addRun: (block, from, to) => runs.push([block.family, from, to]),
    };
    const batch = translate(rm, options, state, sink) as { laterFrames?: readonly unknown[] };
    assert.deepEqual(runs, [
      ['big', 0, 131_000],
      ['small', 0, 72],
    ]);
    assert.deepEqual(
      series.map((s) => s.family),
      ['over'],
    );
    assert.equal(batch.laterFrames?.length, 3, 'two frames checked after the export, one built');
  });

  it('series of another metric known in the same export: its first export makes no frame, and sends them once', () => {
    const state = newState();
    const endTime = hr(T0_MS);
    const points = attributes.map((a, i) => ({ attributes: a, startTime: endTime, endTime, value: i + 1 }));
    // Two OTel names for one Prometheus name: the second metric's series are the first's.
    const rm = resourceMetrics([gauge({ name: 'level.now' }, points), gauge({ name: 'level_now' }, points)]);
    const runs: Array<[number, number]> = [];
    const series: TimeSeries[] = [];
    const sink: SeriesSink = {
      metadata: new Map(),
      add: (s) => series.push(s),
      addRun: (_block, from, to) => runs.push([from, to]),
    };
    const batch = translate(rm, options, state, sink);
    assert.deepEqual(runs, [[0, 50]]);
    assert.equal(series.length, 0);
    assert.equal(batch.dropped?.duplicate_series, 50);
    assert.equal(state.series.admit([], T0_MS).length, 0);
  });

  it('streams that end: the rest still from the frame, stale markers for the ended ones', () => {
    const state = newState();
    for (let k = 0; k < 3; k++) run(state, rmAt(k));
    const fewer = rmAt(3);
    const points = fewer.scopeMetrics[0]!.metrics[0]!.dataPoints;
    points.length = 40;
    const runs: Array<[number, number]> = [];
    const sink: SeriesSink = {
      metadata: new Map(),
      add: () => assert.fail('no series on their own'),
      addRun: (_block, from, to) => runs.push([from, to]),
    };
    translate(fewer, options, state, sink);
    assert.deepEqual(runs, [[0, 40]]);
    const stale = state.series.admit([], T0_MS + 3500);
    // Stale markers come in no particular order (SeriesState keeps its records in a split map).
    assert.deepEqual(
      stale.map((s) => s.labels[1]!.value).sort(),
      attributes
        .slice(40)
        .map((a) => a.id)
        .sort(),
    );
    // The ten streams back: new series after the frame's forty, and a frame of fifty again.
    const back = run(state, rmAt(4));
    assert.deepEqual(back.runs, [[0, 40]]);
    assert.deepEqual(
      back.series,
      attributes.slice(40).map((a) => a.id),
    );
    assert.deepEqual(run(state, rmAt(5)), { runs: [[0, 50]], series: [] });
  });

  it('a point that cannot be read drops the frame; the next exports rebuild it', () => {
    const state = newState();
    for (let k = 0; k < 3; k++) run(state, rmAt(k));
    const bad = rmAt(3);
    Object.defineProperty(bad.scopeMetrics[0]!.metrics[0]!.dataPoints[20], 'value', {
      get: () => {
        throw new Error('unreadable');
      },
    });
    const sink: SeriesSink = { metadata: new Map(), add: () => {}, addRun: () => {} };
    const batch = translate(bad, options, state, sink);
    assert.match(batch.problems?.[0] ?? '', /metric "level" not sent: unreadable/);
    // Its series were not sent: stale now, and new records next time.
    assert.equal(state.series.admit([], T0_MS).length, 50);
    assert.equal(run(state, rmAt(4)).series.length, 50, 'all new again: no frame');
    assert.equal(run(state, rmAt(5)).series.length, 50, 'a frame built');
    assert.deepEqual(run(state, rmAt(6)), { runs: [[0, 50]], series: [] });
  });
});
