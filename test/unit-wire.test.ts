import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { compressSync } from 'snappy';
import {
  MetricType,
  seriesKey,
  type Label,
  type MetricFamilyMetadata,
  type TimeSeries,
} from '../src/model.js';
import { decodeWriteRequest } from '../src/wire/decode.js';
import { encodeLabelFields } from '../src/wire/label-fields.js';
import { Int64FieldPair, ProtobufWriter } from '../src/wire/protobuf-writer.js';
import { encodeWriteRequest, encodeWriteRequestSteps, STALE_NAN_BYTES } from '../src/wire/rw1.js';
import { snappyCompress, snappyUncompress } from '../src/wire/snappy.js';

const root = protobuf.loadSync(fileURLToPath(new URL('../proto/remote.proto', import.meta.url)));
const WriteRequest = root.lookupType('prometheus.WriteRequest');

function series(labels: Label[], samples: TimeSeries['samples']): TimeSeries {
  return { key: seriesKey(labels), labels, family: '', samples };
}

const long = 'x'.repeat(300);
const cases: Array<{ name: string; series: TimeSeries[]; metadata: MetricFamilyMetadata[] }> = [
  { name: 'empty request', series: [], metadata: [] },
  {
    name: 'typical series',
    series: [
      series(
        [
          { name: '__name__', value: 'http_requests_total' },
          { name: 'job', value: 'api' },
          { name: 'method', value: 'GET' },
        ],
        [{ value: 1027, timestampMs: 1_700_000_000_123 }],
      ),
      series([{ name: '__name__', value: 'temp' }], [{ value: -12.5, timestampMs: 1_700_000_000_124 }]),
    ],
    metadata: [{ type: MetricType.COUNTER, familyName: 'http_requests_total', help: 'Requests.', unit: '' }],
  },
  {
    name: 'edge values',
    series: [
      series(
        [
          { name: '__name__', value: 'edge' },
          { name: 'unicode', value: 'Grüße 日本 🎉 "quoted" \\ \n' },
          { name: 'long', value: long },
        ],
        [
          { value: 0, timestampMs: 1 },
          { value: Infinity, timestampMs: 2 },
          { value: -Infinity, timestampMs: 3 },
          { value: 5e-324, timestampMs: 4 },
          { value: Number.MAX_VALUE, timestampMs: 2 ** 52 },
          { value: 1, timestampMs: -1000 },
          { value: 3, timestampMs: 0 },
        ],
      ),
    ],
    metadata: [
      { type: MetricType.HISTOGRAM, familyName: 'h', help: 'multi\nline "help" ✓', unit: 'seconds' },
    ],
  },
  {
    name: 'many series (lengths over 2 bytes)',
    series: Array.from({ length: 500 }, (_, i) =>
      series(
        [
          { name: '__name__', value: 'm' },
          { name: 'i', value: String(i) },
          { name: 'pad', value: long.slice(0, i % 200) },
        ],
        [{ value: i / 7, timestampMs: 1_700_000_000_000 + i }],
      ),
    ),
    metadata: [],
  },
  {
    // As translate hands them over: encoded labels and one sample each (the encoder's fast path,
    // whose timestamp field is encoded once for the series that share it).
    name: 'series with encoded labels and one sample each',
    series: Array.from({ length: 40 }, (_, i) => {
      const labels = [
        { name: '__name__', value: 'jobs_total' },
        { name: 'id', value: `s${i}` },
        ...(i % 7 === 0 ? [{ name: 'pad', value: long }] : []),
      ];
      const timestampMs =
        i < 10 ? 1_700_000_000_000 : i < 12 ? 0 : i % 3 === 0 ? 2 ** 52 : 1_700_000_000_000 + i;
      const value = [i + 0.5, 0, -0, NaN, Infinity][i % 5] as number;
      return { ...series(labels, [{ value, timestampMs }]), encodedLabels: encodeLabelFields(labels) };
    }),
    metadata: [],
  },
];

/** The same message through protobufjs's own encoder. */
function reference(c: (typeof cases)[number]): Uint8Array {
  return WriteRequest.encode(
    WriteRequest.fromObject({
      timeseries: c.series.map((s) => ({
        labels: s.labels,
        samples: s.samples.map((x) => ({ value: x.value, timestamp: x.timestampMs })),
      })),
      metadata: c.metadata.map((m) => ({
        type: m.type,
        metricFamilyName: m.familyName,
        help: m.help,
        unit: m.unit,
      })),
    }),
  ).finish();
}

