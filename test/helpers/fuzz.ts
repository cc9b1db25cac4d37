/**
 * Shared by the property-based tests (fast-check): how many cases to run, and values that are
 * wrong in the ways input goes wrong.
 */
import fc from 'fast-check';

/** Cases per property: a bounded number in `npm test`, more with `npm run fuzz` (FUZZ_RUNS). */
export function fuzzRuns(fallback: number): number {
  const given = Number(process.env['FUZZ_RUNS']);
  return Number.isInteger(given) && given > 0 ? given : fallback;
}

/** A fixed seed when FUZZ_SEED is set (to replay a failure fast-check reported). */
export function fuzzParameters<T>(fallbackRuns: number): fc.Parameters<T> {
  const seed = Number(process.env['FUZZ_SEED']);
  return {
    numRuns: fuzzRuns(fallbackRuns),
    includeErrorInReport: true,
    ...(Number.isInteger(seed) ? { seed } : {}),
  };
}

export const HUGE = 'y'.repeat(70_000);

/** Strings that go wrong: empty, lone surrogates, not ASCII, huge, control characters. */
export const oddString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    '\ud800',
    'a\udc00b',
    'ключ',
    '!!!',
    '__name__',
    'le',
    'job',
    ' ',
    '\n',
    '\u0000',
    HUGE,
  ),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ maxLength: 12 }),
);

/** Values of the wrong type or range, for any field. */
export const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    undefined,
    null,
    NaN,
    Infinity,
    -Infinity,
    -1,
    0,
    -0,
    0.5,
    2 ** 53,
    1e300,
    -1e300,
    true,
    false,
    [],
    {},
    [1, 'a'],
    [NaN],
    [-1, 2],
    [Infinity, 1],
    10n,
  ),
  oddString,
  fc.double(),
  fc.integer({ min: -1000, max: 1000 }),
);
