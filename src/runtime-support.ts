/**
 * Options that only the Node.js build can honour, refused at construction by the build that
 * sends with `fetch` (dist/web.js, for Workers): silently ignoring a CA, a proxy or a spool
 * directory would send data where, or keep it how, the user did not ask.
 */
import { getProxyForUrl } from 'proxy-from-env';
import { invalidVariable, type EnvironmentSources } from './env.js';
import { InvalidOptionError, type PrometheusRemoteWriteExporterOptions } from './options.js';
import { RUNTIME } from './runtime.js';

const FETCH = 'is not supported in this runtime: requests go through fetch, which takes no';

export function checkRuntimeSupport(
  options: PrometheusRemoteWriteExporterOptions,
  url: URL,
  sources: EnvironmentSources,
  nodeApis: boolean = RUNTIME.nodeApis,
): void {
  if (nodeApis) return;
  if (options.agent !== undefined) throw new InvalidOptionError('agent', `${FETCH} http.Agent`);
  if (options.spoolDir !== undefined) {
    throw new InvalidOptionError(
      'spoolDir',
      'is not supported in this runtime: it has no file system (node:fs)',
    );
  }
  if (options.oauth2 !== undefined) {
    throw new InvalidOptionError(
      'oauth2',
      'is not supported in this runtime: its token request needs node:http',
    );
  }
  if (options.sigv4 !== undefined) {
    throw new InvalidOptionError(
      'sigv4',
      'is not supported in this runtime: the AWS SDK packages it loads need Node',
    );
  }
  if (options.tls !== undefined) {
    const expected = `${FETCH} CA, client certificate or server name (TLS is the runtime's own)`;
    // Name the variable when the setting came from one (env.ts records where each came from).
    const variable = [...sources].find(([key]) => key.startsWith('tls.'))?.[1];
    throw variable ? invalidVariable(variable, expected) : new InvalidOptionError('tls', expected);
  }
  if (options.proxy !== undefined && options.proxy !== false) {
    throw new InvalidOptionError('proxy', `${FETCH} proxy`);
  }
  if (options.proxy === undefined && getProxyForUrl(url) !== '') {
    const scheme = url.protocol.slice(0, -1);
    const variable =
      [`${scheme}_proxy`, `${scheme.toUpperCase()}_PROXY`, 'all_proxy', 'ALL_PROXY'].find(
        (name) => globalThis.process?.env?.[name],
      ) ?? `${scheme.toUpperCase()}_PROXY`;
    throw invalidVariable(
      variable,
      `is set, but this runtime sends with fetch, which takes no proxy: unset it, or give proxy: false`,
    );
  }
}
