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
  const other: unknown = value;
  if (typeof other === 'bigint') return other.toString();
  try {
    // undefined for what JSON cannot hold (a function, a symbol); throws on a cycle or a BigInt.
    return JSON.stringify(value) as string | undefined;
  } catch {
    return undefined;
  }
}

/** `String.prototype.isWellFormed`/`toWellFormed` (ES2024, Node ≥ 20), typed here for ES2022. */
interface WellFormed {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/** Whether a string is valid Unicode: no lone surrogate, so that it has a UTF-8 form. */
export function isWellFormed(text: string): boolean {
  return (text as unknown as WellFormed).isWellFormed();
}

/** The string with every lone surrogate replaced by U+FFFD (what a UTF-8 encoder writes for it). */
export function toWellFormed(text: string): string {
  return (text as unknown as WellFormed).toWellFormed();
}

/**
 * What `attributesToLabels` left out or repaired, added up over a metric: for one warning per
 * metric and the `attributesDropped` count.
 */
export interface LabelIssues {
  /** Attribute keys left out: nothing valid was left of the name, or the value could not be read. */
  dropped: number;
  /** The first such key, for the warning. */
  firstDropped?: string;
  /** Label names or values in which a lone surrogate was replaced by U+FFFD. */
  replaced: number;
}

export function newLabelIssues(): LabelIssues {
  return { dropped: 0, replaced: 0 };
}

/**
 * A lone surrogate (a broken UTF-16 pair) has no UTF-8 form: replaced by U+FFFD, as a UTF-8
 * encoder would do silently, but counted so that it is warned about (docs/decisions.md).
 */
function wellFormed(text: string, issues: LabelIssues | undefined): string {
  if (isWellFormed(text)) return text;
  if (issues) issues.replaced++;
  return toWellFormed(text);
}

/** The same for every value of a label map (resource and scope labels), in place. */
export function repairLabelMap(labels: LabelMap, issues: LabelIssues): void {
  for (const [name, value] of labels) {
    if (!isWellFormed(value)) labels.set(name, wellFormed(value, issues));
  }
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
 * Keys that leave no valid name are skipped (counted in `issues`); `__name__` never comes from
 * an attribute. Lone surrogates in names (UTF-8 strategies) and values become U+FFFD.
 */
export function attributesToLabels(
  attributes: Attributes,
  names: LabelNamer,
  exclude?: ReadonlySet<string>,
  issues?: LabelIssues,
): LabelMap {
  const keys = Object.keys(attributes);
  if (keys.length > 1) keys.sort();
  const out: LabelMap = new Map();
  for (const key of keys) {
    if (exclude?.has(key)) continue;
    const raw = attributes[key];
    const text = attributeValueString(raw);
    const name = text === undefined ? undefined : names(key);
    if (text === undefined || name === undefined) {
      // An absent value is no label; a value or key that cannot be one is a loss, counted.
      if (issues && raw !== undefined && raw !== null) {
        issues.dropped++;
        issues.firstDropped ??= key;
      }
      continue;
    }
    if (name === '__name__') continue;
    const value = wellFormed(text, issues);
    const label = wellFormed(name, issues);
    const previous = out.get(label);
    out.set(label, previous === undefined ? value : previous + ';' + value);
  }
  return out;
}
