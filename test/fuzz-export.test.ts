/**
 * Property-based test of `export()` with malformed input (fast-check). Each case is one export of
 * well-formed metrics mixed with malformed ones (wrong or missing fields at every level, odd
 * numbers and strings, inconsistent buckets, absurd exponential scales and offsets, points out of
 * time order) to a loopback receiver. It checks that `export()` never throws, calls back exactly
 * once and in bounded time, that every well-formed metric arrives with its values, and that every
 * body is one Prometheus accepts (test/helpers/prometheus-accepts.ts).
 *
 * `npm test` runs a bounded number of cases; `npm run fuzz` (FUZZ_RUNS) runs more. A failure
 * prints its seed; FUZZ_SEED=<seed> replays it. Shapes found this way are kept as regression
 * cases at the end of this file and in test/unit-bad-input.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import { PrometheusRemoteWriteExporter } from '../src/index.js';
import { startMockReceiver, type MockReceiver, type ReceivedRequest } from './helpers/mock-receiver.js';
import { T0_MS } from './helpers/otel.js';
import { fuzzParameters, oddValue } from './helpers/fuzz.js';
import {
  buildExport,
  exportCase,
  seriesOf,
  type ExportCase,
  type GoodMetric,
  type Plain,
} from './helpers/fuzz-export-shapes.js';
import { v1BodyProblems, v2BodyProblems } from './helpers/prometheus-accepts.js';

/** Longest a case may take before it counts as a hang. */
const CASE_TIMEOUT_MS = 10_000;

let receiver: MockReceiver;
before(async () => {
  // Answers as a receiver of both protocols: a 2.0 request gets its Written headers.
  receiver = await startMockReceiver({ fallback: (req) => ({ status: 204, written: !!req.decodedV2 }) });
  diag.disable(); // warnings are expected by the thousand
});
after(() => receiver.close());

let caseNumber = 0;

function newExporter(c: ExportCase): PrometheusRemoteWriteExporter {
  return new PrometheusRemoteWriteExporter({
    url: receiver.url,
    maxRetryElapsedMillis: 0,
    ...c.options,
    explicitHistogramsAsNative: c.options.protocol === 'v2' && c.options.explicitHistogramsAsNative,
  });
}

async function runCase(c: ExportCase): Promise<void> {
  const tag = String(++caseNumber);
  const exporter = newExporter(c);
  try {
    await exportAndCheck(exporter, c, tag, T0_MS + caseNumber * 1000);
  } finally {
    await exporter.shutdown();
  }
}

/**
 * Several exports on one exporter: the same well-formed metrics (names, attribute objects) with
 * new values each time, so that the per-series caches and frames are used, among changing
 * malformed ones.
 */
async function runSequence(cases: ExportCase[]): Promise<void> {
  const tag = `seq${++caseNumber}`;
  const first = cases[0]!;
  const exporter = newExporter(first);
  try {
    for (let k = 0; k < cases.length; k++) {
      const c = cases[k]!;
      const good = first.good.map((m) => ({ ...m, values: m.values.map((v) => v + k * 10) }));
      // A delta counter is sent as its running total.
      const expected = (m: GoodMetric, value: number): number =>
        m.delta && m.kind === 'counter' ? (k + 1) * (value - k * 10) + 10 * ((k * (k + 1)) / 2) : value;
      await exportAndCheck(
        exporter,
        { ...c, good, options: first.options },
        tag,
        T0_MS + caseNumber * 1000 + k * 15_000,
        expected,
        cases.slice(0, k + 1).every((x) => x.bad.length === 0 && x.badScopes.length === 0),
      );
    }
  } finally {
    await exporter.shutdown();
  }
}

