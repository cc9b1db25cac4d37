/**
 * `npm run bench [-- --json FILE] [-- --only a,c]`: the cost of the exporter's `export()` call
 * without the network, on five workloads of cumulative OTel data, each in its own process
 * (bench/workload.ts) so that RSS figures are independent:
 *   (a) 10,000 counter series, steady    (b) 1,000 histograms × 12 bounds, steady
 *   (c) 100,000 counter series, steady   (d) 1,000,000 counter series, first export and steady
 *   (e) 10,000 counter series with 10 % replaced at every export
 * then, in this process, side by side (bench/side-by-side.ts): the steady export of 100,000
 * counters with 4 shards against 1, and Remote-Write 2.0 against 1.0; and the time to drain a
 * backlog from a slow receiver with 1, 2, 4 and 8 shards (bench/drain.ts); and the native snappy
 * addon against its JavaScript fallback (bench/compression.ts); and the longest event-loop block
 * of Remote-Write 1.0 and 2.0 exports at 10k, 100k and 1M counters and 1k histograms, each in a
 * process of its own (bench/blocks.ts); and the exporter's memory per live series at 1M series,
 * v1 and v2 (bench/memory.ts); and first exports against the OTLP serializer's call, side by side.
 * `--only` takes workload letters, `shards`, `protocols`, `first`, `drain`, `compression`, `blocks`,
 * `memory` and `second`.
 * Per workload: median time of the synchronous `export()` call (translate → split into requests →
 * encode → compress → queue) and its split by the exporter's profile, samples per second per core,
 * compressed bytes per sample, peak RSS above the baseline, heap growth; on (a)–(c), the same
 * series through prometheus-remote-write, protobufjs 8 + snappy, snappy alone, and the OTLP
 * protobuf serializer (bench/compare.ts). Prints targets with PASS/FAIL, then Markdown tables for
 * bench/RESULTS.md.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BlockResult } from './blocks.js';
import type { MemoryResult } from './memory.js';
import { compressionTable, measureCompression, type CompressionResult } from './compression.js';
import { measureDrain, type DrainResult } from './drain.js';
import {
  measureFirstAgainstOtlp,
  measureProtocols,
  measureShards,
  secondAfterWarmCode,
  type SideBySide,
} from './side-by-side.js';
import { counterMetrics, streamPool } from './inputs.js';
import { WORKLOAD_IDS, type WorkloadId, type WorkloadResult } from './results.js';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const jsonFile = option('--json');
const only = option('--only')?.split(',');
const ids = WORKLOAD_IDS.filter((id) => !only || only.includes(id));
const runDrain = !only || only.includes('drain');
const runShards = !only || only.includes('shards');
const runProtocols = !only || only.includes('protocols');
const runCompression = !only || only.includes('compression');
const runBlocks = !only || only.includes('blocks');
const runMemory = !only || only.includes('memory');
const runSecond = !only || only.includes('second');
const runFirst = !only || only.includes('first');

const root = fileURLToPath(new URL('..', import.meta.url));
// Built (bench-build/*.js, `npm run bench`) or run from source with tsx (bench/*.ts): the
// children are run the same way.
const fromSource = import.meta.url.endsWith('.ts');
const script = (name: string): string =>
  fileURLToPath(new URL(`${name}.${fromSource ? 'ts' : 'js'}`, import.meta.url));
const workloadScript = script('workload');
const blocksScript = script('blocks');
const memoryScript = script('memory');
const loader = fromSource ? ['--import', 'tsx'] : [];

function runChild(args: string[], nodeFlags: readonly string[] = []): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', ...nodeFlags, ...loader, ...args], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', resolve);
  });
}

/**
 * bench/blocks.ts configurations: [kind, streams, protocol, V8's marking atomic]. At 1M series
 * most of a block outside the reported GC pauses is V8's incremental marking, whose steps run
 * inside the exporter's slices and are not reported as pauses. Run again with
 * `--no-incremental-marking`, marking is one reported pause, and what is left outside the
 * pauses is the exporter's own work (information: the flag changes how V8 collects).
 */
const BLOCK_RUNS: Array<[BlockResult['kind'], number, BlockResult['protocol'], boolean?]> = [
  ['counters', 10_000, 'v1'],
  ['counters', 10_000, 'v2'],
  ['counters', 100_000, 'v1'],
  ['counters', 100_000, 'v2'],
  ['histograms', 1_000, 'v1'],
  ['histograms', 1_000, 'v2'],
  ['counters', 1_000_000, 'v1'],
  ['counters', 1_000_000, 'v2'],
  ['counters', 1_000_000, 'v1', true],
  ['counters', 1_000_000, 'v2', true],
];

