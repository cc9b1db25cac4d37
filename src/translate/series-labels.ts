/**
 * The labels of a series: the layers merged by precedence and sorted (buildLabels), and the same
 * for the points of a metric whose attributes share one set of keys, planned once (LabelPlan).
 */
import type { Attributes } from '@opentelemetry/api';
import type { Label } from '../model.js';
import {
  encodedBytes,
  LabelFieldsPlan,
  type LabelsTarget,
  type PlannedLabel,
} from '../wire/label-fields-plan.js';
import type { LabelStrings } from '../wire/label-strings.js';
import { attributeValueString, isWellFormed, type LabelMap, type LabelNamer } from './attributes.js';
import { escapesNames, type TranslationStrategy } from './names.js';

/** How label names are sorted: RW 1.0 wants byte order of their UTF-8 (spec digest §1.3). */
export type LabelOrder = (a: Label, b: Label) => number;

/**
 * The sorted labels of one series. Precedence: `low` < `attributes` < `high` < `extra` and
 * `__name__`. An empty value means "no label" (OTel spec), also when it overrides a lower layer.
 */
export function buildLabels(
  name: string,
  attributes: LabelMap,
  low: LabelMap,
  high: LabelMap,
  order: LabelOrder,
  extra?: Label,
): Label[] {
  const labels: Label[] = [];
  // Names set last, by the series itself; no layer may give them.
  const reserved = extra === undefined ? '__name__' : extra.name;
  for (const [n, v] of high) {
    if (v !== '' && n !== '__name__' && n !== reserved) labels.push({ name: n, value: v });
  }
  for (const [n, v] of attributes) {
    if (v !== '' && n !== reserved && !high.has(n)) labels.push({ name: n, value: v });
  }
  for (const [n, v] of low) {
    if (v !== '' && n !== '__name__' && n !== reserved && !high.has(n) && !attributes.has(n)) {
      labels.push({ name: n, value: v });
    }
  }
  if (extra) labels.push(extra);
  labels.push({ name: '__name__', value: name });
  labels.sort(order);
  return labels;
}

/** For ASCII names (the escaping strategies), where UTF-16 order is byte order. */
function byName(a: Label, b: Label): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * For UTF-8 names: code point order, which is UTF-8 byte order. UTF-16 order differs only where a
 * surrogate (U+10000 and above) meets U+E000–U+FFFF, which sort before it in UTF-8.
 */
function byCodePoint(a: Label, b: Label): number {
  const x = a.name;
  const y = b.name;
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const c = x.charCodeAt(i);
    const d = y.charCodeAt(i);
    if (c === d) continue;
    if (c < 0xd800 || d < 0xd800) return c - d;
    return (c >= 0xe000 ? c - 0x800 : c + 0x2000) - (d >= 0xe000 ? d - 0x800 : d + 0x2000);
  }
  return x.length - y.length;
}

export function labelOrder(strategy: TranslationStrategy): LabelOrder {
  return escapesNames(strategy) ? byName : byCodePoint;
}

/**
 * The encoded labels (wire/label-fields.ts) of a metric's points whose attributes have these keys,
 * in this order (an SDK's points of one metric usually share them). Which labels the layers give,
 * where each attribute's label sorts and what its name becomes are found once, by buildLabels
 * itself; a point then gives only its values. A point the plan cannot take exactly as
 * attributesToLabels and buildLabels would (a value absent, a lone surrogate, another key) gets
 * undefined: it goes the full way, which also counts what it repairs or drops.
 */
/** LabelPlan.slotOf of a key whose value is checked but makes no label, or is not even read. */
const SKIPPED = -1;
const UNREAD = -2;

export class LabelPlan {
  /** Per attribute key, in the keys' order: its slot in `fields`, or SKIPPED or UNREAD. */
  private readonly slotOf: Int32Array;
  private readonly values: string[];
  private readonly extraSlot: number;
  /** The attributes `values` were last read from, and in which point (LabelPlans.point). */
  private readFrom: Attributes | undefined = undefined;
  private readInPoint = -1;

  private constructor(
    private readonly keys: readonly string[],
    slotOf: Int32Array,
    private readonly fields: LabelFieldsPlan,
    slots: number,
    extraSlot: number,
  ) {
    this.slotOf = slotOf;
    this.values = new Array<string>(slots).fill('');
    this.extraSlot = extraSlot;
  }

  /**
   * The plan for attributes with `keys`, or undefined when their labels are not one per key (a
   * key with no valid name, two keys naming one label, a name with a lone surrogate). With
   * `extraName`, the series also has that label, its value given per series (`le`).
   */
  static of(
    keys: readonly string[],
    family: string,
    names: LabelNamer,
    low: LabelMap,
    high: LabelMap,
    order: LabelOrder,
    extraName?: string,
  ): LabelPlan | undefined {
    // Each kept key's label with a placeholder value: buildLabels says which labels there are
    // and in what order. A label named as an attribute's is that attribute's, unless `high`
    // gives it (then the attribute is left out) or it is the extra one.
    const placeholders: LabelMap = new Map();
    const keyOfName = new Map<string, number>();
    // attributesToLabels reads and repairs the value of every key but one named `__name__`,
    // also of one buildLabels then leaves out: so is it checked here (SKIPPED, no slot).
    const slotOf = new Int32Array(keys.length).fill(SKIPPED);
    for (let k = 0; k < keys.length; k++) {
      const name = names(keys[k] as string);
      if (name === undefined || !isWellFormed(name) || placeholders.has(name)) return undefined;
      if (name === '__name__') {
        slotOf[k] = UNREAD;
        continue;
      }
      placeholders.set(name, 'x');
      keyOfName.set(name, k);
    }
    const extra = extraName === undefined ? undefined : { name: extraName, value: 'x' };
    const labels = buildLabels(family, placeholders, low, high, order, extra);
    const planned: PlannedLabel[] = [];
    let slots = 0;
    let extraSlot = -1;
    for (const label of labels) {
      const k = label === extra || high.has(label.name) ? undefined : keyOfName.get(label.name);
      if (label === extra) extraSlot = slots;
      else if (k !== undefined) slotOf[k] = slots;
      else {
        planned.push(label);
        continue;
      }
      planned.push({ name: label.name, slot: slots++ });
    }
    return new LabelPlan([...keys], slotOf, new LabelFieldsPlan(planned), slots, extraSlot);
  }

