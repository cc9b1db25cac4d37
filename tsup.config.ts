import { defineConfig } from 'tsup';

// One build, two module formats: `import` gets dist/index.js, `require` gets dist/index.cjs.
// dist/prw.js is the `prw` command (package.json `bin`).
export default defineConfig({
  entry: { index: 'src/index.ts', prw: 'src/cli/prw.ts' },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  shims: true,
  external: [
    '@opentelemetry/api',
    '@opentelemetry/core',
    '@opentelemetry/sdk-metrics',
    'protobufjs',
    'snappy',
  ],
});
