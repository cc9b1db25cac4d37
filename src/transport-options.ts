/**
 * The `tls` and `proxy` options (and the proxy variables HTTPS_PROXY, HTTP_PROXY, ALL_PROXY,
 * NO_PROXY), checked at construction: a bad file, a certificate without its key or a proxy URL
 * that cannot be used fails here with an InvalidOptionError naming the option or variable.
 */
import type http from 'node:http';
import { inspect } from 'node:util';
import { diag } from '@opentelemetry/api';
import { getProxyForUrl } from 'proxy-from-env';
import { invalidVariable, type EnvironmentSources } from './env.js';
import { InvalidOptionError } from './options.js';
import { createAgent, describeProxy, type ProxyConfig, type TlsConfig } from './deliver/proxy.js';
import { TlsMaterial, TlsSettingError, type PemSource, type TlsOptions } from './deliver/tls.js';

export interface TransportOptions {
  tls?: TlsOptions;
  proxy?: string | URL | false;
  agent?: http.Agent;
}

const TLS_KEYS = ['ca', 'cert', 'key', 'caFile', 'certFile', 'keyFile', 'servername', 'insecureSkipVerify'];

export function resolveTransport(
  options: TransportOptions,
  url: URL,
  sources: EnvironmentSources = new Map(),
): { tls?: TlsConfig; proxy?: ProxyConfig } {
  const out: { tls?: TlsConfig; proxy?: ProxyConfig } = {};
  const tls = resolveTls(options, url, sources);
  if (tls) out.tls = tls;
  const proxy = resolveProxy(options, url);
  if (proxy) out.proxy = proxy;
  return out;
}

function resolveTls(options: TransportOptions, url: URL, sources: EnvironmentSources): TlsConfig | undefined {
  const value = options.tls as unknown;
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError('tls', `must be an object with some of ${TLS_KEYS.join(', ')}`, value);
  }
  const t = value as Record<string, unknown>;
  const name = (key: string): string => sources.get(`tls.${key}`) ?? `tls.${key}`;
  const fail = (option: string, expected: string): never => {
    throw option.startsWith('OTEL_')
      ? invalidVariable(option, expected)
      : new InvalidOptionError(option, expected);
  };
  for (const key of Object.keys(t)) {
    if (!TLS_KEYS.includes(key) && t[key] !== undefined) {
      fail(`tls.${key}`, `is not a TLS setting (expected one of ${TLS_KEYS.join(', ')})`);
    }
  }
  if (options.agent !== undefined) {
    fail('agent and tls', 'cannot be used together: put the TLS settings in your agent, or leave agent out');
  }
  if (url.protocol !== 'https:') fail('tls', 'needs an https:// url');

  const pem = (
    key: 'ca' | 'cert' | 'key',
    fileKey: 'caFile' | 'certFile' | 'keyFile',
  ): PemSource | undefined => {
    const inline = t[key];
    const file = t[fileKey];
    if (inline !== undefined && file !== undefined)
      fail(`tls.${key} and ${name(fileKey)}`, 'cannot be used together');
    if (file !== undefined) {
      if (typeof file !== 'string' || file === '') fail(name(fileKey), 'must be a file path');
      return { option: name(fileKey), file: file as string };
    }
    if (inline === undefined) return undefined;
    const items = Array.isArray(inline) && key === 'ca' ? inline : [inline];
    if (items.length === 0 || !items.every((p) => typeof p === 'string' || Buffer.isBuffer(p))) {
      fail(
        `tls.${key}`,
        `must be PEM text (a string or Buffer${key === 'ca' ? ', or an array of them' : ''})`,
      );
    }
    return { option: `tls.${key}`, pem: items as (string | Buffer)[] };
  };
  const ca = pem('ca', 'caFile');
  const cert = pem('cert', 'certFile');
  const key = pem('key', 'keyFile');
  if (cert && !key)
    fail(`tls.key or tls.keyFile`, `is needed with ${cert.option} (the client certificate's private key)`);
  if (key && !cert)
    fail(`tls.cert or tls.certFile`, `is needed with ${key.option} (the certificate of the key)`);

  const servername = t['servername'];
  if (servername !== undefined && (typeof servername !== 'string' || !/^[^\s/]+$/.test(servername))) {
    fail('tls.servername', 'must be a host name');
  }
  const insecure = t['insecureSkipVerify'];
  if (insecure !== undefined && typeof insecure !== 'boolean')
    fail(name('insecureSkipVerify'), 'must be true or false');

  let material: TlsMaterial;
  try {
    material = new TlsMaterial(
      { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) },
      Date.now,
      (message) => diag.warn(`prometheus remote write: TLS files changed but cannot be used: ${message}`),
    );
  } catch (err) {
    if (err instanceof TlsSettingError) fail(err.option, err.expected);
    throw err;
  }
  return {
    material,
    ...(servername !== undefined && { servername: servername as string }),
    insecureSkipVerify: insecure === true,
  };
}

