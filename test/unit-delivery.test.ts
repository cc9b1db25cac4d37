import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { TimeSeries } from '../src/model.js';
import { seriesKey } from '../src/model.js';
import { seriesSize, splitIntoChunks, utf8Length } from '../src/deliver/batching.js';
import type { PostResult } from '../src/deliver/http.js';
import { backoffDelay, classify, parseRetryAfter } from '../src/deliver/retry.js';
import { Spool } from '../src/deliver/spool.js';
import { ProtobufWriter } from '../src/wire/protobuf-writer.js';
import { encodeWriteRequest } from '../src/wire/rw1.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');

function answer(status: number, headers: Record<string, string> = {}): PostResult {
  return { status, statusText: '', headers, bodyPrefix: '' };
}

describe('retry classification (RW1 §Retries & Backoff)', () => {
  const table: Array<[number, 'success' | 'retry' | 'permanent']> = [
    [200, 'success'],
    [204, 'success'],
    [400, 'permanent'],
    [401, 'permanent'],
    [403, 'permanent'],
    [404, 'permanent'],
    [409, 'permanent'],
    [413, 'permanent'],
    [415, 'permanent'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [504, 'retry'],
  ];
  for (const [status, kind] of table) {
    it(`HTTP ${status} → ${kind}`, () => assert.equal(classify(answer(status), NOW).kind, kind));
  }
  it('network errors and timeouts are retried', () => {
    assert.equal(classify(new Error('ECONNRESET'), NOW).kind, 'retry');
  });
  it('429 and 503 carry Retry-After', () => {
    assert.deepEqual(classify(answer(429, { 'retry-after': '3' }), NOW), {
      kind: 'retry',
      retryAfterMs: 3000,
    });
    assert.deepEqual(classify(answer(503, { 'retry-after': '1' }), NOW), {
      kind: 'retry',
      retryAfterMs: 1000,
    });
  });
});

describe('parseRetryAfter (RFC 9110 §10.2.3)', () => {
  const table: Array<[string | undefined, number | undefined]> = [
    [undefined, undefined],
    ['', undefined],
    ['0', undefined],
    ['1', 1000],
    [' 120 ', 120_000],
    ['-1', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    [new Date(NOW + 5000).toUTCString(), 5000],
    [new Date(NOW - 5000).toUTCString(), undefined],
  ];
  for (const [value, expected] of table) {
    it(`${JSON.stringify(value)} → ${expected}`, () => assert.equal(parseRetryAfter(value, NOW), expected));
  }
});

describe('backoffDelay', () => {
  it('doubles from the minimum, capped, with at most 20% taken off', () => {
    const high = () => 0; // no jitter
    const low = () => 0.999999; // most jitter
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, 30, 500, high)),
      [30, 60, 120, 240, 480, 500, 500],
    );
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, 30, 500, low)),
      [24, 48, 96, 192, 384, 400],
    );
  });
  it('each delay is at least 0.8× the one before, whatever the jitter', () => {
    for (let trial = 0; trial < 200; trial++) {
      let previous = 0;
      for (let n = 1; n < 12; n++) {
        const d = backoffDelay(n, 10, 1000);
        assert.ok(d >= 0.8 * previous, `${d} after ${previous}`);
        assert.ok(d <= 1000);
        previous = d;
      }
    }
  });
  it('never 0, even with a zero minimum', () => assert.equal(backoffDelay(1, 0, 0), 1));
});

function series(name: string, extra: Record<string, string> = {}, samples = 1, group?: number): TimeSeries {
  const labels = [
    { name: '__name__', value: name },
    ...Object.entries(extra).map(([n, v]) => ({ name: n, value: v })),
  ].sort((a, b) => (a.name < b.name ? -1 : 1));
  const s: TimeSeries = {
    key: seriesKey(labels),
    labels,
    family: name,
    samples: Array.from({ length: samples }, (_, i) => ({ value: i, timestampMs: NOW + i })),
  };
  return group === undefined ? s : { ...s, group };
}

