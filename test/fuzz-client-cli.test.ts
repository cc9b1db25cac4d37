/**
 * Property-based tests (fast-check) of what scripts pass in: `RemoteWriteClient` calls with
 * arguments of every wrong kind, and `prw push` command lines. A bad argument is a
 * RemoteWriteClientError (thrown by the synchronous calls, a rejection for the others) or, for
 * `prw`, one `prw: …` line on stderr and exit code 2; nothing else, never a secret in the output,
 * and what was accepted arrives in bodies Prometheus accepts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { RemoteWriteClient, RemoteWriteClientError } from '../src/index.js';
import { main } from '../src/cli/main.js';
import { runNode } from './helpers/child.js';
import { startMockReceiver, type MockReceiver } from './helpers/mock-receiver.js';
import { fuzzParameters, oddString, oddValue } from './helpers/fuzz.js';
import { v1BodyProblems, v2BodyProblems } from './helpers/prometheus-accepts.js';

const PRW = fileURLToPath(new URL('../dist/prw.js', import.meta.url));
const SECRET = 'S3cr3tValue9f8e';

let receiver: MockReceiver;
before(async () => {
  receiver = await startMockReceiver({ fallback: (req) => ({ status: 204, written: !!req.decodedV2 }) });
});
after(() => receiver.close());

function assertBodies(from: number): void {
  for (const r of receiver.requests.slice(from)) {
    assert.deepEqual(r.decodedV2 ? v2BodyProblems(r.raw) : v1BodyProblems(r.raw), []);
  }
}

// ---- RemoteWriteClient calls ------------------------------------------------------------------

const SANE_NAMES: unknown[] = ['jobs', 'queue_depth', 'lat_seconds', 'a:b'];
const metricName = fc.oneof(fc.constantFrom(...SANE_NAMES), oddValue);
const labels = fc.oneof(
  fc.constant(undefined),
  fc.dictionary(
    fc.constantFrom('shard', 'host'),
    fc.oneof(fc.constantFrom('a', 'b'), fc.integer(), fc.boolean()),
  ),
  fc.dictionary(oddString, oddValue, { maxKeys: 3 }),
  oddValue,
);
const value = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.double(), oddValue);
const timestamp = fc.oneof(
  fc.constant(undefined),
  fc.constant(undefined),
  oddValue,
  fc.constantFrom(1e10, Date.now() + 1),
);

const call = fc.oneof(
  fc.tuple(fc.constant('counterInc' as const), metricName, value, labels, timestamp),
  fc.tuple(fc.constant('gaugeSet' as const), metricName, value, labels, timestamp),
  fc.tuple(fc.constant('histogramQueue' as const), metricName, value, labels, timestamp),
  fc.tuple(fc.constant('histogramFlush' as const), metricName, labels),
  fc.tuple(
    fc.constant('setBuckets' as const),
    metricName,
    fc.oneof(fc.array(fc.double(), { maxLength: 4 }), oddValue),
  ),
);

const SYNC = new Set(['histogramQueue', 'setBuckets']);

/** An argument for messages (some have no string form: a null-prototype object, a symbol). */
function show(value: unknown): string {
  try {
    return String(value).slice(0, 20);
  } catch {
    return typeof value;
  }
}

function assertClientError(err: unknown, what: string): void {
  assert.ok(
    err instanceof RemoteWriteClientError,
    `${what}: not a RemoteWriteClientError: ${err instanceof Error ? err.stack : String(err)}`,
  );
  assert.match(err.message, /^RemoteWriteClient: \S/);
}

