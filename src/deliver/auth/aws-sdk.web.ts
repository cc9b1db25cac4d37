/**
 * The AWS SDK packages that `sigv4` loads with import(), in the build without Node-only imports
 * (dist/web.js): there `sigv4` is refused at construction (runtime-support.ts), and a bundler
 * (wrangler's esbuild) must not look for packages a Worker has no use for.
 */
throw new Error('sigv4 is not supported in this runtime');
