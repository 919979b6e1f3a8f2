import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { createTokenVerifier, JWT_ALGORITHM, JWT_AUDIENCE, JWT_ISSUER, type Role, type TokenVerifier } from '../../../subgraphs/kit/src/auth';

export interface Issuer {
  verifyToken: TokenVerifier;
  /**
   * A token like the users subgraph issues; `expiresAt` (epoch seconds) may lie in the past. With
   * `apiKeyId`, a token as users trades for an API key (`akid` claim, the key's scopes).
   */
  sign(subject: string, options?: { role?: Role; expiresAt?: number; scopes?: string[]; apiKeyId?: string }): Promise<string>;
}

/**
 * Signs access tokens the way the users subgraph does (ES256, issuer, audience, role claim), with
 * the expiry under the test's control. (The kit's TestIssuer always signs 15-minute tokens.)
 */
export async function createIssuer(): Promise<Issuer> {
  const { publicKey, privateKey } = await generateKeyPair(JWT_ALGORITHM, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'router-test', alg: JWT_ALGORITHM, use: 'sig' };
  const key: KeyLike = privateKey;
  return {
    verifyToken: createTokenVerifier(createLocalJWKSet({ keys: [jwk] })),
    sign(subject, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ role: options.role ?? 'CUSTOMER', scopes: options.scopes ?? [], ...(options.apiKeyId ? { akid: options.apiKeyId } : {}) })
        .setProtectedHeader({ alg: JWT_ALGORITHM, kid: 'router-test' })
        .setSubject(subject)
        .setIssuer(JWT_ISSUER)
        .setAudience(JWT_AUDIENCE)
        .setIssuedAt(now - 3600)
        .setExpirationTime(options.expiresAt ?? now + 900)
        .sign(key);
    },
  };
}
