import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MetricType,
  ResetHint,
  seriesKey,
  type Label,
  type MetricFamilyMetadata,
  type NativeHistogram,
  type Sample,
  type TimeSeries,
} from '../src/model.js';
import { formatDebugText, formatNativeHistogram, formatNumber } from '../src/wire/debug-text.js';

const T = 1_700_000_000_000;

function series(
  family: string,
  labels: Record<string, string>,
  samples: Array<number | Partial<Sample>>,
): TimeSeries {
  const list: Label[] = Object.entries(labels)
    .map(([name, value]) => ({ name, value }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  return {
    key: seriesKey(list),
    labels: list,
    family,
    samples: samples.map((s) =>
      typeof s === 'number' ? { value: s, timestampMs: T } : { value: 0, timestampMs: T, ...s },
    ),
  };
}

function meta(familyName: string, type: MetricType, help = ''): [string, MetricFamilyMetadata] {
  return [familyName, { familyName, type, help, unit: '' }];
}

describe('formatDebugText', () => {
  it('prints the header, one TYPE line per family and a blank line', () => {
    const text = formatDebugText(
      7,
      [
        series('up', { __name__: 'up', job: 'a' }, [1]),
        series('jobs_total', { __name__: 'jobs_total' }, [3]),
        series('up', { __name__: 'up', job: 'b' }, [0]),
      ],
      new Map([meta('up', MetricType.GAUGE), meta('jobs_total', MetricType.COUNTER)]),
    );
    assert.equal(
      text,
      '[DEBUG] remote_write_req_seq: 7\n' +
        '# TYPE up gauge\nup{job="a"} 1\nup{job="b"} 0\n' +
        '# TYPE jobs_total counter\njobs_total 3\n\n',
    );
  });

  it('orders a classic histogram as buckets by le, _count, _sum, per label set', () => {
    const h = 'd_seconds';
    const mk = (suffix: string, w: string, v: number, le?: string) =>
      series(h, { __name__: h + suffix, worker: w, ...(le ? { le } : {}) }, [v]);
    // The exporter's order: buckets, _sum, _count; and `le` sorted as text here ("10" < "5").
    const input = [
      mk('_bucket', 'a', 1, '10'),
      mk('_bucket', 'a', 0, '5'),
      mk('_bucket', 'a', 2, '+Inf'),
      mk('_sum', 'a', 12.5),
      mk('_count', 'a', 2),
      mk('_bucket', 'b', 1, '5'),
      mk('_bucket', 'b', 1, '+Inf'),
      mk('_sum', 'b', 1),
      mk('_count', 'b', 1),
    ];
    assert.equal(
      formatDebugText(1, input, new Map([meta(h, MetricType.HISTOGRAM)])),
      [
        '[DEBUG] remote_write_req_seq: 1',
        '# TYPE d_seconds histogram',
        'd_seconds_bucket{worker="a",le="5"} 0',
        'd_seconds_bucket{worker="a",le="10"} 1',
        'd_seconds_bucket{worker="a",le="+Inf"} 2',
        'd_seconds_count{worker="a"} 2',
        'd_seconds_sum{worker="a"} 12.5',
        'd_seconds_bucket{worker="b",le="5"} 1',
        'd_seconds_bucket{worker="b",le="+Inf"} 1',
        'd_seconds_count{worker="b"} 1',
        'd_seconds_sum{worker="b"} 1',
        '',
        '',
      ].join('\n'),
    );
  });

  const cases: Array<[string, TimeSeries, string]> = [
    [
      'escapes backslash, quote and newline in label values',
      series('m', { __name__: 'm', path: 'C:\\tmp\\"x"\nnext' }, [1]),
      'm{path="C:\\\\tmp\\\\\\"x\\"\\nnext"} 1',
    ],
    [
      'prints labels in name order, no __name__',
      series('m', { __name__: 'm', b: '2', a: '1' }, [1]),
      'm{a="1",b="2"} 1',
    ],
    ['+Inf', series('m', { __name__: 'm' }, [Infinity]), 'm +Inf'],
    ['-Inf', series('m', { __name__: 'm' }, [-Infinity]), 'm -Inf'],
    ['NaN value', series('m', { __name__: 'm' }, [NaN]), 'm NaN'],
    ['a stale marker', series('m', { __name__: 'm' }, [{ stale: true }]), 'm NaN # stale'],
    ['shortest round-trip decimal', series('m', { __name__: 'm' }, [0.1 + 0.2]), 'm 0.30000000000000004'],
    ['large numbers as JavaScript prints them', series('m', { __name__: 'm' }, [1e21]), 'm 1e+21'],
    ['a series without __name__', series('m', { a: 'x' }, [1]), '{a="x"} 1'],
    ['one line per sample', series('m', { __name__: 'm' }, [1, 2]), 'm 1\nm 2'],
    [
      'a UTF-8 label name, quoted',
      series('m', { __name__: 'm', 'http.method': 'GET' }, [1]),
      'm{"http.method"="GET"} 1',
    ],
  ];
  for (const [what, s, line] of cases) {
    it(what, () => {
      const text = formatDebugText(1, [s], new Map([meta('m', MetricType.GAUGE)]));
      assert.equal(text, `[DEBUG] remote_write_req_seq: 1\n# TYPE m gauge\n${line}\n\n`);
    });
  }

  it('quotes a UTF-8 metric name, inside the braces and in HELP and TYPE (text format of Prometheus 3)', () => {
    const s = [
      series('http.server.duration', { __name__: 'http.server.duration', 'url.scheme': 'a"b' }, [1]),
    ];
    assert.equal(
      formatDebugText(3, s, new Map([meta('http.server.duration', MetricType.GAUGE, 'Time')])),
      '[DEBUG] remote_write_req_seq: 3\n# HELP "http.server.duration" Time\n# TYPE "http.server.duration" gauge\n' +
        '{"http.server.duration","url.scheme"="a\\"b"} 1\n\n',
    );
  });

  it('says unknown without metadata, and prints HELP escaped when there is one', () => {
    const s = [series('a', { __name__: 'a' }, [1]), series('b', { __name__: 'b' }, [2])];
    assert.equal(
      formatDebugText(2, s, new Map([meta('b', MetricType.COUNTER, 'Jobs\\done\nok')])),
      '[DEBUG] remote_write_req_seq: 2\n# TYPE a unknown\na 1\n# HELP b Jobs\\\\done\\nok\n# TYPE b counter\nb 2\n\n',
    );
  });

  it('prints timestamps only when asked', () => {
    const s = [
      series('m', { __name__: 'm' }, [
        { value: 1, timestampMs: T + 5 },
        { stale: true, timestampMs: T + 9 },
      ]),
    ];
    const m = new Map([meta('m', MetricType.GAUGE)]);
    assert.equal(
      formatDebugText(1, s, m, { timestamps: true }).split('\n').slice(2, 4).join('|'),
      `m 1 ${T + 5}|m NaN ${T + 9} # stale`,
    );
    assert.doesNotMatch(formatDebugText(1, s, m), new RegExp(String(T)));
  });
});

describe('formatNumber', () => {
  for (const [value, text] of [
    [0, '0'],
    [85, '85'],
    [12.8, '12.8'],
    [-2.5, '-2.5'],
    [1e-7, '1e-7'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [NaN, 'NaN'],
  ] as const) {
    it(`${value} → ${text}`, () => assert.equal(formatNumber(value), text));
  }
});

describe('formatNativeHistogram', () => {
  const base: NativeHistogram = {
    count: 0,
    sum: 0,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    negativeSpans: [],
    negativeDeltas: [],
    positiveSpans: [],
    positiveDeltas: [],
    resetHint: ResetHint.UNKNOWN,
    timestampMs: T,
  };
  const cases: Array<[string, Partial<NativeHistogram>, string]> = [
    [
      'schema 0: bucket i covers (2^(i-1), 2^i], spans skip gaps',
      {
        count: 3,
        sum: 12.8,
        positiveSpans: [
          { offset: 0, length: 1 },
          { offset: 1, length: 1 },
        ],
        positiveDeltas: [1, 1],
      },
      '{count:3, sum:12.8, schema:0, zero_count:0, buckets: (0.5,1]:1 (2,4]:2}',
    ],
    [
      'deltas accumulate and empty buckets are left out',
      { count: 4, sum: 9, positiveSpans: [{ offset: 1, length: 3 }], positiveDeltas: [2, -2, 2] },
      '{count:4, sum:9, schema:0, zero_count:0, buckets: (1,2]:2 (4,8]:2}',
    ],
    [
      'schema 1: base √2',
      { count: 1, sum: 1.3, schema: 1, positiveSpans: [{ offset: 1, length: 1 }], positiveDeltas: [1] },
      '{count:1, sum:1.3, schema:1, zero_count:0, buckets: (1,1.4142135623730951]:1}',
    ],
    [
      'schema -1: base 4',
      { count: 1, sum: 10, schema: -1, positiveSpans: [{ offset: 2, length: 1 }], positiveDeltas: [1] },
      '{count:1, sum:10, schema:-1, zero_count:0, buckets: (4,16]:1}',
    ],
    [
      'negative buckets from the most negative, then the zero bucket threshold',
      {
        count: 4,
        sum: -5,
        zeroThreshold: 1e-128,
        zeroCount: 1,
        negativeSpans: [{ offset: 1, length: 2 }],
        negativeDeltas: [1, 1],
      },
      '{count:4, sum:-5, schema:0, zero_threshold:1e-128, zero_count:1, buckets: [-4,-2):2 [-2,-1):1}',
    ],
    [
      'custom buckets (schema -53) from customValues, the last one up to +Inf',
      {
        count: 3,
        sum: 20,
        schema: -53,
        customValues: [1, 5],
        positiveSpans: [{ offset: 0, length: 3 }],
        positiveDeltas: [1, 0, 0],
      },
      '{count:3, sum:20, schema:-53, zero_count:0, buckets: (-Inf,1]:1 (1,5]:1 (5,+Inf]:1}',
    ],
    ['no buckets', {}, '{count:0, sum:0, schema:0, zero_count:0, buckets:}'],
  ];
  for (const [what, fields, text] of cases) {
    it(what, () => assert.equal(formatNativeHistogram({ ...base, ...fields }), text));
  }

  it('prints native histogram series, and a stale one as NaN', () => {
    const labels: Label[] = [
      { name: '__name__', value: 'lat' },
      { name: 'w', value: '1' },
    ];
    const s: TimeSeries = {
      key: seriesKey(labels),
      labels,
      family: 'lat',
      samples: [],
      histograms: [
        { ...base, count: 1, sum: 0.7, positiveSpans: [{ offset: 0, length: 1 }], positiveDeltas: [1] },
        { ...base, stale: true },
      ],
    };
    assert.equal(
      formatDebugText(3, [s], new Map([meta('lat', MetricType.HISTOGRAM)])),
      '[DEBUG] remote_write_req_seq: 3\n# TYPE lat histogram\n' +
        'lat{w="1"} {count:1, sum:0.7, schema:0, zero_count:0, buckets: (0.5,1]:1}\nlat{w="1"} NaN # stale\n\n',
    );
  });
});
