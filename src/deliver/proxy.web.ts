/**
 * proxy.ts for the build without Node-only imports (dist/web.js): `fetch` has no agent, and the
 * options that would need one (`agent`, `tls`, `proxy`, the proxy variables) are refused at
 * construction there (runtime-support.ts). The Sender still closes what it is given.
 */
import type http from 'node:http';

export type { AgentConfig, ProxyConfig, TlsConfig } from './proxy.js';

export function describeProxy(proxy: URL): string {
  return `${proxy.protocol}//${proxy.host}`;
}

export function createAgent(): http.Agent {
  return { destroy: () => undefined } as unknown as http.Agent;
}