describe('RW1 encoder', () => {
  const writer = new ProtobufWriter(16); // tiny start: exercises growth
  for (const c of cases) {
    it(`${c.name}: byte for byte what protobufjs encodes from proto/`, () => {
      const ours = encodeWriteRequest(c.series, c.metadata, writer);
      assert.equal(Buffer.compare(ours, Buffer.from(reference(c))), 0);
    });
    it(`${c.name}: decodes back to the same values`, () => {
      const decoded = decodeWriteRequest(encodeWriteRequest(c.series, c.metadata), { compressed: false });
      assert.equal(decoded.timeseries.length, c.series.length);
      c.series.forEach((s, i) => {
        assert.deepEqual(decoded.timeseries[i]?.labels, s.labels);
        assert.deepEqual(
          decoded.timeseries[i]?.samples.map((x) => [x.value, x.timestamp]),
          s.samples.map((x) => [x.value, x.timestampMs]),
        );
      });
      assert.deepEqual(
        decoded.metadata.map((m) => m.metricFamilyName),
        c.metadata.map((m) => m.familyName),
      );
    });
  }

  it('writes the stale marker as the exact bits 0x7ff0000000000002', () => {
    const body = encodeWriteRequest(
      [series([{ name: '__name__', value: 'gone' }], [{ value: NaN, timestampMs: 5, stale: true }])],
      [],
    );
    // Sample field 1 (double): tag 0x09, then the 8 bytes.
    const at = body.indexOf(Buffer.from([0x09, ...STALE_NAN_BYTES]));
    assert.ok(at > 0, 'stale marker bytes present');
    assert.equal(body.readBigUInt64LE(at + 1), 0x7ff0000000000002n);
    assert.ok(Number.isNaN(decodeWriteRequest(body, { compressed: false }).timeseries[0]?.samples[0]?.value));
  });

  it('a plain NaN value is not a stale marker', () => {
    const body = encodeWriteRequest(
      [series([{ name: '__name__', value: 'n' }], [{ value: NaN, timestampMs: 5 }])],
      [],
    );
    assert.equal(body.indexOf(Buffer.from([0x09, ...STALE_NAN_BYTES])), -1);
  });
});

describe('Int64FieldPair', () => {
  it('the bytes ProtobufWriter.int64 writes for both fields, each left out at 0, for whatever pair comes next', () => {
    const pair = new Int64FieldPair(2, 3);
    const T = 1_700_000_000_000;
    const cases: Array<[number, number]> = [
      [T, 0],
      [T, 0],
      [T, T - 60_000],
      [0, T],
      [0, 0],
      [-1_000, 5],
      [2 ** 52, 2 ** 31],
      [T, T - 60_000],
    ];
    for (const [a, b] of cases) {
      const w = new ProtobufWriter(8);
      if (a !== 0) w.int64(2, a);
      if (b !== 0) w.int64(3, b);
      assert.deepEqual(Buffer.from(pair.of(a, b)), Buffer.from(w.view()), `${a}, ${b}`);
    }
    // One field by default: the second never written.
    assert.deepEqual(Buffer.from(new Int64FieldPair(2).of(300)), Buffer.from([0x10, 0xac, 0x02]));
  });
});

describe('RW1 encoder in steps', () => {
  it('a 2,000-series request pauses every 256 series when due says so, with the bytes of one go', () => {
    const many = Array.from({ length: 2_000 }, (_, i) =>
      series(
        [
          { name: '__name__', value: 'jobs_total' },
          { name: 'id', value: `s${i}` },
        ],
        [{ value: i, timestampMs: 1_700_000_000_000 }],
      ),
    );
    const expected = Buffer.from(encodeWriteRequest(many, []));
    const steps = encodeWriteRequestSteps(many, [], new ProtobufWriter(), [], () => true);
    let pauses = 0;
    let step = steps.next();
    while (!step.done) {
      pauses++;
      step = steps.next();
    }
    assert.equal(pauses, Math.floor(2_000 / 256));
    assert.equal(Buffer.compare(step.value, expected), 0);
  });
});

describe('snappy', () => {
  it('uses the block format (no stream identifier), the same bytes as snappy.compressSync', () => {
    const body = encodeWriteRequest(cases[3]!.series, []);
    const compressed = snappyCompress(body);
    // The framed format starts with the stream identifier chunk 0xff 06 00 00 "sNaPpY".
    assert.notEqual(compressed[0], 0xff);
    assert.equal(Buffer.compare(compressed, compressSync(body)), 0);
    assert.equal(Buffer.compare(snappyUncompress(compressed), body), 0);
    assert.ok(compressed.length < body.length);
  });
});