/**
 * The agent for another endpoint the exporter talks to (the OAuth2 token endpoint): through the
 * proxy that `proxy` or the proxy variables give for its own URL (NO_PROXY applies to it), without
 * the receiver's TLS settings; undefined for a direct connection, or when the user's own `agent`
 * decides how the receiver is reached.
 */
export function agentForEndpoint(options: TransportOptions, url: URL): http.Agent | undefined {
  if (options.agent !== undefined) return undefined;
  const proxy = resolveProxy(options, url);
  return proxy === undefined ? undefined : createAgent(url, { proxy });
}

function resolveProxy(options: TransportOptions, url: URL): ProxyConfig | undefined {
  const value = options.proxy as unknown;
  if (value === false) return undefined;
  if (value !== undefined) {
    if (typeof value !== 'string' && !(value instanceof URL)) {
      throw new InvalidOptionError('proxy', 'must be an http:// URL, or false for none');
    }
    if (options.agent !== undefined) {
      throw new InvalidOptionError(
        'agent and proxy',
        'cannot be used together: give your agent the proxy, or leave agent out',
      );
    }
    return proxyConfig(proxyUrl(String(value), 'proxy'), 'proxy');
  }
  // A user's own agent decides itself how it connects.
  if (options.agent !== undefined) return undefined;
  const fromEnv = getProxyForUrl(url);
  if (fromEnv === '') return undefined;
  const variable = proxyVariable(url);
  return proxyConfig(proxyUrl(fromEnv, variable), variable);
}

/** The URL (with the proxy's credentials) kept out of `util.inspect` and JSON. */
function proxyConfig(url: URL, from: string): ProxyConfig {
  const shown = { url: describeProxy(url), from };
  return Object.defineProperties({ from } as ProxyConfig, {
    url: { value: url, enumerable: false },
    [inspect.custom]: { value: () => shown, enumerable: false },
    toJSON: { value: () => shown, enumerable: false },
  });
}

/** The variable proxy-from-env took the proxy from (lower case first, as it reads them). */
function proxyVariable(url: URL): string {
  const scheme = url.protocol.slice(0, -1);
  for (const name of [`${scheme}_proxy`, `${scheme.toUpperCase()}_PROXY`, 'all_proxy', 'ALL_PROXY']) {
    if (process.env[name]) return name;
  }
  return `${scheme.toUpperCase()}_PROXY`;
}

/** Never repeats the value: it may hold the proxy's credentials. */
function proxyUrl(text: string, option: string): URL {
  const fail = (expected: string): Error =>
    option === 'proxy' ? new InvalidOptionError(option, expected) : invalidVariable(option, expected);
  let proxy: URL;
  try {
    proxy = new URL(text);
  } catch {
    throw fail('must be a proxy URL such as http://proxy.example:3128');
  }
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') {
    throw fail(`must be an http:// or https:// proxy, not ${proxy.protocol}//`);
  }
  if (proxy.hostname === '') throw fail('must name the proxy host');
  return proxy;
}
