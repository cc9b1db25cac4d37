/**
 * The per-series cache (steady-state/series-state.ts): a steady-state export reuses each series'
 * encoded labels, found from the attributes object. Speed must never cost correctness: what the
 * cache produces is checked against the uncached path and against protobufjs, byte for byte, and
 * every way the cache could go stale is exercised.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Attributes } from '@opentelemetry/api';
import protobuf from 'protobufjs';
import type { Label, TimeSeries } from '../src/model.js';
import { DeltaAccumulator } from '../src/translate/delta.js';
import { CachedSeries, MetricStreams, SeriesState } from '../src/steady-state/series-state.js';
import * as record from '../src/steady-state/series-record.js';
import { FramedRecords, newRecord, type SeriesRecord } from '../src/steady-state/series-record.js';
import { SeriesFrame } from '../src/wire/series-frame.js';
import { translate, type TranslateOptions } from '../src/translate/translate.js';
import { decodeLabelFields, encodeLabelFields } from '../src/wire/label-fields.js';
import { ProtobufWriter } from '../src/wire/protobuf-writer.js';
import { encodeWriteRequest } from '../src/wire/rw1.js';
import { splitIntoChunks } from '../src/deliver/batching.js';
import { T0_MS, gauge, histogram, histogramValue, point, resourceMetrics, sum } from './helpers/otel.js';

const root = protobuf.loadSync(fileURLToPath(new URL('../proto/remote.proto', import.meta.url)));
const WriteRequest = root.lookupType('prometheus.WriteRequest');

const options: TranslateOptions = {
  addMetricSuffixes: true,
  namespace: '',
  externalLabels: new Map(),
  withoutTargetInfo: true,
  withoutScopeInfo: true,
  promoteResourceAttributes: [],
};

function newState(series = new SeriesState()) {
  return { deltas: new DeltaAccumulator(), warned: new Set<string>(), series };
}

type State = ReturnType<typeof newState>;

/** One export through translate and admit, as the exporter does it. */
function exportSeries(state: State, rm: ReturnType<typeof resourceMetrics>, nowMs = T0_MS): TimeSeries[] {
  const batch = translate(rm, options, state);
  const stale = state.series.admit(batch.series, nowMs, batch.metadata);
  return batch.series.concat(stale);
}

const labelsOf = (s: TimeSeries): Record<string, string> =>
  Object.fromEntries(s.labels.map((l) => [l.name, l.value]));

/** protobufjs's encoding of the same series, from plain label and sample objects. */
function reference(series: readonly TimeSeries[]): Buffer {
  const message = WriteRequest.fromObject({
    timeseries: series.map((s) => ({
      labels: s.labels.map((l) => ({ name: l.name, value: l.value })),
      samples: s.samples.map((x) => ({ value: x.value, timestamp: x.timestampMs })),
    })),
  });
  return Buffer.from(WriteRequest.encode(message).finish());
}

/** The same series without the cache's encoded labels: the encoder's general path. */
function uncached(series: readonly TimeSeries[]): TimeSeries[] {
  return series.map((s) => ({ key: s.key, labels: [...s.labels], family: s.family, samples: s.samples }));
}

describe('label fields', () => {
  const table: Array<[string, Label[]]> = [
    ['one label', [{ name: '__name__', value: 'up' }]],
    [
      'several, sorted',
      [
        { name: '__name__', value: 'http_requests_total' },
        { name: 'job', value: 'api' },
        { name: 'method', value: 'GET' },
      ],
    ],
    ['UTF-8 values', [{ name: 'city', value: 'Zürich 東京 🚀' }]],
    ['a value of 300 bytes (2-byte lengths)', [{ name: 'blob', value: 'x'.repeat(300) }]],
  ];
  for (const [name, labels] of table) {
    it(`${name}: the bytes protobufjs writes for the labels field, and back`, () => {
      const encoded = encodeLabelFields(labels);
      const full = Buffer.from(
        WriteRequest.encode(WriteRequest.fromObject({ timeseries: [{ labels }] })).finish(),
      );
      // WriteRequest = field 1 (tag, length) wrapping the TimeSeries, whose content is the labels.
      const bytes = Buffer.from(encoded, 'latin1');
      assert.equal(Buffer.compare(full.subarray(full.length - bytes.length), bytes), 0);
      assert.deepEqual(decodeLabelFields(encoded), labels);
    });
  }
});

