/**
 * Property-based test of option checking (fast-check): random option objects, each option
 * either valid or of a wrong type, range or combination. Construction must either succeed or
 * throw an InvalidOptionError (RemoteWriteClientError for the client's own options) that names
 * an option it was given; never another error, never a message with a secret that was passed in;
 * and an exporter that was made never prints one (util.inspect).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import fc from 'fast-check';
import {
  InvalidOptionError,
  PrometheusRemoteWriteExporter,
  RemoteWriteClient,
  RemoteWriteClientError,
} from '../src/index.js';
import { fuzzParameters, oddString, oddValue } from './helpers/fuzz.js';

/** Put only where a secret belongs (passwords, tokens, header values, URL user info and query). */
const SECRET = 'S3cr3tValue9f8e';

const secretText = fc.constantFrom(
  SECRET,
  `Bearer ${SECRET}`,
  `${SECRET}\r\nX-Evil: 1`,
  ` ${SECRET} `,
  `${SECRET}:x`,
);

const goodUrl = fc.constantFrom<unknown>(
  'http://127.0.0.1:9/api/v1/write',
  `http://user:${SECRET}@127.0.0.1:9/api/v1/write`,
  `https://127.0.0.1:9/api/v1/write?api_key=${SECRET}`,
  new URL('http://127.0.0.1:9/api/v1/write'),
);
const badUrl = fc.oneof(
  fc.constantFrom<unknown>(
    `http://us%3Aer:${SECRET}@127.0.0.1:9/w`,
    `ftp://user:${SECRET}@127.0.0.1/`,
    `http://[${SECRET}`,
    'http://',
    '127.0.0.1:9090',
  ),
  oddValue,
);

const flag: [fc.Arbitrary<unknown>, fc.Arbitrary<unknown>] = [fc.boolean(), oddValue];
const int = (min: number, max: number): [fc.Arbitrary<unknown>, fc.Arbitrary<unknown>] => [
  fc.integer({ min, max }),
  fc.oneof(oddValue, fc.constantFrom(min - 1, max + 1, min + 0.5)),
];

/**
 * Per option, values that are right and values that are wrong: a case is a set of right ones
 * with a few wrong ones in place, so that every check is reached, not only the first.
 */
