import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { defineConfig } from 'tsup';
import type { Plugin } from 'esbuild';

const stubHttp = fileURLToPath(new URL('./src/deliver/node-http.web.ts', import.meta.url));
const stubAws = fileURLToPath(new URL('./src/deliver/auth/aws-sdk.web.ts', import.meta.url));

/**
 * The build without Node-only imports: each `./x.js` import whose `x.web.ts` exists is that file
 * instead (snappy without the addon, fetch instead of node:http, no spool, no TLS files), and
 * node:http/node:https (imported by the oauth2 module) and the AWS SDK packages (loaded by the
 * sigv4 module) are stubs: both options are refused there.
 */
const webModules: Plugin = {
  name: 'web-modules',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
      const web = join(args.resolveDir, args.path.replace(/\.js$/, '.web.ts'));
      return existsSync(web) && web !== args.importer ? { path: web } : undefined;
    });
    build.onResolve({ filter: /^node:https?$/ }, () => ({ path: stubHttp }));
    build.onResolve(
      { filter: /^(@smithy\/signature-v4|@smithy\/hash-node|@aws-sdk\/credential-provider-node)$/ },
      () => ({
        path: stubAws,
      }),
    );
  },
};

// dist/web.js, for Workers (package.json `exports` condition `workerd`), ESM only.
// `npm run build` empties dist/, then runs tsup.config.ts and this. `node:util` (inspect) and
// the `Buffer` and `process` globals stay: Workers have them with the `nodejs_compat` flag.
export default defineConfig({
  entry: { web: 'src/web.ts' },
  format: ['esm'],
  // Maps point into src/ for stack traces, without carrying its text, as the Node.js build's.
  sourcemap: true,
  esbuildOptions(options) {
    options.sourcesContent = false;
  },
  clean: false,
  splitting: false, // one file: the stubs' dynamic imports inlined
  target: 'es2022',
  platform: 'neutral',
  removeNodeProtocol: false,
  external: [
    '@opentelemetry/api',
    '@opentelemetry/core',
    '@opentelemetry/sdk-metrics',
    'protobufjs',
    'snappyjs',
    'proxy-from-env',
    'node:util',
  ],
  // Peer dependencies, which tsup leaves external by default: here the stub above instead.
  noExternal: ['@smithy/signature-v4', '@smithy/hash-node', '@aws-sdk/credential-provider-node'],
  esbuildPlugins: [webModules],
});