const blockName = (r: BlockResult): string =>
  `${int(r.series)} series (${r.kind === 'counters' ? 'counters' : `${int(r.series / 15)} histograms`}), ${r.protocol}` +
  (r.atomicMarking ? ", V8's marking atomic (--no-incremental-marking)" : '');

function machine() {
  const cpus = os.cpus();
  return {
    node: process.versions.node,
    v8: process.versions.v8,
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    /** Other work on the machine skews the figures: the 1-minute load average at the start. */
    loadAverage: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
  };
}

// --- formatting ---

const MiB = 2 ** 20;
const f = (x: number | undefined, digits = 1): string =>
  x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits);
const ms = (x: number | undefined): string => (x === undefined ? 'n/a' : f(x, x < 10 ? 2 : 1));
const int = (x: number): string => Math.round(x).toLocaleString('en-US');
const times = (x: number): string => `${f(x, x < 10 ? 2 : 1)}×`;

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

const nsPerSample = (r: WorkloadResult, t = r.median.total): number => (t * 1e6) / r.samplesPerExport;
const timedCount = (r: WorkloadResult): number => r.exports - r.warmup;
const rssAboveBaselineKB = (r: WorkloadResult): number => r.memory.peakRssKB - r.memory.baselineRssKB;
/** The peak of the first export alone: "the 1,000,000-series export" of the issue's target. */
const firstRssAboveBaselineKB = (r: WorkloadResult): number =>
  r.memory.peakFirstRssKB - r.memory.baselineRssKB;

/** The profile's phases, in the order the exporter's profile lists them. */
function phaseNames(results: WorkloadResult[]): string[] {
  return [...new Set(results.flatMap((r) => Object.keys(r.median.phases)))];
}

function costTable(results: WorkloadResult[]): string {
  const phases = phaseNames(results);
  return table(
    [
      'Workload',
      'Samples/export',
      'Requests',
      'Exports (timed)',
      'Export ms',
      ...phases,
      'between slices',
      'First export ms',
      'M samples/s/core',
      'ns/sample',
      'Compressed B/sample',
    ],
    results.map((r) => [
      r.title,
      int(r.samplesPerExport),
      int(r.requestsPerExport),
      `${r.exports} (${timedCount(r)})`,
      ms(r.median.total),
      ...phases.map((name) => ms(r.median.phases[name])),
      ms(r.median.other),
      ms(r.cold.total),
      f(r.samplesPerExport / r.median.total / 1000, 2),
      int(nsPerSample(r)),
      f(r.compressedBytesPerExport / r.samplesPerExport, 2),
    ]),
  );
}

function coldTable(results: WorkloadResult[]): string {
  const phases = phaseNames(results);
  return table(
    [
      'Workload',
      'First export ms',
      ...phases,
      'between slices',
      'ns/sample',
      'Frames built after it ms',
      'Second export ms',
    ],
    results.map((r) => [
      r.title,
      ms(r.cold.total),
      ...phases.map((name) => ms(r.cold.phases[name])),
      ms(r.cold.other),
      int(nsPerSample(r, r.cold.total)),
      ms(r.framesBuiltAfterFirstMs),
      ms(r.second.total),
    ]),
  );
}

function memoryTable(results: WorkloadResult[]): string {
  return table(
    [
      'Workload',
      'Exports',
      'Baseline RSS MiB',
      'Peak RSS MiB',
      'Peak after first export MiB',
      'Peak after its frames MiB',
      'Peak − baseline MiB',
      'Uncompressed body MiB/export',
      '(Peak − baseline) ÷ body',
      'Heap after N exports MiB',
      'Heap after last MiB',
      'Heap growth',
      'RSS outside V8 at end MiB',
    ],
    results.map((r) => {
      const m = r.memory;
      const above = rssAboveBaselineKB(r) * 1024;
      return [
        r.title,
        String(r.exports),
        f(m.baselineRssKB / 1024, 0),
        f(m.peakRssKB / 1024, 0),
        f(m.peakFirstRssKB / 1024, 0),
        f(m.peakFramedRssKB / 1024, 0),
        f(above / MiB, 0),
        f(r.rawBytesPerExport / MiB, 1),
        f(above / r.rawBytesPerExport, 2),
        `${f(m.heapEarly / MiB, 1)} (N=${m.heapEarlyAt})`,
        f(m.heapLate / MiB, 1),
        `${f((m.heapLate / m.heapEarly - 1) * 100, 1)} %`,
        f((m.endRss - m.endHeapTotal - m.endExternal) / MiB, 0),
      ];
    }),
  );
}

