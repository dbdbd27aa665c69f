/**
 * One SigV4 signer per client and signing scope, where the SDK's default builds one for every request.
 *
 * Without a `signer` in its configuration, an SDK v3 client makes a new SignatureV4 on every call from a copy of
 * its whole resolved configuration (docs/performance.md, 'One signer per client'). The signature does not depend
 * on which instance makes it, so this provider keeps one per (service, region) and resolves both as the default
 * does: the endpoint's auth scheme names them when it has one, the client's configuration otherwise. Credentials
 * are read from the client's own provider at every signing, so refreshed or rotated credentials are used as before.
 *
 * Owns nothing but the signers it caches; it reads the client's resolved configuration and never changes it.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import type { AuthScheme, AwsCredentialIdentity, ChecksumConstructor, HashConstructor, Provider, RequestSigner } from '@smithy/types';

/** The parts of a client's resolved configuration that a SigV4 signer is built from. */
export interface SignerSource {
  credentials: () => Promise<AwsCredentialIdentity>;
  region: Provider<string>;
  sha256: ChecksumConstructor | HashConstructor;
  signingEscapePath?: boolean;
  signingName?: string;
  signingRegion?: string;
  defaultSigningName?: string;
  serviceId?: string;
}

export type SignerProvider = (authScheme?: AuthScheme) => Promise<RequestSigner>;

/** `source` is called at signing time: the client it belongs to exists by then. */
export function reusedSigner(source: () => SignerSource): SignerProvider {
  const signers = new Map<string, SignatureV4>();
  return async (authScheme) => {
    const config = source();
    const service = config.signingName ?? authScheme?.signingName ?? config.defaultSigningName ?? config.serviceId;
    if (service === undefined) throw new Error('SigV4 signer: the client names no signing service');
    const region = config.signingRegion ?? authScheme?.signingRegion ?? (await config.region());
    const key = `${service}\u0000${region}`;
    let signer = signers.get(key);
    if (!signer) {
      signer = new SignatureV4({
        // Through the client's configuration each time, so a provider replaced on the client is honoured too.
        credentials: () => source().credentials(),
        region,
        service,
        sha256: config.sha256,
        uriEscapePath: config.signingEscapePath ?? true,
      });
      signers.set(key, signer);
    }
    return signer;
  };
}

/**
 * Builds a client whose signer is reusedSigner over that same client's configuration: `build` receives the
 * provider to pass as `signer`.
 */
export function withReusedSigner<C extends { config: SignerSource }>(build: (signer: SignerProvider) => C): C {
  let client: C | undefined;
  const signer = reusedSigner(() => {
    if (!client) throw new Error('SigV4 signer used before its client was built');
    return client.config;
  });
  client = build(signer);
  return client;
}
