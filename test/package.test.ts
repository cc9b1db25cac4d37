/**
 * The built package, as users load it: by name, through `import` and `require`
 * (`npm test` builds first).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
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
