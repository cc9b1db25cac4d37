/**
 * The snappy package's default output buffers are never given back to the system on glibc
 * Linux (Brooooooklyn/snappy#323): an exporter would grow by about one request body per request.
 * src/wire/snappy.ts avoids it; this checks it in a process of its own, by its resident set.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { it } from 'node:test';

const child = fileURLToPath(new URL('./fixtures/snappy-memory-child.ts', import.meta.url));

it('1,500 compressions and decompressions of a 400 KB body keep the resident set flat', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', child]);
  const growthMiB = Number(stdout.trim());
  // Leaking, 1,500 bodies of 400 KB would add about 1,100 MiB (compressed and uncompressed).
  assert.ok(Number.isFinite(growthMiB) && growthMiB < 100, `resident set grew ${stdout.trim()} MiB`);
});
