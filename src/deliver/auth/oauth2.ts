/**
 * OAuth 2.0 client-credentials grant (RFC 6749 §4.4) for `Authorization: Bearer <token>`. The
 * token is cached until shortly before it expires and fetched again once after a 401. Knows
 * nothing of OTel.
 */
import http from 'node:http';
import https from 'node:https';
import { redactUrl } from '../http.js';
import { AuthError, reasonOf, type Authorizer, type OutgoingRequest } from './authorizer.js';
import { headerValueProblem } from './header-rules.js';

export interface OAuth2Config {
  readonly tokenUrl: URL;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes: readonly string[];
  readonly endpointParams: Readonly<Record<string, string>>;
}

/** A token endpoint's answer is small; more than this is not one. */
const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;
/** Renew this long before `expires_in` runs out (at most; 10 % of a short lifetime). */
const EXPIRY_MARGIN_MILLIS = 10_000;

interface Token {
  readonly authorization: string;
  /** Epoch ms after which it is fetched again; Infinity without `expires_in`. */
  readonly renewAt: number;
}

export class OAuth2Authorizer implements Authorizer {
  // Private fields: util.inspect and console.log never show them.
  readonly #config: OAuth2Config;
  readonly #timeoutMillis: number;
  readonly #now: () => number;
  #token: Token | undefined;
  /** One request to the token endpoint at a time, shared by every attempt waiting for it. */
  #pending: Promise<Token> | undefined;

  /** How the token endpoint is reached (a proxy's agent), else Node's default agent. */
  readonly #agent: http.Agent | undefined;

  constructor(
    config: OAuth2Config,
    options: { timeoutMillis: number; now?: () => number; agent?: http.Agent },
  ) {
    this.#config = config;
    this.#timeoutMillis = options.timeoutMillis;
    this.#now = options.now ?? Date.now;
    this.#agent = options.agent;
  }

  async headers(request: OutgoingRequest): Promise<Record<string, string>> {
    const token = this.#token;
    if (token && this.#now() < token.renewAt) return { Authorization: token.authorization };
    this.#pending ??= this.#fetch(request.signal).finally(() => (this.#pending = undefined));
    return { Authorization: (await this.#pending).authorization };
  }

  /** A 401 from the receiver: the token may have been revoked or expired early. */
  refresh(): boolean {
    this.#token = undefined;
    return true;
  }

  async #fetch(signal: AbortSignal | undefined): Promise<Token> {
    const started = this.#now();
    const { status, body } = await this.#request(signal);
    const token = parseTokenResponse(status, body, started, this.#where());
    this.#token = token;
    return token;
  }

  #where(): string {
    return `the token endpoint ${redactUrl(this.#config.tokenUrl)} (oauth2.tokenUrl)`;
  }

  #request(signal: AbortSignal | undefined): Promise<{ status: number; body: string }> {
    const { tokenUrl, clientId, clientSecret, scopes, endpointParams } = this.#config;
    const form = new URLSearchParams({ ...endpointParams, grant_type: 'client_credentials' });
    if (scopes.length > 0) form.set('scope', scopes.join(' ')); // RFC 6749 §3.3: space-delimited
    const payload = Buffer.from(form.toString());
    // RFC 6749 §2.3.1: the id and secret are form-urlencoded before Basic encoding.
    const basic = Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64');
    const request = tokenUrl.protocol === 'https:' ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const failed = (reason: string, cause?: unknown): void =>
        reject(
          new AuthError(`oauth2: no token from ${this.#where()}: ${reason}`, { permanent: false, cause }),
        );
      const req = request(tokenUrl, {
        method: 'POST',
        headers: {
          Authorization: `Basic ${basic}`,
          'Content-Type': 'application/x-www-form-urlencoded',
          Accept: 'application/json',
          'Content-Length': String(payload.byteLength),
        },
        signal,
        ...(this.#agent !== undefined ? { agent: this.#agent } : {}),
      });
      const timer = setTimeout(
        () => req.destroy(new Error(`no answer within ${this.#timeoutMillis} ms (timeoutMillis)`)),
        this.#timeoutMillis,
      );
      timer.unref?.();
      req.on('error', (err) => {
        clearTimeout(timer);
        failed(reasonOf(err), err);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_TOKEN_RESPONSE_BYTES) res.destroy(new Error('answer larger than 1 MiB'));
          else chunks.push(chunk);
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          failed(reasonOf(err), err);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.end(payload);
    });
  }
}

/** application/x-www-form-urlencoded encoding of one value (WHATWG URL §5.2). */
function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/**
 * The token from an answer of the token endpoint (RFC 6749 §5.1), or an AuthError: a 4xx (§5.2:
 * the client or its grant is refused) is permanent, anything else (5xx, 429, not JSON) is retried.
 * Never quotes the token; quotes the endpoint's `error` and `error_description`, which hold none.
 */
export function parseTokenResponse(status: number, text: string, issuedAt: number, where: string): Token {
  let json: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
      json = parsed as Record<string, unknown>;
  } catch {
    // not JSON: reported below
  }
  if (status < 200 || status >= 300) {
    const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
    const error = typeof json?.['error'] === 'string' ? `: ${clip(json['error'])}` : '';
    const description =
      typeof json?.['error_description'] === 'string' ? ` (${clip(json['error_description'])})` : '';
    throw new AuthError(`oauth2: ${where} answered HTTP ${status}${error}${description}`, { permanent });
  }
  if (!json)
    throw new AuthError(`oauth2: ${where} answered with something that is not a JSON object`, {
      permanent: false,
    });
  const accessToken = json['access_token'];
  if (typeof accessToken !== 'string' || accessToken === '') {
    throw new AuthError(`oauth2: ${where} answered without an access_token`, { permanent: false });
  }
  if (headerValueProblem(accessToken)) {
    throw new AuthError(`oauth2: ${where} answered with an access_token that cannot be sent in a header`, {
      permanent: true,
    });
  }
  const type = json['token_type'];
  if (type !== undefined && (typeof type !== 'string' || type.toLowerCase() !== 'bearer')) {
    throw new AuthError(`oauth2: ${where} answered with token_type ${clip(String(type))}, not Bearer`, {
      permanent: true,
    });
  }
  const expiresIn = Number(json['expires_in']);
  let renewAt = Infinity; // RFC 6749 §5.1: expires_in is only RECOMMENDED
  if (json['expires_in'] !== undefined && Number.isFinite(expiresIn) && expiresIn > 0) {
    const lifetime = expiresIn * 1000;
    renewAt = issuedAt + lifetime - Math.min(EXPIRY_MARGIN_MILLIS, lifetime / 10);
  }
  return { authorization: `Bearer ${accessToken}`, renewAt };
}

function clip(text: string): string {
  return JSON.stringify(text.length > 200 ? text.slice(0, 200) + '…' : text);
}
