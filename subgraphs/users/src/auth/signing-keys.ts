import { createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { createTokenVerifier, JWT_ALGORITHM, JWT_AUDIENCE, JWT_ISSUER, type Logger, type Role, type TokenVerifier } from '../../../kit/src';

export interface AccessToken {
  token: string;
  expiresAt: Date;
}

/**
 * The ES256 key access tokens are signed with, and its public half as a JWKS (served at
 * `/.well-known/jwks.json`, and used by this subgraph to verify its own tokens), with the other
 * public keys configured for a rotation: tokens of the previous key verify until they expire, and
 * verifiers know the next key before it signs.
 */
export class SigningKeys {
  private constructor(
    private readonly privateKey: KeyObject,
    readonly kid: string,
    readonly publicJwk: JWK,
    private readonly otherKeys: readonly JWK[],
  ) {}

  /** From a configured key; without one, an ephemeral key (never in production). */
  static async create(options: { privateKey: KeyObject | undefined; keyId?: string; publicKeys?: readonly JWK[]; production: boolean; log: Logger }): Promise<SigningKeys> {
    let privateKey = options.privateKey;
    if (!privateKey) {
      if (options.production) throw new Error('JWT_PRIVATE_KEY is required in production');
      options.log.warn('JWT_PRIVATE_KEY is not set: signing with an ephemeral key, so tokens stop verifying when this process restarts');
      privateKey = (await generateKeyPair(JWT_ALGORITHM, { extractable: true })).privateKey as KeyObject;
    }
    const jwk = await exportJWK(createPublicKey(privateKey));
    const kid = options.keyId ?? (await calculateJwkThumbprint(jwk, 'sha256'));
    const others = (options.publicKeys ?? []).filter((key) => key.kid !== kid);
    return new SigningKeys(privateKey, kid, { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid, alg: JWT_ALGORITHM, use: 'sig' }, others);
  }

  get jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk, ...this.otherKeys] };
  }

  /** Verifies tokens signed by this key, with the same checks every other subgraph applies. */
  verifier(): TokenVerifier {
    return createTokenVerifier(createLocalJWKSet(this.jwks));
  }

  /**
   * Access tokens use wall-clock time: verifiers elsewhere check `exp` against theirs.
   * A token exchanged for an API key carries the key's scopes and its id (`akid`); a sign-in has neither.
   */
  async signAccessToken(subject: { id: string; role: Role }, ttlSeconds: number, options: { scopes?: string[]; apiKeyId?: string } = {}): Promise<AccessToken> {
    const issuedAt = Math.floor(Date.now() / 1000);
    const expiresAt = issuedAt + ttlSeconds;
    const claims = { role: subject.role, scopes: options.scopes ?? [], ...(options.apiKeyId === undefined ? {} : { akid: options.apiKeyId }) };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: JWT_ALGORITHM, kid: this.kid, typ: 'JWT' })
      .setSubject(subject.id)
      .setIssuer(JWT_ISSUER)
      .setAudience(JWT_AUDIENCE)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .setJti(randomUUID())
      .sign(this.privateKey);
    return { token, expiresAt: new Date(expiresAt * 1000) };
  }
}