describe('steady state: the cache path is byte for byte the uncached path and protobufjs', () => {
  const attributes = Array.from({ length: 50 }, (_, i) => ({
    route: `/r/${i}`,
    city: i % 2 ? 'Zürich' : '東京',
    code: i,
    ok: i % 3 === 0,
    empty: '',
  }));
  const rmAt = (k: number) =>
    resourceMetrics([
      sum(
        { name: 'requests' },
        attributes.map((a, i) => point(i * k, a, T0_MS + k * 1000)),
      ),
      gauge({ name: 'temperature', unit: 'Cel' }, [point(-0.5 * k, { room: 'a' }, T0_MS + k * 1000)]),
      histogram({ name: 'latency', unit: 's' }, [
        point(histogramValue([0.1, 1], [k, 1, 0], 2.5 * k), { route: '/h' }, T0_MS + k * 1000),
      ]),
    ]);

  it('every export, cold and warm, encodes to the same bytes as protobufjs and the general path', () => {
    const state = newState();
    const writer = new ProtobufWriter(16);
    for (let k = 0; k < 4; k++) {
      const series = exportSeries(state, rmAt(k));
      assert.ok(series.every((s) => s instanceof CachedSeries && s.encodedLabels !== undefined));
      const ours = Buffer.from(encodeWriteRequest(series, [], writer));
      assert.equal(Buffer.compare(ours, reference(series)), 0, `export ${k} vs protobufjs`);
      assert.equal(Buffer.compare(ours, encodeWriteRequest(uncached(series), [])), 0, `export ${k}`);
    }
  });

  it('labels decoded from the cache are the ones translate built', () => {
    const state = newState();
    exportSeries(state, rmAt(1));
    const warm = exportSeries(state, rmAt(2));
    const fresh = exportSeries(newState(), rmAt(2));
    assert.deepEqual(warm.map(labelsOf), fresh.map(labelsOf));
    const first = warm.find((s) => labelsOf(s)['route'] === '/r/1');
    assert.deepEqual(labelsOf(first!), {
      __name__: 'requests_total',
      city: 'Zürich',
      code: '1',
      job: 'shop',
      instance: 'i-1',
      ok: 'false',
      route: '/r/1',
    });
  });

  it('batching sizes of cached series are exact', () => {
    const state = newState();
    exportSeries(state, rmAt(1));
    const series = exportSeries(state, rmAt(2));
    const [chunk] = splitIntoChunks(series, { maxSamples: 10_000, maxBytes: 10_000_000 });
    assert.equal(chunk!.bytes, encodeWriteRequest(series, []).length);
  });
});

