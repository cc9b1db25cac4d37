/**
 * `headers` given as a function: called for every attempt (rotating tokens), its result checked
 * each time as the static headers are at construction. Knows nothing of OTel.
 */
import { AuthError, reasonOf, type Authorizer } from './authorizer.js';
import { headerNameProblem, headerValueProblem, quoteHeaderName } from './header-rules.js';

export type HeadersFunction = () => Record<string, string> | Promise<Record<string, string>>;

export class HeadersFunctionAuthorizer implements Authorizer {
  readonly #fn: HeadersFunction;
  /** Lower-case names the function may not set, with what sets them (e.g. `"tenant"`). */
  readonly #taken: ReadonlyMap<string, string>;

  constructor(fn: HeadersFunction, taken: ReadonlyMap<string, string>) {
    this.#fn = fn;
    this.#taken = taken;
  }

  async headers(): Promise<Record<string, string>> {
    let result: unknown;
    try {
      result = await this.#fn();
    } catch (err) {
      // Most likely a token service that is briefly away: retried with backoff, like the receiver
      // being away. The thrown error's message is the user's own; it is kept as the cause too.
      throw new AuthError(`headers() failed: ${reasonOf(err)}`, { permanent: false, cause: err });
    }
    return checkResult(result, this.#taken);
  }
}

/** The function's result as headers, or a permanent AuthError that names the bad entry (not its value). */
function checkResult(result: unknown, taken: ReadonlyMap<string, string>): Record<string, string> {
  const fail = (what: string): never => {
    throw new AuthError(`headers() returned ${what}`, { permanent: true });
  };
  if (result === null || typeof result !== 'object' || Array.isArray(result)) {
    fail(
      `${result === null ? 'null' : Array.isArray(result) ? 'an array' : typeof result}, not an object of string values`,
    );
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(result as object)) {
    const quoted = quoteHeaderName(name);
    const nameProblem = headerNameProblem(name);
    if (nameProblem) fail(`${quoted}, which ${nameProblem}`);
    if (typeof value !== 'string')
      fail(`a ${typeof value} for header ${quoted}; header values must be strings`);
    const valueProblem = headerValueProblem(value as string);
    if (valueProblem) fail(`a value for header ${quoted} that ${valueProblem}`);
    const owner = taken.get(name.toLowerCase());
    if (owner) fail(`header ${quoted}, which ${owner} sets`);
    out[name] = value as string;
  }
  return out;
}