describe('RemoteWriteClient arguments (property-based)', () => {
  it('every call is done or refused with a RemoteWriteClientError; what was taken arrives', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 8 }), fc.boolean(), async (calls, v2) => {
        const from = receiver.requests.length;
        const client = new RemoteWriteClient({
          url: receiver.url,
          batch: true,
          flushOnExit: false,
          maxRetryElapsedMillis: 0,
          protocol: v2 ? 'v2' : 'v1',
        });
        const taken = new Set<string>();
        for (const [method, ...args] of calls) {
          const what = `${method}(${args.map((a) => show(a)).join(', ')})`;
          let returned: unknown;
          try {
            returned = (client[method] as (...a: unknown[]) => unknown).apply(client, args);
          } catch (err) {
            assert.ok(SYNC.has(method), `${what} threw instead of rejecting`);
            assertClientError(err, what);
            continue;
          }
          if (SYNC.has(method)) {
            assert.equal(returned, undefined, `${what} is synchronous`);
            continue;
          }
          try {
            await returned;
            // Names sent as they are (others may be translated, e.g. runs of `_` collapse).
            const name = args[0] as string;
            if (SANE_NAMES.includes(name) && method !== 'histogramFlush')
              taken.add(method === 'counterInc' ? `${name}_total` : name);
          } catch (err) {
            assertClientError(err, what);
          }
        }
        await client.close();
        assertBodies(from);
        const names = new Set(
          receiver.requests
            .slice(from)
            .flatMap((r) =>
              r.decoded.timeseries.map((s) => s.labels.find((l) => l.name === '__name__')?.value),
            ),
        );
        const namesV2 = receiver.requests.slice(from).flatMap((r) =>
          (r.decodedV2?.timeseries ?? []).map((t) => {
            const symbols = r.decodedV2!.symbols;
            for (let i = 0; i + 1 < t.labelsRefs.length; i += 2)
              if (symbols[t.labelsRefs[i]!] === '__name__') return symbols[t.labelsRefs[i + 1]!];
            return undefined;
          }),
        );
        for (const n of namesV2) names.add(n);
        for (const n of taken) assert.ok(names.has(n), `${n} was taken but not sent`);
      }),
      fuzzParameters(150),
    );
  });
});

describe('RemoteWriteClient regressions', () => {
  it('a timestamp past what a Date holds is refused at the call, not at the export', async () => {
    const client = new RemoteWriteClient({ url: receiver.url, batch: true, flushOnExit: false });
    assert.throws(
      () => client.histogramQueue('jobs', 0, {}, 8640000000000001),
      (err: Error) =>
        err instanceof RemoteWriteClientError && /past the last time a Date can hold/.test(err.message),
    );
    await client.close();
  });
});

// ---- prw push ---------------------------------------------------------------------------------

function flagArb(url: string): fc.Arbitrary<string[]> {
  return fc.oneof(
    fc.tuple(
      fc.constantFrom('-l', '--label'),
      fc.oneof(fc.constantFrom('a=b', '=b', 'a=', 'noeq', '__x=1', 'le=1'), oddString),
    ),
    fc.tuple(
      fc.constantFrom('-t', '--timestamp'),
      fc.constantFrom('abc', '-1', '1e3', '', 'NaN', String(Date.now()), '1.5'),
    ),
    fc.tuple(
      fc.constant('--buckets'),
      fc.constantFrom('1,2,5', '5,1', '1,,2', 'a', '', 'NaN', '1,1', '+Inf'),
    ),
    fc.tuple(fc.constant('--timeout'), fc.constantFrom('1000', '0', '-5', 'abc', '1e400', '')),
    // Never a long retry: the receiver always answers, but bad values must still be refused.
    fc.tuple(fc.constant('--retry-for'), fc.constantFrom('0', '-1', 'abc', '', 'NaN')),
    fc.tuple(fc.constant('--protocol'), fc.constantFrom('v1', 'v2', 'auto', 'v3', '')),
    fc.tuple(fc.constant('--bearer-token'), fc.constantFrom(SECRET, `${SECRET}\r\nX: y`, '')),
    fc.tuple(
      fc.constant('--basic-auth'),
      fc.constantFrom(`user:${SECRET}`, `us:er:${SECRET}`, SECRET, `:${SECRET}`),
    ),
    fc.tuple(
      fc.constantFrom('-H', '--header'),
      fc.constantFrom(
        `X-Key: ${SECRET}`,
        `X Key: ${SECRET}`,
        `: ${SECRET}`,
        'nocolon',
        `X-Key: a\r\nb${SECRET}`,
      ),
    ),
    // Only URLs that reach the loopback receiver, or none at all: never the network.
    fc.tuple(
      fc.constant('--url'),
      fc.constantFrom(
        url,
        `${url}?token=${SECRET}`,
        url.replace('http://', `http://user:${SECRET}@`),
        'ftp://127.0.0.1/x',
        'not a url',
        '',
        'http://',
      ),
    ),
    fc.tuple(fc.constantFrom('--job', '--instance'), fc.oneof(fc.constantFrom('j', ''), oddString)),
    fc.tuple(fc.constantFrom('--dry-run', '--debug', '--unknown', '-x', '--', '-5')),
  );
}