const OPTIONS: Record<string, [fc.Arbitrary<unknown>, fc.Arbitrary<unknown>]> = {
  url: [goodUrl, badUrl],
  headers: [
    fc.dictionary(fc.constantFrom('X-Api-Key', 'X-Token'), fc.constant(SECRET), { maxKeys: 2 }),
    fc.oneof(
      fc.dictionary(
        fc.oneof(oddString, fc.constantFrom('Authorization', 'Content-Type', 'X-Scope-OrgID')),
        secretText,
        {
          maxKeys: 3,
        },
      ),
      fc.dictionary(
        fc.constantFrom('X-Num', 'X-Obj'),
        oddValue.filter((v) => typeof v !== 'string'),
        {
          minKeys: 1,
          maxKeys: 2,
        },
      ),
      oddValue,
    ),
  ],
  basicAuth: [
    fc.record({ username: fc.constant('u'), password: fc.constant(SECRET) }),
    fc.oneof(
      fc.record({
        username: fc.oneof(fc.constantFrom('us:er', ''), oddValue),
        password: fc.oneof(secretText, oddValue),
      }),
      oddValue,
    ),
  ],
  bearerToken: [fc.constant(SECRET), fc.oneof(secretText, oddValue)],
  tenant: [fc.constant('tenant-1'), oddValue],
  oauth2: [
    fc.constant(undefined),
    fc.oneof(
      fc.record({ clientId: oddValue, clientSecret: secretText, tokenUrl: oddValue, scopes: oddValue }),
      oddValue,
    ),
  ],
  sigv4: [
    fc.constant(undefined),
    fc.oneof(fc.record({ region: oddValue, accessKey: oddValue, secretKey: secretText }), oddValue),
  ],
  tls: [fc.constant(undefined), oddValue],
  proxy: [fc.constant(undefined), fc.oneof(fc.constantFrom(`http://user:${SECRET}@127.0.0.1:9`), oddValue)],
  timeoutMillis: int(1, 2 ** 31 - 1),
  // Either value may disagree with translationStrategy: among the wrong ones.
  addMetricSuffixes: [fc.constant(undefined), fc.oneof(fc.boolean(), oddValue)],
  translationStrategy: [
    fc.constantFrom(
      'UnderscoreEscapingWithSuffixes',
      'UnderscoreEscapingWithoutSuffixes',
      'NoUTF8EscapingWithSuffixes',
      'NoTranslation',
    ),
    oddValue,
  ],
  namespace: [fc.constantFrom('app', 'my-app', ''), oddValue],
  externalLabels: [
    fc.dictionary(fc.constantFrom('region', 'dc'), fc.constantFrom('eu', 'x'), { maxKeys: 2 }),
    fc.oneof(fc.dictionary(oddString, oddValue, { minKeys: 1, maxKeys: 3 }), oddValue),
  ],
  withoutTargetInfo: flag,
  withoutScopeInfo: flag,
  promoteResourceAttributes: [
    fc.oneof(fc.constant('all'), fc.array(fc.string(), { maxLength: 3 })),
    fc.oneof(fc.array(oddValue, { minLength: 1, maxLength: 3 }), oddValue),
  ],
  sendMetadata: flag,
  markStaleWhenMissing: flag,
  explicitHistogramsAsNative: [fc.constant(false), fc.oneof(fc.constant(true), oddValue)],
  markStaleOnShutdown: flag,
  agent: [fc.constant(undefined), oddValue],
  debug: [
    fc.oneof(
      fc.constant(false),
      fc.constant(() => {}),
    ),
    oddValue,
  ],
  protocol: [fc.constantFrom('v1', 'v2', 'auto'), oddValue],
  maxSamplesPerSend: int(1, 10_000),
  maxRequestBytes: int(1024, 10_000_000),
  minBackoffMillis: [
    fc.integer({ min: 0, max: 1000 }),
    fc.oneof(oddValue, fc.constantFrom(-1, 60_001, 5001)),
  ],
  maxBackoffMillis: [
    fc.integer({ min: 5000, max: 60_000 }),
    fc.oneof(oddValue, fc.constantFrom(-1, 60_001, 10)),
  ],
  maxRetryElapsedMillis: int(0, 600_000),
  flushTimeoutMillis: int(0, 60_000),
  shutdownTimeoutMillis: int(0, 60_000),
  maxConcurrentRequests: int(1, 64),
  maxQueueBytes: int(1024, 2 ** 30),
  queueCapacity: int(10_000, 1_000_000),
  // Never a usable path: a valid one would make a directory.
  spoolDir: [fc.constant(undefined), fc.constantFrom<unknown>('', 5, null, {})],
  spoolMaxBytes: int(1, 2 ** 30),
  spoolMaxAgeMillis: int(1, 10_000_000),
  meter: [fc.constant(undefined), oddValue],
};

/** Right values for some options (`url` always), then up to three replaced by wrong ones. */
function optionsFrom(
  table: Record<string, [fc.Arbitrary<unknown>, fc.Arbitrary<unknown>]>,
): fc.Arbitrary<Record<string, unknown>> {
  const names = Object.keys(table);
  const valid = fc.record(Object.fromEntries(names.map((k) => [k, table[k]![0]])), {
    requiredKeys: ['url'],
  });
  const wrong = fc.array(
    fc.constantFrom(...names).chain((k) => table[k]![1].map((v) => [k, v] as const)),
    { maxLength: 3 },
  );
  return fc.tuple(valid, wrong).map(([base, changes]) => {
    const options: Record<string, unknown> = { ...base };
    for (const [k, v] of changes) options[k] = v;
    // One way to authenticate, unless a wrong value asks for two.
    if (!changes.some(([k]) => ['basicAuth', 'bearerToken', 'headers', 'url'].includes(k))) {
      const auth = ['basicAuth', 'bearerToken'].filter((k) => k in options);
      for (const k of auth.slice(1)) delete options[k];
      if (auth.length > 0 && typeof options['url'] === 'string')
        options['url'] = 'http://127.0.0.1:9/api/v1/write';
    }
    return options;
  });
}

const exporterOptions = optionsFrom(OPTIONS);