function comparisonTable(results: WorkloadResult[]): string {
  const rows = results.flatMap((r) => {
    const c = r.comparison;
    if (!c) return [];
    const ours = r.median.total;
    return [
      [
        r.title,
        ms(ours),
        `${ms(c.snappyAlone)} (ours ${times(ours / c.snappyAlone)})`,
        c.snappyInterleaved === undefined || c.oursOverSnappyInterleaved === undefined
          ? '—'
          : `${ms(c.snappyInterleaved)} (ours ${times(c.oursOverSnappyInterleaved)})`,
        f(r.rawBytesPerExport / 1e6 / (c.snappyAlone / 1000), 0),
        `${ms(c.promRemoteWrite)} (${times(c.promRemoteWrite / ours)})`,
        `${ms(c.protobufjs)} (${times(c.protobufjs / ours)})`,
        `${ms(c.otlp)} (${times(c.otlp / ours)})`,
        String(c.iterations),
      ],
    ];
  });
  return table(
    [
      'Workload',
      'Ours ms',
      'snappy alone ms (ours ÷ it)',
      'snappy alone after each export ms (median of ours ÷ it)',
      'snappy MB/s',
      'prometheus-remote-write ms (ours N× faster)',
      'protobufjs 8 + snappy ms (N×)',
      'OTLP protobuf ms (N×)',
      'Repetitions',
    ],
    rows,
  );
}

interface Target {
  name: string;
  measured: string;
  limit: string;
  pass: boolean | undefined;
}

