/**
 * Sends compressed remote-write bodies: the fixed protocol headers, the user's headers and
 * credentials, the timeout, and a clear error for anything but 2xx. Knows nothing of OTel.
 */
import http from 'node:http';
import { AuthError, reasonOf, type Authorizer } from './auth/authorizer.js';
import { post, redactUrl, type PostResult } from './http.js';
import { createAgent, type AgentConfig } from './proxy.js';

/** The encoding of a request body. */
export type WireProtocol = 'v1' | 'v2';

/** RW1 §Protocol: exactly these, whatever the user's headers say. */
export const RW1_HEADERS: Readonly<Record<string, string>> = {
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
};

/** RW2 §Protocol. No space after `;`: client_golang reads "; proto=" as 1.0 (spec-digest §2.1). */
export const RW2_HEADERS: Readonly<Record<string, string>> = {
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
  'X-Prometheus-Remote-Write-Version': '2.0.0',
};

/** Headers the protocol fixes: users may add headers, never replace these (RW1 §Protocol). */
export const RESERVED_HEADERS: readonly string[] = [
  'content-encoding',
  'content-type',
  'x-prometheus-remote-write-version',
  'user-agent',
  'content-length',
  'retry-attempt',
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
  /** TLS settings and proxy of the agent made here (when `agent` is not given). */
  readonly tls?: AgentConfig['tls'];
  readonly proxy?: AgentConfig['proxy'];
  /** Headers computed per attempt, in this order: `headers()`, then OAuth 2.0 or SigV4 (which signs the rest). */
  readonly authorizers?: readonly Authorizer[];
  /** Replaces the HTTP POST (the benchmark's no-op sink); not a user option. */
  readonly post?: typeof post;
}

/** A request the receiver did not accept, or that got no answer. Never holds credentials. */
export class RemoteWriteError extends Error {
  /** No answer came and trying again cannot help (e.g. a bad `headers()` result): not retried. */
  declare readonly permanent?: boolean;
  constructor(
    message: string,
    /** HTTP status, or undefined when no answer came (network error, timeout). */
    readonly status?: number,
    /** The first bytes of the receiver's answer. */
    readonly responseBody?: string,
    options?: { cause?: unknown; permanent?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RemoteWriteError';
    if (options?.permanent) (this as { permanent?: boolean }).permanent = true;
    // Format the stack now: until then V8 keeps the frames' arguments (request bodies) alive.
    void this.stack;
  }
}

export class Sender {
  private readonly headers: Record<WireProtocol, Record<string, string>>;
  private readonly agent: http.Agent;
  private readonly ownsAgent: boolean;
  readonly target: string;

  constructor(private readonly options: SenderOptions) {
    // Protocol headers last: Node sets header names case-insensitively and the later one wins, so
    // no user header can replace them (options validation also refuses them up front).
    this.headers = {
      v1: { ...options.headers, ...RW1_HEADERS, 'User-Agent': options.userAgent },
      v2: { ...options.headers, ...RW2_HEADERS, 'User-Agent': options.userAgent },
    };
    this.ownsAgent = options.agent === undefined;
    this.agent = options.agent ?? createAgent(options.url, options);
    this.target = redactUrl(options.url);
  }

  /**
   * One attempt: the answer whatever its status, or a RemoteWriteError when none came
   * (refused, reset, DNS, timeout). `retry` > 0 adds `Retry-Attempt: <retry>`, as Prometheus does.
   */
  async attempt(
    body: Uint8Array,
    protocol: WireProtocol,
    retry: number,
    signal?: AbortSignal,
  ): Promise<PostResult | RemoteWriteError> {
    const answer = await this.send(body, protocol, retry, signal);
    // A 401 with a credential that can be fetched anew (an OAuth 2.0 token revoked or expired
    // early): once more at once with a fresh one. A second 401 is the answer (permanent).
    if (!(answer instanceof Error) && answer.status === 401 && this.refreshCredentials()) {
      return this.send(body, protocol, retry, signal);
    }
    return answer;
  }

  private async send(
    body: Uint8Array,
    protocol: WireProtocol,
    retry: number,
    signal: AbortSignal | undefined,
  ): Promise<PostResult | RemoteWriteError> {
    let headers =
      retry > 0 ? { ...this.headers[protocol], 'Retry-Attempt': String(retry) } : this.headers[protocol];
    try {
      for (const authorizer of this.options.authorizers ?? []) {
        // Each sees what the ones before added: SigV4, last, signs them all.
        const added = await authorizer.headers({ url: this.options.url, headers, body, signal });
        headers = { ...headers, ...added };
      }
    } catch (err) {
      const permanent = err instanceof AuthError && err.permanent;
      const reason = err instanceof AuthError ? err.message : `credentials failed: ${reasonOf(err)}`;
      return new RemoteWriteError(`remote write to ${this.target} failed: ${reason}`, undefined, undefined, {
        cause: err,
        permanent,
      });
    }
    try {
      return await (this.options.post ?? post)(body, {
        url: this.options.url,
        headers,
        timeoutMillis: this.options.timeoutMillis,
        agent: this.agent,
        signal,
      });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return new RemoteWriteError(`remote write to ${this.target} failed: ${reason}`, undefined, undefined, {
        cause: err,
      });
    }
  }

  /** Forgets cached credentials after a 401; true when a fresh one is worth a second try. */
  private refreshCredentials(): boolean {
    let again = false;
    for (const authorizer of this.options.authorizers ?? []) if (authorizer.refresh?.()) again = true;
    return again;
  }

  /** The error for an answer that is not 2xx: status, reason and the start of the body, verbatim. */
  httpError(result: PostResult): RemoteWriteError {
    const text = result.bodyPrefix.trim();
    return new RemoteWriteError(
      `remote write to ${this.target} failed: HTTP ${result.status} ${result.statusText}` +
        (text ? `: ${text}` : ''),
      result.status,
      result.bodyPrefix,
    );
  }

  close(): void {
    if (this.ownsAgent) this.agent.destroy();
  }
}
