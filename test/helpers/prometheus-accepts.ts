/**
 * What Prometheus checks in a remote-write body before it stores anything (and for which it
 * refuses the whole request): every label name and value non-empty and valid UTF-8, labels
 * sorted by name and unique, `__name__` present, one entry per series in a request, integer
 * timestamps, and native histograms whose spans, deltas and counts agree
 * (tsdb ValidateHistogram). The strings are read from the raw bytes, since a decoder that
 * replaces bad UTF-8 would hide it; the rest from protobufjs' decoding (src/wire/decode.ts).
 */
import { decodeRequestV2, decodeWriteRequest, type DecodedHistogram } from '../../src/wire/decode.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

interface Field {
  field: number;
  wire: number;
  /** Length-delimited payload, or undefined for other wire types. */
  bytes?: Uint8Array;
  varint?: number;
}

function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const b = buf[pos++] as number;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) yield { field, wire, varint: varint() };
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const len = varint();
      if (pos + len > buf.length) throw new Error('truncated field');
      yield { field, wire, bytes: buf.subarray(pos, pos + len) };
      pos += len;
    } else throw new Error(`wire type ${wire}`);
  }
}

function text(bytes: Uint8Array | undefined, what: string, problems: string[]): string {
  try {
    return utf8.decode(bytes ?? new Uint8Array());
  } catch {
    problems.push(`${what} is not valid UTF-8`);
    return '\uFFFD';
  }
}

function checkLabels(labels: Array<[Uint8Array, Uint8Array, string, string]>, problems: string[]): string {
  const where = labels.map(([, , n, v]) => `${n}=${JSON.stringify(v)}`).join(',');
  for (let i = 0; i < labels.length; i++) {
    const [name, value, n] = labels[i]!;
    if (name.length === 0) problems.push(`empty label name in {${where}}`);
    if (value.length === 0) problems.push(`empty value of label ${n} in {${where}}`);
    if (i > 0 && Buffer.compare(labels[i - 1]![0], name) >= 0)
      problems.push(`labels not sorted and unique in {${where}}`);
  }
  if (!labels.some(([, , n]) => n === '__name__')) problems.push(`no __name__ in {${where}}`);
  return where;
}

function checkHistogram(h: DecodedHistogram, where: string, problems: string[]): void {
  if (Number.isNaN(h.sum) && (h.countInt ?? 0) === 0) return; // a stale marker
  const custom = h.schema === -53;
  if (!custom && (h.schema < -4 || h.schema > 8)) problems.push(`schema ${h.schema} in {${where}}`);
  let total = h.zeroCountInt ?? 0;
  for (const [spans, deltas] of [
    [h.positiveSpans, h.positiveDeltas],
    [h.negativeSpans, h.negativeDeltas],
  ] as const) {
    const length = spans.reduce((n, s) => n + s.length, 0);
    if (length !== deltas.length)
      problems.push(`spans cover ${length} buckets, ${deltas.length} deltas in {${where}}`);
    let count = 0;
    for (const d of deltas) {
      count += d;
      if (count < 0) problems.push(`negative bucket count in {${where}}`);
      total += count;
    }
  }
  if (total > (h.countInt ?? 0)) problems.push(`buckets hold ${total} > count ${h.countInt} in {${where}}`);
  if (custom && h.positiveSpans.length > 0) {
    const last = h.positiveSpans.reduce((end, s, i) => (i === 0 ? s.offset : end + s.offset) + s.length, 0);
    if (last - 1 > h.customValues.length) problems.push(`custom bucket past the bounds in {${where}}`);
  }
}

/** Everything in one uncompressed RW 1.0 body that Prometheus would refuse the request for. */
export function v1BodyProblems(raw: Uint8Array): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const decoded = decodeWriteRequest(raw, { compressed: false });
  let index = 0;
  for (const top of fields(raw)) {
    if (top.field !== 1 || !top.bytes) continue;
    const labels: Array<[Uint8Array, Uint8Array, string, string]> = [];
    for (const f of fields(top.bytes)) {
      if (f.field !== 1 || !f.bytes) continue;
      let name: Uint8Array = new Uint8Array();
      let value: Uint8Array = new Uint8Array();
      for (const g of fields(f.bytes)) {
        if (g.field === 1 && g.bytes) name = g.bytes;
        if (g.field === 2 && g.bytes) value = g.bytes;
      }
      labels.push([
        name,
        value,
        text(name, 'a label name', problems),
        text(value, 'a label value', problems),
      ]);
    }
    const where = checkLabels(labels, problems);
    if (seen.has(where)) problems.push(`series {${where}} twice in one request`);
    seen.add(where);
    const series = decoded.timeseries[index++];
    if (!series) {
      problems.push('protobufjs decoded fewer series');
      continue;
    }
    if (series.samples.length + (series.histograms?.length ?? 0) === 0)
      problems.push(`no sample in {${where}}`);
    for (const s of series.samples) {
      if (!Number.isSafeInteger(s.timestamp) || s.timestamp < 0)
        problems.push(`timestamp ${s.timestamp} in {${where}}`);
    }
    for (const h of series.histograms ?? []) checkHistogram(h, where, problems);
  }
  for (const f of fields(raw)) {
    if (f.field !== 3 || !f.bytes) continue;
    for (const g of fields(f.bytes)) if (g.bytes) text(g.bytes, 'a metadata string', problems);
  }
  return problems;
}

/** The same for a RW 2.0 body: symbols, then label references by pairs. */
export function v2BodyProblems(raw: Uint8Array): string[] {
  const problems: string[] = [];
  const symbols: Uint8Array[] = [];
  for (const f of fields(raw)) {
    if (f.field === 4 && f.bytes) {
      text(f.bytes, 'a symbol', problems);
      symbols.push(f.bytes);
    }
  }
  if (symbols.length === 0 || symbols[0]!.length !== 0) problems.push('symbols do not start with ""');
  const decoded = decodeRequestV2(raw, { compressed: false });
  const seen = new Set<string>();
  for (const series of decoded.timeseries) {
    const refs = series.labelsRefs;
    if (refs.length % 2 !== 0) problems.push('an odd number of label references');
    const labels: Array<[Uint8Array, Uint8Array, string, string]> = [];
    for (let i = 0; i + 1 < refs.length; i += 2) {
      const name = symbols[refs[i]!];
      const value = symbols[refs[i + 1]!];
      if (!name || !value) {
        problems.push('a label reference past the symbols');
        continue;
      }
      labels.push([name, value, decoded.symbols[refs[i]!]!, decoded.symbols[refs[i + 1]!]!]);
    }
    const where = checkLabels(labels, problems);
    if (seen.has(where)) problems.push(`series {${where}} twice in one request`);
    seen.add(where);
    if (series.samples.length + series.histograms.length === 0) problems.push(`no sample in {${where}}`);
    for (const h of series.histograms) checkHistogram(h, where, problems);
  }
  return problems;
}