function argvArb(url: string): fc.Arbitrary<string[]> {
  return fc
    .tuple(
      fc.oneof(fc.constantFrom('counter', 'gauge', 'histogram'), oddString),
      fc.oneof(fc.constantFrom('backup_runs', 'q:depth', '1bad', 'a-b', ''), oddString),
      fc.array(
        fc.oneof(
          fc.constantFrom('1', '2.5', '-3', 'NaN', '+Inf', '-Inf', 'abc', '', '1e400', '0x10'),
          oddString,
        ),
        {
          maxLength: 3,
        },
      ),
      fc.array(flagArb(url), { maxLength: 4 }),
      fc.nat(),
    )
    .map(([kind, name, numbers, flags, at]) => {
      const positionals = [kind, name, ...numbers];
      const options = flags.flat();
      const cut = at % (positionals.length + 1);
      return ['push', ...positionals.slice(0, cut), ...options, ...positionals.slice(cut)];
    });
}

async function runMain(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: (t: string) => void (stdout += t),
    stderr: (t: string) => void (stderr += t),
    env: { PRW_URL: receiver.url, PRW_RETRY_FOR: '0' },
  };
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    main(argv, io),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`prw ${argv.join(' ')} did not end`)), 20_000);
    }),
  ]).finally(() => clearTimeout(timer));
  return { code, stdout, stderr };
}

function assertOutcome(argv: string[], r: { code: number | null; stdout: string; stderr: string }): void {
  const shown = JSON.stringify(argv);
  assert.ok(r.code === 0 || r.code === 2, `exit ${r.code} for ${shown}: ${r.stderr}`);
  if (r.code === 2) {
    assert.match(r.stderr, /^prw: [^\n]+\n$/, `one clear line for ${shown}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  // After `--` every argument is a positional (a metric value): one that is not a number is
  // repeated in the message whatever it holds. Before it, a secret is only ever an option's value.
  if (argv.includes('--')) return;
  for (const text of [r.stdout, r.stderr])
    assert.ok(!text.includes(SECRET), `a secret shown for ${shown}: ${text}`);
}

describe('prw push arguments (property-based)', () => {
  it('exit 0, or one clear line and exit 2; never a secret in the output', async () => {
    await fc.assert(
      fc.asyncProperty(argvArb(receiver.url), async (argv) => {
        const from = receiver.requests.length;
        assertOutcome(argv, await runMain(argv));
        assertBodies(from);
      }),
      fuzzParameters(300),
    );
  });

  // Counterexamples the property found, kept as they were reported.
  for (const [argv, expected] of [
    // parseArgs refused `-1` as the value of -t, on two lines.
    [['push', '-t', '-1', 'counter', ''], /^prw: \S[^\n]*\n$/],
    // A line break in a quoted argument made two lines.
    [['push', 'counter', '\n'], /^prw: push counter "\\n" needs a value\n$/],
    // A header without a name was repeated whole, value included.
    [
      ['push', '-H', `: ${SECRET}`, 'counter', '', '1'],
      /^prw: --header must be 'NAME: VALUE', got no NAME\n$/,
    ],
    // Extra values were repeated, whatever they were.
    [
      ['push', 'counter', '--', '--basic-auth', `user:${SECRET}`, ''],
      /^prw: push counter takes one value, got 2\n$/,
    ],
  ] as Array<[string[], RegExp]>) {
    it(`regression: prw ${JSON.stringify(argv)}`, async () => {
      const r = await runMain(argv);
      assertOutcome(argv, r);
      assert.equal(r.code, 2);
      assert.match(r.stderr, expected);
    });
  }

  it('the built prw: bad arguments exit with 2 and one line', async () => {
    // A few command lines through dist/prw.js as a user runs it (npm run build first).
    const cases = fc.sample(argvArb(receiver.url), { numRuns: 6, seed: 14 });
    for (const argv of [
      ['push', 'gauge', 'x', 'abc'],
      ['push', '--timeout', '-5', 'gauge', 'x', '1'],
      ...cases,
    ]) {
      const r = await runNode([PRW, ...argv], {
        env: { PRW_URL: receiver.url, PRW_RETRY_FOR: '0' },
        drop: /^PRW_/,
        timeoutMs: 20_000,
      });
      assertOutcome(argv, r);
      const inProcess = await runMain(argv);
      assert.equal(
        r.code,
        inProcess.code,
        `same exit code in and out of process for ${JSON.stringify(argv)}`,
      );
    }
  });
});