function targets(
  byId: Map<WorkloadId, WorkloadResult>,
  drain: DrainResult[],
  sides: SideBySide[],
  blocks: BlockResult[],
  memory: MemoryResult[],
): Target[] {
  const a = byId.get('a');
  const d = byId.get('d');
  const e = byId.get('e');
  const out: Target[] = [];
  const add = (name: string, value: number | undefined, limit: string, pass: (v: number) => boolean) =>
    out.push({
      name,
      measured: value === undefined ? 'not run' : times(value),
      limit,
      pass: value === undefined ? undefined : pass(value),
    });
  const c = a?.comparison;
  const ours = a?.median.total;
  add(
    '(a) our export ÷ snappy alone (each export ÷ the snappy pass right after it, median)',
    c?.oursOverSnappyInterleaved,
    '≤ 2.0×',
    (v) => v <= 2,
  );
  out.push({
    name: '(a) our median export ÷ snappy alone timed after all exports (information)',
    measured: c && ours ? times(ours / c.snappyAlone) : 'not run',
    limit: '—',
    pass: undefined,
  });
  add(
    '(a) faster than prometheus-remote-write',
    c && ours && c.promRemoteWrite / ours,
    '≥ 20×',
    (v) => v >= 20,
  );
  add('(a) faster than protobufjs 8 + snappy', c && ours && c.protobufjs / ours, '≥ 4×', (v) => v >= 4);
  add('(a) faster than OTLP protobuf serialization', c && ours && c.otlp / ours, '> 1×', (v) => v > 1);
  add(
    '(d) steady cost per sample ÷ (a)',
    a && d && nsPerSample(d) / nsPerSample(a),
    '≤ 1.5×',
    (v) => v <= 1.5,
  );
  for (const r of [a, byId.get('c')]) {
    if (r === undefined) continue;
    add(
      `${r.title}: second export (frames built after the first) ÷ steady median`,
      r.second.total / r.median.total,
      '≤ 2×',
      (v) => v <= 2,
    );
  }
  out.push({
    name: '(d) first export cost per sample ÷ (a) first export (information)',
    measured: a && d ? times(nsPerSample(d, d.cold.total) / nsPerSample(a, a.cold.total)) : 'not run',
    limit: '—',
    pass: undefined,
  });
  add(
    '(d) (peak RSS of the first export − baseline) ÷ uncompressed body bytes of one export',
    d && (firstRssAboveBaselineKB(d) * 1024) / d.rawBytesPerExport,
    '< 3×',
    (v) => v < 3,
  );
  out.push({
    name: '(d) the same once its frames were built after it (information)',
    measured: d
      ? times(((d.memory.peakFramedRssKB - d.memory.baselineRssKB) * 1024) / d.rawBytesPerExport)
      : 'not run',
    limit: '—',
    pass: undefined,
  });
  out.push({
    name: '(d) the same over all its exports, each with a new input (information)',
    measured: d ? times((rssAboveBaselineKB(d) * 1024) / d.rawBytesPerExport) : 'not run',
    limit: '—',
    pass: undefined,
  });
  for (const r of byId.values()) {
    const b = r.longestBlockMs;
    const longest = Math.max(b.first, b.second, b.steady);
    out.push({
      name: `${r.title}: longest event-loop block, GC pauses included (first / second / later exports)`,
      measured: `${ms(longest)} ms (${ms(b.first)} / ${ms(b.second)} / ${ms(b.steady)})`,
      limit: '≤ 20 ms',
      pass: longest <= 20,
    });
  }
  for (const r of blocks) {
    const all = [r.first, r.second, r.steady, r.between];
    const longest = Math.max(...all.map((b) => b.ms));
    const outside = Math.max(...all.map((b) => b.outsideGcMs));
    if (r.atomicMarking) {
      out.push({
        name: `(blocks) ${blockName(r)}: longest block outside GC pauses, the exporter's own work (information)`,
        measured: `${ms(outside)} ms`,
        limit: '—',
        pass: undefined,
      });
      continue;
    }
    out.push({
      name: `(blocks) ${blockName(r)}: longest event-loop block, exports and between them, GC pauses included (outside them)`,
      measured: `${ms(longest)} ms (${ms(outside)} ms)`,
      limit: '≤ 20 ms',
      pass: longest <= 20,
    });
  }
  for (const r of memory) {
    const total = r.heapPerSeries + r.outsidePerSeries;
    out.push({
      name: `(memory) exporter state per live series at ${int(r.series)} series, ${r.protocol}: heap + outside it, above a collect-only control`,
      measured: `${f(total, 0)} B (${f(r.heapPerSeries, 0)} + ${f(r.outsidePerSeries, 0)})`,
      limit: '≤ 600 B',
      pass: total <= 600,
    });
  }
  for (const side of sides) {
    if (side.limit === undefined) {
      out.push({
        name: `(side by side) ${side.name} (information)`,
        measured: times(side.steadyMs[1] / side.steadyMs[0]),
        limit: '—',
        pass: undefined,
      });
      continue;
    }
    const limit = side.limit;
    add(`(side by side) ${side.name}`, side.steadyMs[1] / side.steadyMs[0], `≤ ${limit}×`, (v) => v <= limit);
  }
  const drain1 = drain.find((r) => r.shards === 1);
  const drain4 = drain.find((r) => r.shards === 4);
  add(
    '(drain) backlog to a slow receiver: 1 shard ÷ 4 shards, drain time',
    drain1 && drain4 && drain1.drainMs / drain4.drainMs,
    '≥ 3×',
    (v) => v >= 3,
  );
  add(
    `(e) heap after ${e?.exports ?? 100} exports ÷ after ${e?.memory.heapEarlyAt ?? 10}`,
    e && e.memory.heapLate / e.memory.heapEarly,
    '≤ 1.10×',
    (v) => v <= 1.1,
  );
  return out;
}

const verdict = (t: Target): string => (t.pass === undefined ? '—' : t.pass ? 'PASS' : 'FAIL');

function notes(results: WorkloadResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    if (r.shortened) lines.push(`${r.title}: ${r.shortened}.`);
    else if (r.exports < 100) lines.push(`${r.title}: ${r.exports} exports (first ${r.warmup} not timed).`);
    const c = r.comparison;
    if (c && c.protobufjsRawBytes !== r.rawBytesPerExport) {
      lines.push(
        `${r.title}: protobufjs bodies ${int(c.protobufjsRawBytes)} B vs ours ${int(r.rawBytesPerExport)} B uncompressed.`,
      );
    }
  }
  return lines;
}

// --- main ---