/** The option a message names: `option "X"`, `option "X.Y"`, `option "X and Y"`. */
function namedOption(message: string): string | undefined {
  return /option "([^"]+)"/.exec(message)?.[1]?.split(/[.\s[]/)[0];
}

function checkRefusal(err: unknown, given: object, types: Array<new (...args: never[]) => Error>): void {
  assert.ok(
    types.some((t) => err instanceof t),
    `not ${types.map((t) => t.name).join(' or ')}: ${err instanceof Error ? err.stack : String(err)}`,
  );
  const message = (err as Error).message;
  assert.ok(!message.includes(SECRET), `a secret in: ${message}`);
  const option = namedOption(message);
  assert.ok(option !== undefined, `names no option: ${message}`);
  assert.ok(
    option === 'url' || option === 'options' || Object.keys(given).includes(option),
    `names "${option}", which was not given: ${message}`,
  );
}

describe('option checking (property-based)', () => {
  it('the exporter: made, or an InvalidOptionError naming a given option; no secret shown', async () => {
    const seen = { made: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(exporterOptions, async (options) => {
        let exporter: PrometheusRemoteWriteExporter;
        try {
          exporter = new PrometheusRemoteWriteExporter(options as never);
          seen.made++;
        } catch (err) {
          checkRefusal(err, options, [InvalidOptionError]);
          seen.refused++;
          return;
        }
        try {
          const shown = [inspect(exporter, { depth: Infinity }), JSON.stringify(exporter)];
          for (const text of shown) assert.ok(!text.includes(SECRET), `a secret in: ${text}`);
        } finally {
          await exporter.shutdown();
        }
      }),
      fuzzParameters(300),
    );
    // Both outcomes are common: the cases reach every check, not only the first.
    const all = seen.made + seen.refused;
    assert.ok(seen.made > all / 10 && seen.refused > all / 10, JSON.stringify(seen));
  });

  it('regression: a minBackoffMillis above the default maximum names minBackoffMillis', () => {
    assert.throws(
      () => new PrometheusRemoteWriteExporter({ url: 'http://127.0.0.1:9/w', minBackoffMillis: 5001 }),
      /option "minBackoffMillis" must not be above maxBackoffMillis \(5000, its default\)/,
    );
  });

  it('the client: made, or an error naming a given option; no secret shown', async () => {
    const clientOptions = optionsFrom({
      url: OPTIONS['url']!,
      bearerToken: OPTIONS['bearerToken']!,
      headers: OPTIONS['headers']!,
      protocol: [fc.constantFrom('v1', 'v2'), oddValue],
      timeoutMillis: OPTIONS['timeoutMillis']!,
      batch: flag,
      // Never a usable path: close() would write it.
      stateFile: [fc.constant(undefined), fc.constantFrom<unknown>('', 5, null)],
      buckets: [
        fc.dictionary(fc.constantFrom('a', 'b'), fc.constant([1, 2, 5]), { maxKeys: 2 }),
        fc.oneof(
          fc.dictionary(oddString, fc.oneof(fc.array(fc.double(), { maxLength: 4 }), oddValue), {
            maxKeys: 2,
          }),
          oddValue,
        ),
      ],
      defaultBuckets: [
        fc.constant([0.1, 1, 10]),
        fc.oneof(fc.array(fc.oneof(fc.double(), oddValue), { maxLength: 4 }), oddValue),
      ],
      job: [fc.constant('job'), oddValue],
      instance: [fc.constant('i-1'), oddValue],
      resource: [fc.constant({ 'host.name': 'h' }), oddValue],
      flushOnExit: [fc.constant(false), fc.constantFrom<unknown>('yes', 5, null)],
    });
    const seen = { made: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(clientOptions, async (options) => {
        let client: RemoteWriteClient;
        try {
          client = new RemoteWriteClient(options as never);
          seen.made++;
        } catch (err) {
          checkRefusal(err, options, [InvalidOptionError, RemoteWriteClientError]);
          seen.refused++;
          return;
        }
        try {
          assert.ok(!inspect(client, { depth: Infinity }).includes(SECRET));
        } finally {
          await client.close().catch(() => undefined);
        }
      }),
      fuzzParameters(200),
    );
    const all = seen.made + seen.refused;
    assert.ok(seen.made > all / 10 && seen.refused > all / 10, JSON.stringify(seen));
  });
});
