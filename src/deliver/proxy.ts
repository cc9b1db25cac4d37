/**
 * The connection agent: straight to the receiver, or through an HTTP proxy (a plain forward for
 * http:// receivers, a CONNECT tunnel for https:// ones, RFC 9110 §9.3.6), with the TLS settings
 * applied to the receiver at the end of the tunnel. The proxy code is the `http-proxy-agent` and
 * `https-proxy-agent` packages. Knows nothing of OTel.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { inspect } from 'node:util';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { PermanentTransportError, type TlsMaterial } from './tls.js';

/** TLS settings of the connection to the receiver. */
export interface TlsConfig {
  readonly material: TlsMaterial;
  readonly servername?: string;
  readonly insecureSkipVerify: boolean;
}

export interface ProxyConfig {
  /** The proxy, credentials (`http://user:pass@host:port`) included: never printed. */
  readonly url: URL;
  /** Where it was set, for messages: `proxy` or the environment variables. */
  readonly from: string;
}

export interface AgentConfig {
  readonly tls?: TlsConfig;
  readonly proxy?: ProxyConfig;
}

/** The proxy as messages may show it: scheme, host and port only (never its credentials). */
export function describeProxy(proxy: URL): string {
  return `${proxy.protocol}//${proxy.host}`;
}

/** A keep-alive agent for `url`, direct or through `config.proxy`, with `config.tls`. */
export function createAgent(url: URL, config: AgentConfig = {}): http.Agent {
  const secure = url.protocol === 'https:';
  const { tls, proxy } = config;
  const fixed = secure && tls ? staticTls(tls) : {};
  const material = secure ? tls?.material : undefined;
  if (proxy) {
    const agent = secure
      ? new TunnelAgent(proxy, fixed, material)
      : new ForwardAgent(proxy, { keepAlive: true });
    // agent-base guesses http/https from the call stack when asked; say it.
    agent.protocol = url.protocol;
    return agent;
  }
  if (!secure) return new http.Agent({ keepAlive: true });
  // No TLS session resumption when files may change: a resumed session would keep the old
  // client certificate (and skip checking the server against a new CA).
  const resumption = material?.watchesFiles ? { maxCachedSessions: 0 } : {};
  return new TlsAgent({ keepAlive: true, ...fixed, ...resumption }, material);
}

function staticTls(tls: TlsConfig): https.AgentOptions {
  return {
    ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
    ...(tls.insecureSkipVerify ? { rejectUnauthorized: false } : {}),
  };
}

/** An https.Agent that takes the current CA/certificate/key for each new connection. */
class TlsAgent extends https.Agent {
  constructor(
    options: https.AgentOptions,
    private readonly material: TlsMaterial | undefined,
  ) {
    super(options);
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    return super.createConnection(
      this.material ? { ...options, ...this.material.values() } : options,
      callback,
    );
  }
}

type TunnelConnect = HttpsProxyAgent<string>['connect'];

/** CONNECT through the proxy, then TLS to the receiver with the current material. */
class TunnelAgent extends HttpsProxyAgent<string> {
  constructor(
    private readonly proxyConfig: ProxyConfig,
    private readonly fixed: https.AgentOptions,
    private readonly material: TlsMaterial | undefined,
  ) {
    super(proxyConfig.url, { keepAlive: true });
  }

  /** The proxy URL (and so its credentials) is a field of the agent: never printed. */
  [inspect.custom](): string {
    return `TunnelAgent { proxy: '${describeProxy(this.proxyConfig.url)}' }`;
  }

  override async connect(...[req, opts]: Parameters<TunnelConnect>): ReturnType<TunnelConnect> {
    const target = { ...opts, ...this.fixed, ...(this.material ? this.material.values() : {}) };
    let answer: { statusCode: number; statusText: string } | undefined;
    const onAnswer = (connect: { statusCode: number; statusText: string }): void => {
      answer = connect;
    };
    req.once('proxyConnect', onAnswer);
    let socket: Awaited<ReturnType<TunnelConnect>>;
    try {
      socket = await super.connect(req, target as typeof opts);
    } catch (err) {
      throw proxyError(err, this.proxyConfig);
    } finally {
      req.off('proxyConnect', onAnswer);
    }
    if (answer && answer.statusCode !== 200) {
      // The proxy's own refusal, not the receiver's answer: say so. A 4xx (credentials, a port it
      // does not tunnel to) will not change by itself; a 5xx (it cannot reach the receiver) may.
      (socket as Duplex).destroy?.();
      const host = `${opts.host}:${opts.port}`;
      const message =
        `the proxy ${describeProxy(this.proxyConfig.url)} (from ${this.proxyConfig.from}) refused to ` +
        `open a tunnel (CONNECT) to ${host}: HTTP ${answer.statusCode} ${answer.statusText}` +
        (answer.statusCode === 407 || answer.statusCode === 401
          ? ': check the user and password in the proxy URL'
          : '');
      if (answer.statusCode >= 400 && answer.statusCode < 500) {
        throw new PermanentTransportError(message, undefined);
      }
      throw new Error(message);
    }
    return socket;
  }
}

type ForwardConnect = HttpProxyAgent<string>['connect'];

/** http:// receivers: the request goes to the proxy with the absolute URL. */
class ForwardAgent extends HttpProxyAgent<string> {
  constructor(
    private readonly proxyConfig: ProxyConfig,
    options: http.AgentOptions,
  ) {
    super(proxyConfig.url, options);
  }

  [inspect.custom](): string {
    return `ForwardAgent { proxy: '${describeProxy(this.proxyConfig.url)}' }`;
  }

  override async connect(...args: Parameters<ForwardConnect>): ReturnType<ForwardConnect> {
    try {
      return await super.connect(...args);
    } catch (err) {
      throw proxyError(err, this.proxyConfig);
    }
  }
}

/** A failure to reach the proxy says so, and which setting chose it (never its credentials). */
function proxyError(err: unknown, proxy: ProxyConfig): Error {
  const reason = err instanceof Error ? err.message : String(err);
  // No `code` copied: a TLS code of an https:// proxy must not read as the receiver's.
  return new Error(`cannot reach the proxy ${describeProxy(proxy.url)} (from ${proxy.from}): ${reason}`, {
    cause: err,
  });
}