  /**
   * The encoded labels of a point with these attributes (whose keys fit), with `extraValue` for
   * the extra label, written into `encodedBytes()` (wire/label-fields-plan.ts): their length, or
   * −1 when the point must go the full way.
   */
  write(
    attributes: Attributes,
    extraValue: string | undefined,
    strings: LabelStrings | undefined,
    point: number,
    /** Where to write them instead (their length is returned all the same). */
    target?: LabelsTarget,
  ): number {
    const values = this.values;
    // The series of one classic-histogram point share its attributes (LabelPlans.encode's
    // `samePoint`, which numbers the points): read them once a plan.
    if (point !== this.readInPoint || attributes !== this.readFrom) {
      this.readFrom = undefined;
      const keys = this.keys;
      for (let k = 0; k < keys.length; k++) {
        const slot = this.slotOf[k] as number;
        if (slot === UNREAD) continue;
        const raw = attributes[keys[k] as string];
        const text = typeof raw === 'string' ? raw : attributeValueString(raw);
        // An absent value is no label and lets a lower layer's through; a lone surrogate is
        // repaired and counted: both the full way.
        if (text === undefined || !isWellFormed(text)) return -1;
        if (slot >= 0) values[slot] = text;
      }
      this.readFrom = attributes;
      this.readInPoint = point;
    }
    if (this.extraSlot >= 0) values[this.extraSlot] = extraValue as string;
    let length: number;
    if (target === undefined) length = this.fields.write(values);
    else {
      const at = target.room(this.fields.sizeAtMost(values));
      length = this.fields.writeAt(values, target.bytes, at, target.view);
    }
    if (strings !== undefined) this.fields.addStrings(values, strings);
    return length;
  }

  /** `keyHash` of what `encode` returned last (undefined: hash the string). */
  get hash(): number {
    return this.fields.hash;
  }
}

/**
 * The plans of one metric's series for the attribute keys of its latest point: one per series
 * name (and extra label), made when first asked; all dropped when the keys change. A plan that
 * cannot be made is remembered as such, so that such points go the full way without asking again.
 */
export class LabelPlans {
  private shape: readonly string[] | undefined;
  private readonly plans = new Map<string, LabelPlan | null>();
  private last: LabelPlan | undefined = undefined;
  /** Numbers the points: an encode without `samePoint` starts the next one. */
  private point = 0;

  constructor(
    private readonly names: LabelNamer,
    private readonly low: LabelMap,
    private readonly high: LabelMap,
    private readonly order: LabelOrder,
    /** Where the label strings of each series encoded go, for RW 2.0 (wire/label-strings.ts). */
    readonly labelStrings?: LabelStrings,
  ) {}

  /**
   * The encoded labels of series `name` for a point with these attributes, whose Object.keys are
   * `keys` (with `le`'s value for a bucket); undefined when the point must go the full way.
   * `samePoint`: another series of the point encoded just before, whose attribute values each
   * plan may then keep instead of reading them again (a classic histogram's dozen series).
   */
  encode(
    name: string,
    attributes: Attributes,
    keys: readonly string[],
    le?: string,
    samePoint = false,
  ): string | undefined {
    const length = this.writeInto(undefined, name, attributes, keys, le, samePoint);
    return length < 0 ? undefined : encodedBytes().toString('latin1', 0, length);
  }

  /**
   * The same written into `target` (LabelsTarget.room says where), or `encodedBytes()` without
   * one: their length, or −1 when the point must go the full way.
   */
  writeInto(
    target: LabelsTarget | undefined,
    name: string,
    attributes: Attributes,
    keys: readonly string[],
    le?: string,
    samePoint = false,
  ): number {
    if (!samePoint) this.point++;
    if (keys !== this.shape) {
      if (this.shape === undefined || !sameKeys(this.shape, keys)) this.plans.clear();
      this.shape = keys;
    }
    let plan = this.plans.get(name);
    if (plan === undefined) {
      const extra = le === undefined ? undefined : 'le';
      plan = LabelPlan.of(keys, name, this.names, this.low, this.high, this.order, extra) ?? null;
      this.plans.set(name, plan);
    }
    if (plan === null) return -1;
    this.last = plan;
    return plan.write(attributes, le, this.labelStrings, this.point, target);
  }

  /**
   * `keyHash` of the encoded labels that `encode` returned last, read from the bytes as they were
   * written (undefined: hash the string).
   */
  get lastHash(): number | undefined {
    return this.last?.hash;
  }
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
