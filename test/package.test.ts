/**
 * The built package, as users load it: by name, through `import` and `require`
 * (`npm test` builds first).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gauge, point, resourceMetrics } from './helpers/otel.js';
import { startMockReceiver } from './helpers/mock-receiver.js';

const NAME = 'opentelemetry-exporter-prometheus-remote-write';
const require = createRequire(import.meta.url);
type Api = typeof import('../src/index.js');

describe('built package', () => {
  it('has type declarations for both module systems', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    for (const target of [pkg.exports['.'].import, pkg.exports['.'].require]) {
      for (const file of [target.types, target.default]) {
        assert.ok(existsSync(new URL(`../${file}`, import.meta.url)), `${file} exists`);
      }
    }
    const dts = readFileSync(new URL('../dist/index.d.ts', import.meta.url), 'utf8');
    assert.match(dts, /PrometheusRemoteWriteExporterOptions/);
  });

  for (const [how, load] of [
    ['import', () => import(NAME) as Promise<Api>],
    ['require', async () => require(NAME) as Api],
  ] as const) {
    it(`works through ${how}: exports, sends, and decodes with proto/`, async () => {
      const api = await load();
      for (const name of [
        'PrometheusRemoteWriteExporter',
        'flushOnExit',
        'decodeWriteRequest',
        'RemoteWriteError',
        'InvalidOptionError',
        'RemoteWriteClient',
        'decodeRequestV2',
        'formatDebugText',
      ]) {
        assert.equal(typeof (api as Record<string, unknown>)[name], 'function', name);
      }
      const receiver = await startMockReceiver();
      try {
        const exporter = new api.PrometheusRemoteWriteExporter({ url: receiver.url });
        await new Promise((resolve) =>
          exporter.export(resourceMetrics([gauge({ name: 'g' }, [point(1, {}, Date.now())])]), resolve),
        );
        await exporter.shutdown();
        const decoded = api.decodeWriteRequest(receiver.requests[0]!.body);
        assert.ok(
          decoded.timeseries.some((s) => s.labels.some((l) => l.name === '__name__' && l.value === 'g')),
        );
      } finally {
        await receiver.close();
      }
    });
  }
});

describe('tarball', () => {
  /** `npm pack --dry-run --json`: what `npm publish` would ship, without writing a tarball. */
  function packList(): { path: string; size: number }[] {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return (JSON.parse(out) as { files: { path: string; size: number }[] }[])[0]!.files;
  }

  it('holds exactly the built code, its maps, the .proto files, README, LICENSE and package.json', () => {
    const files = packList().map((f) => f.path.replace(/chunk-[A-Za-z0-9_-]+\./, 'chunk-HASH.'));
    assert.deepEqual(files.sort(), [
      'LICENSE',
      'README.md',
      'dist/chunk-HASH.js',
      'dist/chunk-HASH.js.map',
      'dist/index.cjs',
      'dist/index.cjs.map',
      'dist/index.d.cts',
      'dist/index.d.ts',
      'dist/index.js',
      'dist/index.js.map',
      'dist/prw.js',
      'dist/prw.js.map',
      'dist/web.js',
      'dist/web.js.map',
      'package.json',
      'proto/remote.proto',
      'proto/types.proto',
      'proto/write-v2.proto',
    ]);
  });

  it('LICENSE is the Apache License 2.0 that package.json names', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    assert.equal(pkg.license, 'Apache-2.0');
    const text = readFileSync(new URL('../LICENSE', import.meta.url), 'utf8');
    assert.match(text, /Apache License\s+Version 2\.0, January 2004/);
    assert.match(text, /END OF TERMS AND CONDITIONS/);
  });

  it('source maps carry no source text', () => {
    const maps = packList().filter((f) => f.path.endsWith('.map'));
    assert.ok(maps.length > 0);
    for (const { path } of maps) {
      const map = JSON.parse(readFileSync(new URL(`../${path}`, import.meta.url), 'utf8')) as {
        sourcesContent?: unknown[];
      };
      assert.ok(
        !map.sourcesContent || map.sourcesContent.every((s) => s === null),
        `${path} has sourcesContent`,
      );
    }
  });
});