const info = machine();
const started = Date.now();
console.log(
  `node ${info.node} (V8 ${info.v8}), ${info.cores} × ${info.cpu}, ${info.memoryGiB} GiB, ${info.kernel}, ` +
    `load average ${info.loadAverage}`,
);
const dir = mkdtempSync(join(os.tmpdir(), 'prw-bench-'));
const results: WorkloadResult[] = [];
const failures: string[] = [];
for (const id of ids) {
  const outFile = join(dir, `${id}.json`);
  console.log(`\nworkload (${id}) …`);
  const t0 = Date.now();
  const code = await runChild([workloadScript, id, '--out', outFile]);
  if (code !== 0) {
    failures.push(`(${id}) exited with code ${code}`);
    console.error(`workload (${id}) FAILED (exit code ${code}); see the error above`);
    continue;
  }
  const r = JSON.parse(readFileSync(outFile, 'utf8')) as WorkloadResult;
  results.push(r);
  console.log(
    `  ${r.title}: ${ms(r.median.total)} ms per export (median of ${timedCount(r)}), ` +
      `${f(r.samplesPerExport / r.median.total / 1000, 2)} M samples/s/core, ` +
      `peak RSS ${f(r.memory.peakRssKB / 1024, 0)} MiB; ${f((Date.now() - t0) / 1000, 0)} s`,
  );
}
const blocks: BlockResult[] = [];
if (runBlocks) {
  console.log('\nlongest event-loop blocks, v1 and v2, each configuration in its own process …');
  for (const [kind, streams, protocol, atomicMarking] of BLOCK_RUNS) {
    const outFile = join(dir, `blocks-${kind}-${streams}-${protocol}${atomicMarking ? '-atomic' : ''}.json`);
    const code = await runChild(
      [blocksScript, String(streams), protocol, kind, '--out', outFile],
      atomicMarking ? ['--no-incremental-marking'] : [],
    );
    if (code !== 0) {
      failures.push(
        `blocks ${kind} ${streams} ${protocol}${atomicMarking ? ' (marking atomic)' : ''} exited with code ${code}`,
      );
      continue;
    }
    const r = JSON.parse(readFileSync(outFile, 'utf8')) as BlockResult;
    blocks.push(r);
    const b = (x: BlockResult['first']): string => `${ms(x.ms)} (${ms(x.outsideGcMs)})`;
    console.log(
      `  ${blockName(r)}: first ${b(r.first)}, second ${b(r.second)}, later ${b(r.steady)}, between ${b(r.between)} ms`,
    );
  }
}
const memory: MemoryResult[] = [];
if (runMemory) {
  console.log('\nexporter memory per live series, 1M counters, v1 and v2 …');
  for (const protocol of ['v1', 'v2'] as const) {
    const outFile = join(dir, `memory-${protocol}.json`);
    const code = await runChild([memoryScript, '1000000', protocol, '--out', outFile]);
    if (code !== 0) {
      failures.push(`memory ${protocol} exited with code ${code}`);
      continue;
    }
    const r = JSON.parse(readFileSync(outFile, 'utf8')) as MemoryResult;
    memory.push(r);
    console.log(
      `  ${protocol}: ${f(r.heapPerSeries, 0)} B on the heap + ${f(r.outsidePerSeries, 0)} B outside it per series`,
    );
  }
}
rmSync(dir, { recursive: true, force: true });
const sides: SideBySide[] = [];
if (runShards) {
  console.log('\n4 shards against 1, side by side …');
  sides.push(await measureShards());
}
if (runProtocols) {
  console.log('\nRemote-Write 2.0 against 1.0, side by side …');
  sides.push(...(await measureProtocols()));
}
if (runFirst) {
  console.log('\nfirst exports against the OTLP serializer, side by side …');
  sides.push(...(await measureFirstAgainstOtlp()));
}
if (runSecond) {
  console.log('\nsecond export against the steady ones, code warm …');
  for (const n of [10_000, 100_000]) {
    const pool = streamPool(n);
    sides.push(
      await secondAfterWarmCode(
        `second export ÷ steady, code warm, ${n / 1000}k counters`,
        (k) => counterMetrics(pool, k),
        n > 10_000 ? 3 : 6,
      ),
    );
  }
}
for (const side of sides)
  console.log(
    `  ${side.name}: ${ms(side.steadyMs[1])} ms ÷ ${ms(side.steadyMs[0])} ms (median of ${side.exports})`,
  );
let drain: DrainResult[] = [];
if (runDrain) {
  console.log('\nbacklog drain to a slow receiver …');
  drain = await measureDrain();
  for (const r of drain)
    console.log(
      `  ${r.shards} shard(s): ${r.requests} requests in ${ms(r.drainMs)} ms, ${r.maxInFlight} in flight at most`,
    );
}

