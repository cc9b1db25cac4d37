import { defineConfig } from 'tsup';

// One build, two module formats: `import` gets dist/index.js, `require` gets dist/index.cjs.
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
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