describe('splitIntoChunks', () => {
  it('splits at maxSamples, between series, in order', () => {
    const all = Array.from({ length: 5 }, (_, i) => series(`m${i}`, {}, 2));
    const chunks = splitIntoChunks(all, { maxSamples: 4, maxBytes: 1e9 });
    assert.deepEqual(
      chunks.map((c) => c.series.map((s) => s.family)),
      [['m0', 'm1'], ['m2', 'm3'], ['m4']],
    );
    assert.deepEqual(
      chunks.map((c) => c.samples),
      [4, 4, 2],
    );
  });
  it('never separates the series of one histogram point', () => {
    const point = (g: number) =>
      ['0.5', '1', '+Inf']
        .map((le) => series('h_bucket', { le, p: String(g) }, 1, g))
        .concat([series('h_sum', { p: String(g) }, 1, g), series('h_count', { p: String(g) }, 1, g)]);
    const all = [...point(0), ...point(1), series('lone'), ...point(2)];
    const chunks = splitIntoChunks(all, { maxSamples: 7, maxBytes: 1e9 });
    for (const c of chunks) {
      const groups = new Set(c.series.map((s) => s.group));
      for (const g of groups) {
        if (g === undefined) continue;
        assert.equal(c.series.filter((s) => s.group === g).length, 5, `point ${g} whole in one request`);
      }
    }
    assert.deepEqual(
      chunks.map((c) => c.samples),
      [5, 6, 5],
    );
  });
  it('maxBytes holds against the real encoded size', () => {
    const all = Array.from({ length: 300 }, (_, i) =>
      series('bytes_metric', { i: String(i), pad: 'x'.repeat(i % 50) }),
    );
    const maxBytes = 2048;
    const chunks = splitIntoChunks(all, { maxSamples: 1e9, maxBytes });
    assert.ok(chunks.length > 3);
    assert.equal(chunks.flatMap((c) => c.series).length, 300);
    for (const c of chunks) {
      const size = encodeWriteRequest(c.series, [], new ProtobufWriter()).length;
      assert.equal(size, c.bytes, 'estimate is exact for float samples');
      assert.ok(size <= maxBytes, `${size} > ${maxBytes}`);
    }
  });
  it('a group over the limits goes alone and is reported, not dropped', () => {
    const big = series('big', { a: 'y'.repeat(3000) });
    const reported: number[] = [];
    const chunks = splitIntoChunks(
      [series('a'), big, series('b')],
      { maxSamples: 10, maxBytes: 1024 },
      (_labels, _others, _s, b) => reported.push(b),
    );
    assert.deepEqual(
      chunks.map((c) => c.series.map((s) => s.family)),
      [['a'], ['big'], ['b']],
    );
    assert.equal(reported.length, 1);
    assert.ok((reported[0] ?? 0) > 3000);
  });
  it('seriesSize counts UTF-8 bytes', () => {
    for (const text of ['abc', 'é', '€', '😀', 'a\ud800b']) {
      assert.equal(utf8Length(text), Buffer.byteLength(text), text);
    }
    const s = series('utf8', { v: 'ünïcödé 😀' });
    assert.equal(seriesSize(s), encodeWriteRequest([s], [], new ProtobufWriter()).length);
  });
});

describe('Spool', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'rw-spool-unit-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const limits = { maxBytes: 1e9, maxAgeMillis: 3_600_000 };
  const body = (n: number) => Buffer.alloc(n, 7);

  it('writes atomically, lists oldest first, reads back exactly', () => {
    const d = dir();
    const spool = new Spool(d, limits, () => assert.fail('nothing dropped'));
    spool.write({ protocol: 'v1', body: body(10), samples: 3, histograms: 1 }, NOW + 2);
    spool.write({ protocol: 'v2', body: body(20), samples: 5, histograms: 0 }, NOW + 1);
    assert.ok(
      readdirSync(d).every((n) => n.endsWith('.prw')),
      'no temporary file left',
    );
    const entries = spool.pending(NOW + 10);
    assert.deepEqual(
      entries.map((e) => e.createdMs),
      [NOW + 1, NOW + 2],
    );
    const first = spool.read(entries[0]!);
    assert.deepEqual(first, {
      protocol: 'v2',
      body: body(20),
      samples: 5,
      histograms: 0,
      createdMs: NOW + 1,
    });
    spool.remove(entries[0]!);
    assert.equal(spool.pending(NOW + 10).length, 1);
  });

  it('corrupt files are moved aside and reported, not crashed on', () => {
    const d = dir();
    const drops: string[] = [];
    const spool = new Spool(d, limits, (reason, samples) => drops.push(`${reason}:${samples}`));
    const { path } = spool.write({ protocol: 'v1', body: body(100), samples: 9, histograms: 0 }, NOW);
    const bytes = readFileSync(path);
    bytes[60] = 0; // damage the body
    writeFileSync(path, bytes);
    writeFileSync(join(d, `${String(NOW + 1).padStart(15, '0')}-1-000000.prw`), 'garbage');
    const entries = spool.pending(NOW);
    assert.equal(entries.length, 2);
    assert.equal(spool.read(entries[0]!), undefined);
    assert.equal(spool.read(entries[1]!), undefined);
    assert.deepEqual(drops, ['spool_corrupt:9', 'spool_corrupt:0']);
    assert.deepEqual(readdirSync(d).filter((n) => n.endsWith('.corrupt')).length, 2);
    assert.equal(spool.pending(NOW).length, 0);
  });

  it('deletes expired files and keeps the directory under maxBytes, oldest first', () => {
    const d = dir();
    const drops: string[] = [];
    const spool = new Spool(d, { maxBytes: 350, maxAgeMillis: 1000 }, (reason, samples) =>
      drops.push(`${reason}:${samples}`),
    );
    spool.write({ protocol: 'v1', body: body(100), samples: 1, histograms: 0 }, NOW);
    spool.write({ protocol: 'v1', body: body(100), samples: 2, histograms: 0 }, NOW + 1);
    spool.write({ protocol: 'v1', body: body(100), samples: 3, histograms: 0 }, NOW + 2); // 3 × 148 > 350
    assert.deepEqual(drops, ['spool_full:1']);
    assert.equal(spool.pending(NOW + 500).length, 2);
    assert.equal(spool.pending(NOW + 1010).length, 0);
    assert.deepEqual(drops, ['spool_full:1', 'spool_expired:2', 'spool_expired:3']);
  });

  it('removes leftovers of interrupted writes once they are old', () => {
    const d = dir();
    const spool = new Spool(d, limits, () => {});
    const tmp = join(d, 'x.prw.tmp');
    writeFileSync(tmp, 'half');
    spool.pending(Date.now());
    assert.ok(readdirSync(d).includes('x.prw.tmp'), 'a recent one may be another process writing');
    const old = new Date(Date.now() - 120_000);
    utimesSync(tmp, old, old);
    spool.pending(Date.now());
    assert.ok(!readdirSync(d).includes('x.prw.tmp'));
  });
});