let compression: CompressionResult[] = [];
if (runCompression) {
  console.log('\nsnappy: the native addon against snappyjs (the fallback without Node-API) …');
  compression = await measureCompression();
  for (const r of compression)
    console.log(`  ${r.encoder}: ${r.msPerBody.toFixed(3)} ms per body, ${r.mbPerSecond.toFixed(0)} MB/s`);
}

const byId = new Map(results.map((r) => [r.id, r]));
const targetList = targets(byId, drain, sides, blocks, memory);
console.log('\nTargets');
for (const t of targetList)
  console.log(`  ${verdict(t).padEnd(4)}  ${t.name}: ${t.measured} (target ${t.limit})`);
for (const line of notes(results)) console.log(`  note: ${line}`);
for (const line of failures) console.log(`  FAILED: ${line}`);
const wall = (Date.now() - started) / 1000;
console.log(`\nTotal ${f(wall, 0)} s.`);

const markdown = [
  `Run of ${new Date().toISOString().slice(0, 10)}, load average ${info.loadAverage} at the start, ` +
    `${f(wall, 0)} s in all.`,
  '',
  `### Export cost (median ms of the timed exports; phases from the exporter's profile, each its own median)`,
  '',
  costTable(results),
  '',
  '### First export of the process (cold: every series new, code not yet optimized)',
  '',
  coldTable(results),
  '',
  '### Memory',
  '',
  memoryTable(results),
  '',
  '### Same series, other implementations (median ms per export)',
  '',
  comparisonTable(results),
  '',
  'prometheus-remote-write and protobufjs get the labels and samples of our bodies, ready-made, one call ' +
    'per request of ours (≤ 2000 samples); snappy alone compresses our uncompressed bodies; OTLP ' +
    'serializes the same ResourceMetrics. N× = their time ÷ ours.',
  '',
  ...(sides.length > 0
    ? [
        '### Side by side (one process, the same input, exported alternately; median ms an export held the thread)',
        '',
        table(
          ['Comparison', 'First configuration ms', 'Second configuration ms', 'Second ÷ first'],
          sides.map((r) => [
            r.name,
            ms(r.steadyMs[0]),
            ms(r.steadyMs[1]),
            times(r.steadyMs[1] / r.steadyMs[0]),
          ]),
        ),
        '',
      ]
    : []),
  ...(drain.length > 0
    ? [
        '### Backlog drain (6,400 series in requests of 100, receiver answering each after 50 ms)',
        '',
        table(
          ['Shards (maxConcurrentRequests)', 'Requests', 'Drain ms', 'In flight at most'],
          drain.map((r) => [String(r.shards), String(r.requests), ms(r.drainMs), String(r.maxInFlight)]),
        ),
        '',
      ]
    : []),
  ...(blocks.length > 0
    ? [
        '### Longest event-loop block (ms; in brackets, less the GC pauses that started in it)',
        '',
        table(
          ['Configuration', 'First export', 'Second export', 'Exports 3–5', 'Between exports (frames built)'],
          blocks.map((r) => [
            blockName(r),
            ...[r.first, r.second, r.steady, r.between].map((b) => `${ms(b.ms)} (${ms(b.outsideGcMs)})`),
          ]),
        ),
        '',
      ]
    : []),
  ...(compression.length > 0
    ? [
        '### Snappy encoders (bodies of one export of 10,000 counters, RW 1.0)',
        '',
        compressionTable(compression),
        '',
      ]
    : []),
  '### Targets',
  '',
  table(
    ['Target', 'Measured', 'Target', 'Result'],
    targetList.map((t) => [t.name, t.measured, t.limit, verdict(t)]),
  ),
  ...(notes(results).length > 0 ? ['', ...notes(results).map((n) => `- ${n}`)] : []),
  ...(failures.length > 0 ? ['', ...failures.map((n) => `- FAILED: ${n}`)] : []),
].join('\n');
console.log('\n--- Markdown (bench/RESULTS.md) ---\n');
console.log(markdown);

if (jsonFile) {
  const json = {
    date: new Date().toISOString(),
    machine: info,
    wallSeconds: wall,
    results,
    targets: targetList,
    failures,
  };
  writeFileSync(jsonFile, JSON.stringify(json, null, 2) + '\n');
  console.log(`\nJSON written to ${jsonFile}`);
}
if (failures.length > 0) process.exitCode = 1;
