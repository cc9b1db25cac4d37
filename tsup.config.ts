import { defineConfig, type Options } from 'tsup';

// `import` gets dist/index.js, `require` gets dist/index.cjs; dist/prw.js is the `prw` command
// (package.json `bin`), ESM only: it shares its chunk with dist/index.js, and nothing requires
// it. The two builds run at once, so neither cleans dist/: `npm run build` empties it first.
const shared: Options = {
  dts: { entry: { index: 'src/index.ts' } },
  // Maps point into src/ for stack traces, without carrying its text (the tarball stays small).
  sourcemap: true,
  esbuildOptions(options) {
    options.sourcesContent = false;
  },
  clean: false,
  target: 'node20',
  shims: true,
  external: [
    // Optional peer dependencies of `sigv4`, loaded with import() only when it is used.
    '@aws-sdk/credential-provider-node',
    '@smithy/hash-node',
    '@smithy/signature-v4',
    '@opentelemetry/api',
    '@opentelemetry/core',
    '@opentelemetry/sdk-metrics',
    'http-proxy-agent',
    'https-proxy-agent',
    'protobufjs',
    'proxy-from-env',
    'snappy',
  ],
};

export default defineConfig([
  { ...shared, entry: { index: 'src/index.ts', prw: 'src/cli/prw.ts' }, format: ['esm'] },
  { ...shared, entry: { index: 'src/index.ts' }, format: ['cjs'] },
]);
