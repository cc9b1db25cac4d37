/**
 * What this build can use, fixed when it is built: this is the Node.js build (dist/index.*),
 * which Node, Bun and Deno load; runtime.web.ts replaces it in dist/web.js (Workers).
 */
export type Transport = 'node:http' | 'fetch';

export const RUNTIME = {
  /** How requests are sent. */
  transport: 'node:http' as Transport,
  /** node:http agents, TLS files, proxies and a file system (spoolDir) are there. */
  nodeApis: true,
} as const;