describe('the cache never serves stale labels', () => {
  const counter = (attributes: Attributes, k: number) =>
    resourceMetrics([sum({ name: 'jobs' }, [point(k, attributes, T0_MS + k * 1000)])]);

  it('an attributes object changed in place: a value, a new key, a removed key', () => {
    const state = newState();
    const attributes: Attributes = { queue: 'a', region: 'eu' };
    assert.equal(labelsOf(exportSeries(state, counter(attributes, 1))[0]!)['queue'], 'a');
    attributes['queue'] = 'b';
    let series = exportSeries(state, counter(attributes, 2));
    assert.equal(labelsOf(series[0]!)['queue'], 'b');
    assert.equal(labelsOf(series[1]!)['queue'], 'a', 'the old series gets its stale marker');
    assert.equal(series[1]!.samples[0]!.stale, true);
    attributes['tier'] = 'gold';
    series = exportSeries(state, counter(attributes, 3));
    assert.equal(labelsOf(series[0]!)['tier'], 'gold');
    delete attributes['region'];
    series = exportSeries(state, counter(attributes, 4));
    assert.equal(labelsOf(series[0]!)['region'], undefined);
    assert.equal(state.series.size, 1, 'only the live series is remembered');
  });

  it('an array value changed in place is seen (such attributes are not cached)', () => {
    const state = newState();
    const tags = ['a'];
    // The same attributes object at both exports, as an SDK hands it over: only its array changes.
    const attributes = { tags };
    exportSeries(state, counter(attributes, 1));
    tags.push('b');
    const [s] = exportSeries(state, counter(attributes, 2));
    assert.equal(labelsOf(s!)['tags'], '["a","b"]');
  });

  it('positions keep the keys of their own object, whatever the keys of the point before', () => {
    const streams = new MetricStreams();
    const recordOf = (n: number) => newRecord(`key${n}`, 'f', false);
    const points: Attributes[] = [
      { a: '1', b: '2' },
      { a: '1' },
      { a: '1', b: '2', c: '3' },
      { b: '2', a: '1' },
    ];
    const records = points.map((_, i) => recordOf(i));
    streams.reserve(points.length, points[0]);
    points.forEach((attributes, i) => streams.set(i, attributes, records[i]!));
    // Found again by the same objects, each at its position: the cache is used.
    points.forEach((attributes, i) => assert.equal(streams.get(i, attributes), records[i], `position ${i}`));
    // A copy with other keys, or a key removed in place, is not that position's.
    assert.equal(streams.get(1, { a: '1', b: '2' }), undefined);
    delete points[2]!['c'];
    assert.equal(streams.get(2, points[2]!), undefined);
  });

  it('one attributes object shared by two metrics gives each its own series', () => {
    const state = newState();
    const shared = { host: 'h1' };
    const rm = (k: number) =>
      resourceMetrics([
        sum({ name: 'a' }, [point(k, shared, T0_MS + k)]),
        sum({ name: 'b' }, [point(k, shared, T0_MS + k)]),
      ]);
    exportSeries(state, rm(1));
    const names = exportSeries(state, rm(2)).map((s) => labelsOf(s)['__name__']);
    assert.deepEqual(names, ['a_total', 'b_total']);
  });

  it('a change of resource attributes is a new set of series', () => {
    const state = newState();
    const attributes = { q: '1' };
    const rm = (instance: string, k: number) =>
      resourceMetrics([sum({ name: 'c' }, [point(k, attributes, T0_MS + k)])], {
        'service.name': 'shop',
        'service.instance.id': instance,
      });
    exportSeries(state, rm('i-1', 1));
    const series = exportSeries(state, rm('i-2', 2));
    assert.deepEqual(
      series.map((s) => [labelsOf(s)['instance'], s.samples[0]!.stale ?? false]),
      [
        ['i-2', false],
        ['i-1', true],
      ],
    );
  });

  it('new histogram bounds rebuild the bucket series', () => {
    const state = newState();
    const attributes = { route: '/' };
    const rm = (bounds: number[], k: number) =>
      resourceMetrics([
        histogram({ name: 'lat' }, [
          point(histogramValue(bounds, [...bounds.map(() => 1), 1], 1), attributes, T0_MS + k),
        ]),
      ]);
    exportSeries(state, rm([1, 2], 1));
    const live = exportSeries(state, rm([1, 5], 2)).filter((s) => !s.samples[0]!.stale);
    assert.deepEqual(
      live.map((s) => labelsOf(s)['le']).filter((le) => le !== undefined),
      ['1', '5', '+Inf'],
    );
  });

  it('a series that comes back after its stale marker is sent again, with a new record', () => {
    const state = newState();
    const a = { id: 'a' };
    const b = { id: 'b' };
    const rm = (list: Attributes[], k: number) =>
      resourceMetrics([
        sum(
          { name: 'n' },
          list.map((x) => point(k, x, T0_MS + k * 1000)),
        ),
      ]);
    exportSeries(state, rm([a, b], 1));
    assert.equal(exportSeries(state, rm([a], 2)).length, 2, 'a, and the stale marker of b');
    const back = exportSeries(state, rm([a, b], 3));
    assert.deepEqual(
      back.map((s) => [labelsOf(s)['id'], s.samples[0]!.value, s.samples[0]!.stale ?? false]),
      [
        ['a', 3, false],
        ['b', 3, false],
      ],
    );
    assert.equal(state.series.size, 2);
  });
});

