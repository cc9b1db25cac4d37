/**
 * What LabelStrings (wire/label-strings.ts) holds for a series, read the way RW 2.0's encoder
 * reads it: the names and values of its labels in their encoded order, as UTF-8 bytes in latin1
 * strings, an empty varying value leaving its label out.
 */
import { CHUNK, PlanSymbols, type LabelStrings } from '../../src/wire/label-strings.js';

export function stringsAt(strings: LabelStrings, at: number): string[] {
  const chunk = strings.chunks[Math.floor(at / CHUNK)] as unknown[];
  const from = at % CHUNK;
  const plan = chunk[from];
  if (!(plan instanceof PlanSymbols)) throw new Error(`no series starts at ${at}`);
  const out: string[] = [];
  plan.names.forEach((name, l) => {
    const slot = plan.slots[l] as number;
    const value = slot < 0 ? (plan.values[l] as string) : (chunk[from + 1 + slot] as string);
    if (slot >= 0 && value === '') return;
    out.push(name, value);
  });
  return out;
}
