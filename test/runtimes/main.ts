/**
 * Run by Bun and Deno (test/runtimes.test.ts): `<runtime> main.ts <url> <runtime> <run>`;
 * prints the report as one JSON line.
 */
import { push } from './push.js';

const args = (globalThis as { process?: { argv: string[] } }).process?.argv.slice(2) ?? [];
const [url, runtime, run] = args;
if (!url || !runtime || !run) throw new Error('usage: main.ts <url> <runtime> <run>');
const report = await push(url, runtime, run);
console.log(JSON.stringify(report));
