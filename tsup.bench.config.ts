import { defineConfig } from 'tsup';

/**
 * `npm run bench` runs the benchmark compiled the way the package is (esbuild, target node20,
 * names not kept), into bench-build/ (beside bench/, so that its paths to ../proto and the
 * package root hold). Run through tsx instead, our code is compiled with tsx's own options
 * (`keepNames` among them), while the peers compared with it run untransformed from
 * node_modules: the same first export of 100k counters took 232–284 ms that way against
 * 186–230 ms compiled (docs/decisions.md, "The bench runs the code as it is built").
 */
export default defineConfig({
  entry: {
    run: 'bench/run.ts',
    workload: 'bench/workload.ts',
    blocks: 'bench/blocks.ts',
    memory: 'bench/memory.ts',
  },
  outDir: 'bench-build',
  format: ['esm'],
  target: 'node20',
  // Packages are loaded from node_modules as a user's program would load them.
  skipNodeModulesBundle: true,
  sourcemap: true,
  clean: true,
  dts: false,
  silent: true,
});
