/**
 * Resource and instrumentation scope → labels (OTel spec §Resource Attributes, §Instrumentation Scope).
 */
import type { Attributes } from '@opentelemetry/api';
import {
  attributeValueString,
  attributesToLabels,
  repairLabelMap,
  type LabelIssues,
  type LabelMap,
  type LabelNamer,
} from './attributes.js';

const SERVICE_NAME = 'service.name';
const SERVICE_NAMESPACE = 'service.namespace';
const SERVICE_INSTANCE_ID = 'service.instance.id';
/** The attributes that make `job` and `instance`; they identify the target, so they are not in target_info. */
const IDENTIFYING = new Set([SERVICE_NAME, SERVICE_NAMESPACE, SERVICE_INSTANCE_ID]);

export interface ResourceLabels {
  /** `job` and `instance`, put on every series. */
  readonly identity: LabelMap;
  /** Resource attributes promoted onto every series. */
  readonly promoted: LabelMap;
  /** Labels of the `target_info` series, or undefined when there is none to send. */
  readonly targetInfo: LabelMap | undefined;
}

export interface ResourceOptions {
  readonly promoteResourceAttributes: readonly string[] | 'all';
  readonly withoutTargetInfo: boolean;
}

/**
 * `job` = `[service.namespace/]service.name`, `instance` = `service.instance.id`; the other
 * attributes go into one `target_info` series, which is skipped when there are none or when
 * the resource has neither job nor instance (nothing to join it on).
 */
export function resourceLabels(
  attributes: Attributes,
  options: ResourceOptions,
  names: LabelNamer,
  issues?: LabelIssues,
): ResourceLabels {
  const identity: LabelMap = new Map();
  const name = attributeValueString(attributes[SERVICE_NAME]);
  const namespace = attributeValueString(attributes[SERVICE_NAMESPACE]);
  const instance = attributeValueString(attributes[SERVICE_INSTANCE_ID]);
  if (name) identity.set('job', namespace ? `${namespace}/${name}` : name);
  if (instance) identity.set('instance', instance);
  if (issues) repairLabelMap(identity, issues);

  const promoteAll = options.promoteResourceAttributes === 'all';
  const chosen: Attributes = {};
  for (const key of Object.keys(attributes)) {
    const wanted = promoteAll ? !IDENTIFYING.has(key) : options.promoteResourceAttributes.includes(key);
    if (wanted) chosen[key] = attributes[key];
  }
  const promoted = attributesToLabels(chosen, names, undefined, issues);

  let targetInfo: LabelMap | undefined;
  if (!options.withoutTargetInfo && identity.size > 0) {
    const rest = attributesToLabels(attributes, names, IDENTIFYING, issues);
    if (rest.size > 0) targetInfo = rest;
  }
  return { identity, promoted, targetInfo };
}

export interface ScopeLike {
  readonly name: string;
  readonly version?: string;
  readonly schemaUrl?: string;
  readonly attributes?: Attributes;
}

const SCOPE_LABELS = ['otel_scope_name', 'otel_scope_version', 'otel_scope_schema_url'];

/**
 * `otel_scope_name`, `otel_scope_version`, `otel_scope_schema_url` and `otel_scope_<attr>` for
 * scope attributes, the prefix added before the key is turned into a label name (so `_x` gives
 * `otel_scope_x`, not `otel_scope__x`); attributes that would collide with the first three are
 * dropped (OTel spec §Instrumentation Scope). Empty values vanish later with every other empty label.
 */
export function scopeLabels(scope: ScopeLike, names: LabelNamer, issues?: LabelIssues): LabelMap {
  const out: LabelMap = new Map();
  const attributes = scope.attributes;
  if (attributes && Object.keys(attributes).length > 0) {
    const prefixed: Attributes = {};
    for (const key of Object.keys(attributes)) prefixed['otel_scope_' + key] = attributes[key];
    for (const [name, value] of attributesToLabels(prefixed, names, undefined, issues)) {
      if (!SCOPE_LABELS.includes(name)) out.set(name, value);
    }
  }
  out.set('otel_scope_name', scope.name);
  if (scope.version) out.set('otel_scope_version', scope.version);
  if (scope.schemaUrl) out.set('otel_scope_schema_url', scope.schemaUrl);
  if (issues) repairLabelMap(out, issues);
  return out;
}
