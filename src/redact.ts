/**
 * What the exporter, the client and the resolved options show of themselves to `util.inspect`,
 * `console.log` and `JSON.stringify`: never a header value (`Authorization`, API keys), a
 * credential, nor the URL's user info or query string (API keys travel there too). Their fields
 * hold all of these, and Node prints objects two levels deep by default.
 */
import { inspect, type InspectOptions } from 'node:util';
import type { ResolvedOptions } from './options.js';

export const REDACTED = '[redacted]';

/** `Name { …summary }` for `util.inspect`, with the caller's inspect options (colors, depth). */
export function inspectAs(name: string, summary: object, options: InspectOptions): string {
  return `${name} ${inspect(summary, options)}`;
}

/**
 * The resolved options without secrets: header names with their values redacted, the target
 * URL as messages print it (`target`: no user info, no query), objects that may hold keys or
 * tokens (agent, meter, authorizers) named only.
 */
export function optionsSummary(options: ResolvedOptions, target: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (key === 'url') out[key] = target;
    else if (key === 'headers')
      out[key] = Object.fromEntries(Object.keys(value as object).map((name) => [name, REDACTED]));
    else if (key === 'externalLabels') out[key] = Object.fromEntries(value as Map<string, string>);
    else if (typeof value === 'function') out[key] = '[function]';
    else if (typeof value === 'object' && value !== null && !Array.isArray(value))
      out[key] = `[${(value as object).constructor?.name ?? 'object'}]`;
    else if (Array.isArray(value) && value.some((v) => typeof v === 'object' && v !== null))
      out[key] = `[${value.length} items]`;
    else out[key] = value;
  }
  return out;
}

/**
 * Gives the resolved options object a redacted `util.inspect` and `toJSON` (not enumerable, so
 * spreading the options copies none of it).
 */
export function concealOptions(options: ResolvedOptions, target: string): void {
  Object.defineProperty(options, inspect.custom, {
    value: (_depth: number, opts: InspectOptions) =>
      inspectAs('ResolvedOptions', optionsSummary(options, target), opts),
  });
  Object.defineProperty(options, 'toJSON', { value: () => optionsSummary(options, target) });
}
