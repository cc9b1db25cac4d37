/**
 * Work done in steps (generators that pause when `due()` says the slice is up, exporter.ts), and
 * the same work done at once.
 */

/** A `due` that never asks for a pause. */
export const NEVER = (): boolean => false;

/** Runs steps to their end at once and returns what they return. */
export function runSteps<T>(steps: Generator<void, T, void>): T {
  let step = steps.next();
  while (!step.done) step = steps.next();
  return step.value;
}
