/**
 * OpenTelemetry attributes → Prometheus labels (OTel spec §Metric Attributes).
 */
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { labelName } from './names.js';
import { decimalString } from './decimal.js';

/** A label map under construction: name → value. Later layers override earlier ones. */
export type LabelMap = Map<string, string>;

/**
 * An attribute value as a label value: strings as they are, numbers as decimals, booleans as
 * `true`/`false`, arrays as JSON (OTel spec: attribute values as strings). `undefined` for an
 * absent value.
 */
export function attributeValueString(value: AttributeValue | undefined | null): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return decimalString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return JSON.stringify(value);
}

/**
 * Attribute keys repeat on every point of every export: their sanitized names are remembered.
 * Bounded, since keys come from the application; when full it starts over.
 */
const NAME_CACHE_LIMIT = 10_000;
const nameCache = new Map<string, string | undefined>();

function cachedLabelName(key: string): string | undefined {
  let name = nameCache.get(key);
  if (name === undefined && !nameCache.has(key)) {
    if (nameCache.size >= NAME_CACHE_LIMIT) nameCache.clear();
    name = labelName(key);
    nameCache.set(key, name);
  }
  return name;
}

/**
 * Sanitizes attribute keys into label names. Keys that sanitize to the same name have their
 * values joined with `;` in the lexicographic order of the original keys (OTel spec MUST).
 * Keys that leave no valid name are skipped; `__name__` never comes from an attribute.
 */
export function attributesToLabels(attributes: Attributes, exclude?: ReadonlySet<string>): LabelMap {
  const keys = Object.keys(attributes);
  if (keys.length > 1) keys.sort();
  const out: LabelMap = new Map();
  for (const key of keys) {
    if (exclude?.has(key)) continue;
    const value = attributeValueString(attributes[key]);
    if (value === undefined) continue;
    const name = cachedLabelName(key);
    if (name === undefined || name === '__name__') continue;
    const previous = out.get(name);
    out.set(name, previous === undefined ? value : previous + ';' + value);
  }
  return out;
}
