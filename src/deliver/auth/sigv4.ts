/**
 * AWS Signature Version 4 for Amazon Managed Prometheus (service `aps`). Signing and the default
 * credential chain come from the AWS SDK's own packages, optional peer dependencies loaded with
 * import() on first use, so that users without SigV4 never install them. Knows nothing of OTel.
 */
import { AuthError, reasonOf, type Authorizer, type OutgoingRequest } from './authorizer.js';

/** Long-term or temporary AWS credentials, as the AWS SDK's providers return them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

export interface SigV4Config {
  readonly region: string;
  readonly service: string;
  /** Fixed credentials or a provider (e.g. from @aws-sdk/credential-providers); default the AWS chain. */
  readonly credentials?: AwsCredentials | AwsCredentialsProvider;
}

/** What signs one request: the package's signer with its credentials. */
export interface SigV4Signer {
  sign(request: OutgoingRequest, date?: Date): Promise<Record<string, string>>;
}

const SIGNING_PACKAGES = ['@smithy/signature-v4', '@smithy/hash-node'];
const CHAIN_PACKAGE = '@aws-sdk/credential-provider-node';
/** Temporary credentials are renewed this long before they expire, as the AWS SDK does. */
const CREDENTIAL_MARGIN_MILLIS = 5 * 60_000;

/** The packages `sigv4` needs with these settings, for the install hint. */
export function sigV4Packages(config: Pick<SigV4Config, 'credentials'>): string[] {
  return config.credentials === undefined ? [...SIGNING_PACKAGES, CHAIN_PACKAGE] : SIGNING_PACKAGES;
}

/** Loads the AWS packages and makes a signer; rejects with a permanent AuthError naming what to install. */
export async function createSigV4Signer(config: SigV4Config): Promise<SigV4Signer> {
  let modules;
  try {
    modules = await Promise.all([
      import('@smithy/signature-v4'),
      import('@smithy/hash-node'),
      config.credentials === undefined ? import('@aws-sdk/credential-provider-node') : undefined,
    ]);
  } catch (err) {
    const packages = sigV4Packages(config).join(' ');
    throw new AuthError(
      `sigv4 needs the AWS SDK packages ${packages} (optional peer dependencies): npm install ${packages} ` +
        `(${reasonOf(err)})`,
      { permanent: true, cause: err },
    );
  }
  const [{ SignatureV4 }, { Hash }, chain] = modules;
  class Sha256 extends Hash {
    constructor(secret?: Parameters<typeof Hash.prototype.update>[0]) {
      super('sha256', secret);
    }
  }
  const given = config.credentials;
  const credentials = memoize(
    given === undefined
      ? chain!.defaultProvider()
      : typeof given === 'function'
        ? given
        : () => Promise.resolve(given),
  );
  const signer = new SignatureV4({
    credentials,
    region: config.region,
    service: config.service,
    sha256: Sha256,
    // The payload hash is in the canonical request; the x-amz-content-sha256 header is for S3 only.
    applyChecksum: false,
  });
  return {
    async sign(request, date) {
      const { url, headers, body } = request;
      const query: Record<string, string | string[]> = {};
      for (const [k, v] of url.searchParams) {
        const had = query[k];
        query[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
      }
      const signed = await signer.sign(
        {
          method: 'POST',
          protocol: url.protocol,
          hostname: url.hostname,
          port: url.port === '' ? undefined : Number(url.port),
          path: url.pathname,
          query,
          // Node sends `Host` as the URL's host (with a non-default port).
          headers: { ...headers, host: url.host },
          body,
        },
        date === undefined ? undefined : { signingDate: date },
      );
      const given = new Set(Object.keys(headers).map((h) => h.toLowerCase()));
      given.add('host');
      const added: Record<string, string> = {};
      for (const [name, value] of Object.entries(signed.headers)) {
        if (!given.has(name.toLowerCase())) added[name] = value;
      }
      return added;
    },
  };
}

/** Credentials kept until 5 minutes before they expire (forever without `expiration`). */
function memoize(provider: AwsCredentialsProvider): AwsCredentialsProvider {
  let cached: AwsCredentials | undefined;
  return async () => {
    if (
      cached &&
      (cached.expiration === undefined || cached.expiration.getTime() - CREDENTIAL_MARGIN_MILLIS > Date.now())
    )
      return cached;
    let fresh: AwsCredentials;
    try {
      fresh = await provider();
    } catch (err) {
      throw new AuthError(`sigv4: no AWS credentials (sigv4.credentials): ${reasonOf(err)}`, {
        permanent: false,
        cause: err,
      });
    }
    if (!fresh || typeof fresh.accessKeyId !== 'string' || typeof fresh.secretAccessKey !== 'string') {
      throw new AuthError('sigv4: the credentials provider returned no { accessKeyId, secretAccessKey }', {
        permanent: true,
      });
    }
    cached = fresh;
    return fresh;
  };
}

export class SigV4Authorizer implements Authorizer {
  readonly #signer: Promise<SigV4Signer>;

  constructor(
    config: SigV4Config,
    create: (config: SigV4Config) => Promise<SigV4Signer> = createSigV4Signer,
  ) {
    this.#signer = create(config);
    // Loaded now so the first request does not wait; a failure is reported by every attempt.
    this.#signer.catch(() => {});
  }

  async headers(request: OutgoingRequest): Promise<Record<string, string>> {
    const signer = await this.#signer;
    try {
      return await signer.sign(request);
    } catch (err) {
      if (err instanceof AuthError) throw err;
      throw new AuthError(`sigv4: signing failed: ${reasonOf(err)}`, { permanent: false, cause: err });
    }
  }
}