describe('a record keeps its fields packed (steady-state/series-record.ts)', () => {
  const key = encodeLabelFields([{ name: '__name__', value: 'up' }]);
  const frame = SeriesFrame.open('up', 1, T0_MS, false, false);
  const { isEncoded, isEvicted, isHistogram, placedAt, setEvicted, setHistogram } = record;

  for (const slot of [0, 1, 2 ** 20 + 3, 2 ** 28 - 1, 2 ** 28 + 5]) {
    it(`slot ${slot}: the slot and each flag are read back as set, in any order`, () => {
      const r = newRecord(key, 'up', true);
      setHistogram(r, true);
      record.settle(r, frame, slot);
      assert.equal(placedAt(r), slot);
      assert.equal(r.where, frame);
      assert.equal(isHistogram(r), true);
      assert.equal(isEncoded(r), true);
      setEvicted(r, true);
      setHistogram(r, false);
      assert.deepEqual([placedAt(r), isHistogram(r), isEvicted(r), isEncoded(r)], [slot, false, true, true]);
    });
  }

  it('a key string until settled; a record not encoded never takes a frame', () => {
    const r = newRecord(key, 'up', true);
    assert.equal(r.where, key);
    assert.equal(record.keyOf(r), key);
    const plain = newRecord('k', 'up', false, [{ name: '__name__', value: 'up' }]);
    record.settle(plain, frame, 1);
    assert.equal(plain.where, 'k');
    assert.equal(isEncoded(plain), false);
    assert.equal(record.keyOf(plain), 'k');
    assert.deepEqual(record.labelsOf(plain), [{ name: '__name__', value: 'up' }]);
  });

  it("kept by a frame, its export and timestamp are the frame's; released or written, its own", () => {
    const r = newRecord(key, 'up', true);
    record.setSeenInExport(r, 3);
    record.setLastTimestamp(r, T0_MS);
    const owner = new FramedRecords(4, T0_MS + 1000);
    record.keptBy(r, owner);
    owner.adopt({ length: 1, at: () => r });
    assert.equal(record.ownerOf(r), owner);
    assert.deepEqual([record.seenInExport(r), record.lastTimestampOf(r)], [4, T0_MS + 1000]);
    record.setLastTimestamp(r, T0_MS + 1500);
    assert.equal(record.ownerOf(r), undefined, 'a write dissolves the frame');
    assert.deepEqual([record.seenInExport(r), record.lastTimestampOf(r)], [4, T0_MS + 1500]);
  });

  it('a record made in a frame is kept by its owner from the start, its key read from the frame', () => {
    const labels = [
      { name: '__name__', value: 'up' },
      { name: 'job', value: 'j' },
    ];
    const built = SeriesFrame.build('up', [encodeLabelFields(labels)], [1], T0_MS);
    const owner = new FramedRecords(7, T0_MS);
    const r = record.framedRecord(built, 0, 'up', 42, owner);
    assert.equal(record.ownerOf(r), owner);
    assert.deepEqual([record.seenInExport(r), record.lastTimestampOf(r), r.keyHash], [7, T0_MS, 42]);
    assert.equal(record.keyOf(r), encodeLabelFields(labels));
    assert.deepEqual(record.labelsOf(r), labels);
    assert.ok(isEncoded(r) && !isEvicted(r) && !isHistogram(r));
  });

  it('both kinds of record have one shape: the same keys in the same order', () => {
    const owner = new FramedRecords(0, T0_MS);
    const a = newRecord(key, 'up', true);
    const b = record.framedRecord(frame, 3, 'up', 1, owner);
    assert.deepEqual(Object.keys(a), Object.keys(b));
    assert.equal(Object.keys(a).length, 7);
    assert.ok(record.isRecord(a) && !record.isRecord({ records: [], boundaries: [], hasSum: false }));
    assert.equal(record.isRecord(undefined), false);
  });

  it('the shard hash is computed once', () => {
    const r = newRecord(key, 'up', true);
    let calls = 0;
    const hash = (x: SeriesRecord) => (calls++, record.keyOf(x).length);
    assert.equal(record.shardHashOf(r, hash), key.length);
    assert.equal(record.shardHashOf(r, hash), key.length);
    assert.equal(calls, 1);
    assert.deepEqual(record.labelsOf(r), [{ name: '__name__', value: 'up' }], 'decoded labels beside it');
  });
});

describe('eviction', () => {
  it('under churn the state holds only the live series', () => {
    const state = newState();
    let live = Array.from({ length: 100 }, (_, i) => ({ pod: `p${i}` }));
    let next = 100;
    for (let k = 1; k <= 30; k++) {
      // A tenth of the series replaced by new ones every export.
      live = live.map((a, i) => (i % 10 === k % 10 ? { pod: `p${next++}` } : a));
      exportSeries(
        state,
        resourceMetrics([
          sum(
            { name: 'x' },
            live.map((a) => point(k, a, T0_MS + k)),
          ),
        ]),
      );
      assert.equal(state.series.size, 100, `export ${k}`);
    }
  });

  it('series are forgotten one by one, and found again by their labels from new attributes objects', () => {
    const state = newState();
    const rm = (ids: string[], k: number) =>
      resourceMetrics([
        sum(
          { name: 'y' },
          ids.map((id) => point(k, { id }, T0_MS + k)),
        ),
      ]);
    let series = exportSeries(state, rm(['a', 'b', 'c'], 1));
    assert.deepEqual(
      series.map((s) => labelsOf(s)['id']),
      ['a', 'b', 'c'],
    );
    series = exportSeries(state, rm(['a', 'c'], 2));
    assert.deepEqual(
      series.map((s) => [labelsOf(s)['id'], s.samples[0]!.stale ?? false]),
      [
        ['a', false],
        ['c', false],
        ['b', true],
      ],
    );
    assert.equal(state.series.size, 2);
    exportSeries(state, rm(['c'], 3));
    assert.equal(state.series.size, 1);
    // Fresh attributes objects, found by their labels rather than the cache.
    series = exportSeries(state, rm(['c', 'b'], 4));
    assert.deepEqual(
      series.map((s) => labelsOf(s)['id']),
      ['c', 'b'],
    );
    assert.equal(state.series.size, 2);
  });
});