async function exportAndCheck(
  exporter: PrometheusRemoteWriteExporter,
  c: ExportCase,
  tag: string,
  endMs: number,
  expected = (_m: GoodMetric, value: number): number => value,
  /** No malformed input in this export nor, for delta totals kept from them, in earlier ones. */
  clean = c.bad.length === 0 && c.badScopes.length === 0,
): Promise<void> {
  const { rm, names } = buildExport(c, endMs, tag);
  const requests: ReceivedRequest[] = [];
  const from = receiver.requests.length;
  {
    const results: ExportResult[] = [];
    let timer: NodeJS.Timeout | undefined;
    const called = new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error('export() did not call back (hang)')), CASE_TIMEOUT_MS);
      assert.doesNotThrow(() =>
        exporter.export(rm, (result) => {
          results.push(result);
          resolve();
        }),
      );
    });
    await called.finally(() => clearTimeout(timer));
    await exporter.forceFlush();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(results.length, 1, 'the callback is called exactly once');
    const result = results[0]!;
    if (result.code === ExportResultCode.FAILED) assert.ok(result.error instanceof Error);
    if (clean) assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message);
    requests.push(...receiver.requests.slice(from));
    for (const r of requests) {
      const problems = r.decodedV2 ? v2BodyProblems(r.raw) : v1BodyProblems(r.raw);
      assert.deepEqual(problems, [], 'a body Prometheus accepts');
    }
    // Every well-formed metric arrived, each point as its own series, with its value.
    const received = seriesOf(requests);
    c.good.forEach((m, i) => {
      const name = names[i]!;
      m.values.forEach((value, j) => {
        const mine = received.filter(
          (s) => (s.labels['__name__'] ?? '').startsWith(name) && s.labels['p'] === String(j),
        );
        assert.ok(mine.length > 0, `${name} point ${j} (${m.kind}) not delivered`);
        if (m.kind === 'gauge' || m.kind === 'counter')
          assert.deepEqual(
            mine.map((s) => s.values),
            [[expected(m, value)]],
            `${name} point ${j}`,
          );
        if (m.kind === 'exponential')
          assert.deepEqual(
            mine.map((s) => s.histograms),
            [1],
          );
      });
    });
    const stats = exporter.stats();
    for (const reason of ['rejected', 'retries_exhausted', 'queue_full', 'internal'] as const)
      assert.equal(stats.samplesDropped[reason], 0, reason);
  }
}

describe('export() with malformed input (property-based)', () => {
  it('never throws, calls back once, delivers every well-formed metric, sends only bodies Prometheus accepts', async () => {
    await fc.assert(fc.asyncProperty(exportCase, runCase), fuzzParameters(150));
  });

  it('the same, over sequences of exports on one exporter (caches and frames in use)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(exportCase, { minLength: 3, maxLength: 6 }), runSequence),
      fuzzParameters(40),
    );
  });

  // Counterexamples found by the properties above, kept as they were reported.
  const regressions: Array<[string, ExportCase]> = [
    [
      // A delta point without an end time passed the check (the first end time was compared
      // with an unset "last valid" one) and broke the delta totals of the whole export.
      'a delta point without endTime beside a good delta histogram (seed 565587821)',
      {
        good: [{ kind: 'histogram', values: [0], delta: true }],
        bad: [
          {
            kind: 'mutated',
            m: { kind: 'exponential', values: [0, 0], delta: true },
            mutations: [
              { at: 276794563, value: 0, remove: true },
              { at: 531602375, value: '', remove: false },
            ],
          },
        ],
        badScopes: [],
        goodFirst: false,
        options: {
          protocol: 'v1',
          explicitHistogramsAsNative: false,
          translationStrategy: 'UnderscoreEscapingWithSuffixes',
          maxSamplesPerSend: 1,
          maxConcurrentRequests: 1,
          withoutScopeInfo: false,
        },
      },
    ],
  ];
  for (const [what, c] of regressions) it(`regression: ${what}`, () => runCase(c));

  it('an unreadable ResourceMetrics: never throws, calls back once with FAILED, sends nothing', async () => {
    const oddResourceMetrics = fc.oneof(
      oddValue,
      fc.record({ resource: oddValue, scopeMetrics: oddValue }),
      fc.record({ resource: fc.record({ attributes: oddValue }), scopeMetrics: fc.constant([]) }),
    );
    const exporter = new PrometheusRemoteWriteExporter({ url: receiver.url });
    const from = receiver.requests.length;
    await fc.assert(
      fc.asyncProperty(oddResourceMetrics, async (rm) => {
        const results: ExportResult[] = [];
        assert.doesNotThrow(() => exporter.export(rm as ResourceMetrics, (r) => results.push(r)));
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(results.length, 1);
        const readable =
          typeof rm === 'object' &&
          rm !== null &&
          Array.isArray((rm as Plain)['scopeMetrics']) &&
          typeof ((rm as Plain)['resource'] as Plain | null)?.['attributes'] === 'object' &&
          ((rm as Plain)['resource'] as Plain)['attributes'] !== null;
        if (!readable) assert.equal(results[0]!.code, ExportResultCode.FAILED);
      }),
      fuzzParameters(200),
    );
    await exporter.forceFlush();
    assert.equal(receiver.requests.length, from, 'nothing sent');
    await exporter.shutdown();
  });
});
