/**
 * OpenTelemetry attributes → Prometheus labels (OTel spec §Metric Attributes).
 */
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { escapesNames, labelName, type TranslationStrategy } from './names.js';
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

/** Attribute key → label name, or `undefined` for a key that leaves no valid name. */
export type LabelNamer = (key: string) => string | undefined;

/**
 * Attribute keys repeat on every point of every export: their sanitized names are remembered.
 * Bounded, since keys come from the application; when full it starts over.
 */
const NAME_CACHE_LIMIT = 10_000;

function remembered(name: LabelNamer): LabelNamer {
  const cache = new Map<string, string | undefined>();
  return (key) => {
    let result = cache.get(key);
    if (result === undefined && !cache.has(key)) {
      if (cache.size >= NAME_CACHE_LIMIT) cache.clear();
      result = name(key);
      cache.set(key, result);
    }
    return result;
  };
}

const ESCAPING_NAMER = remembered((key) => labelName(key, 'UnderscoreEscapingWithSuffixes'));
const UTF8_NAMER: LabelNamer = (key) => labelName(key, 'NoTranslation');

/** The label namer of a strategy; the two escaping strategies name labels alike, as do the two UTF-8 ones. */
export function labelNamer(strategy: TranslationStrategy): LabelNamer {
  return escapesNames(strategy) ? ESCAPING_NAMER : UTF8_NAMER;
}

/**
 * Sanitizes attribute keys into label names. Keys that sanitize to the same name have their
 * values joined with `;` in the lexicographic order of the original keys (OTel spec MUST).
 * Keys that leave no valid name are skipped; `__name__` never comes from an attribute.
 */
export function attributesToLabels(
  attributes: Attributes,
  names: LabelNamer,
  exclude?: ReadonlySet<string>,
): LabelMap {
  const keys = Object.keys(attributes);
  if (keys.length > 1) keys.sort();
  const out: LabelMap = new Map();
  for (const key of keys) {
    if (exclude?.has(key)) continue;
    const value = attributeValueString(attributes[key]);
    if (value === undefined) continue;
    const name = names(key);
    if (name === undefined || name === '__name__') continue;
    const previous = out.get(name);
    out.set(name, previous === undefined ? value : previous + ';' + value);
  }
  return out;
}
