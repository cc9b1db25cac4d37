/**
 * Sends compressed remote-write bodies: the fixed protocol headers, the user's headers and
 * credentials, the timeout, and a clear error for anything but 2xx. Knows nothing of OTel.
 */
import http from 'node:http';
import https from 'node:https';
import { post, redactUrl, type PostResult } from './http.js';

/** RW1 §Protocol: exactly these, whatever the user's headers say. */
export const RW1_HEADERS: Readonly<Record<string, string>> = {
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
};

/** Headers the protocol fixes: users may add headers, never replace these (RW1 §Protocol). */
export const RESERVED_HEADERS: readonly string[] = [
  'content-encoding',
  'content-type',
  'x-prometheus-remote-write-version',
  'user-agent',
  'content-length',
];

export function isReservedHeader(name: string): boolean {
  return RESERVED_HEADERS.includes(name.toLowerCase());
}

export interface SenderOptions {
  readonly url: URL;
  /** User headers, Authorization included; checked against the reserved names beforehand. */
  readonly headers: Readonly<Record<string, string>>;
  readonly userAgent: string;
  readonly timeoutMillis: number;
  readonly agent?: http.Agent;
}

/** A request the receiver did not accept, or that got no answer. Never holds credentials. */
export class RemoteWriteError extends Error {
  constructor(
    message: string,
    /** HTTP status, or undefined when no answer came (network error, timeout). */
    readonly status?: number,
    /** The first bytes of the receiver's answer. */
    readonly responseBody?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RemoteWriteError';
  }
}

export class Sender {
  private readonly headers: Record<string, string>;
  private readonly agent: http.Agent;
  private readonly ownsAgent: boolean;
  readonly target: string;

  constructor(private readonly options: SenderOptions) {
    // Protocol headers last: Node sets header names case-insensitively and the later one wins, so
    // no user header can replace them (options validation also refuses them up front).
    this.headers = { ...options.headers, ...RW1_HEADERS, 'User-Agent': options.userAgent };
    this.ownsAgent = options.agent === undefined;
    this.agent =
      options.agent ??
      new (options.url.protocol === 'https:' ? https.Agent : http.Agent)({ keepAlive: true });
    this.target = redactUrl(options.url);
  }

  /** Resolves on 2xx; rejects with a RemoteWriteError otherwise. */
  async send(body: Uint8Array): Promise<PostResult> {
    let result: PostResult;
    try {
      result = await post(body, {
        url: this.options.url,
        headers: this.headers,
        timeoutMillis: this.options.timeoutMillis,
        agent: this.agent,
      });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new RemoteWriteError(`remote write to ${this.target} failed: ${reason}`, undefined, undefined, {
        cause: err,
      });
    }
    if (result.status >= 200 && result.status < 300) return result;
    const body_ = result.bodyPrefix.trim();
    throw new RemoteWriteError(
      `remote write to ${this.target} failed: HTTP ${result.status} ${result.statusText}` +
        (body_ ? `: ${body_}` : ''),
      result.status,
      result.bodyPrefix,
    );
  }

  close(): void {
    if (this.ownsAgent) this.agent.destroy();
  }
}
