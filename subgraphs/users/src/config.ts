import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { ConfigError, readEnv, readSubgraphConfig, type SubgraphConfig } from '../../kit/src';

export interface UsersConfig extends SubgraphConfig {
  /** ES256 (P-256) signing key from `JWT_PRIVATE_KEY` (PKCS8 PEM); absent outside production means an ephemeral key. */
  jwtPrivateKey: KeyObject | undefined;
  /** `kid` published in the JWKS; defaults to the key's RFC 7638 thumbprint. */
  jwtKeyId: string | undefined;
  /**
   * Public keys published in the JWKS besides the signing key's, from `JWT_PUBLIC_KEYS` (a JWKS):
   * the previous key while its tokens live, or the next one before it signs (key rotation).
   */
  jwtPublicKeys: JWK[];
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** Consecutive failed logins that lock an account. */
  loginMaxFailures: number;
  loginLockoutSeconds: number;
  /** AES-256-GCM key (32 bytes, base64) for TOTP secrets at rest; absent outside production means a development key. */
  totpEncryptionKey: Buffer | undefined;
  totpIssuer: string;
  /** Lifetime of the access tokens `POST /api-keys/token` gives for an API key. */
  apiKeyTokenTtlSeconds: number;
  /** `SMTP_URL` of the relay that sends mail; required in production, else mail goes to the log. */
  smtpUrl: string | undefined;
  mailFrom: string;
  /** The web page a password reset link opens; the token follows as `?token=`. */
  passwordResetUrl: string;
  passwordResetTtlSeconds: number;
  /** The web page an email verification link opens; the token follows as `?token=`. */
  emailVerificationUrl: string;
  emailVerificationTtlSeconds: number;
}

/** `JWT_PUBLIC_KEYS`: a JWKS document (`{"keys":[…]}`) of ES256 public keys, each with its `kid`. */
function parsePublicKeys(text: string, problems: string[]): JWK[] {
  let keys: unknown;
  try {
    keys = (JSON.parse(text) as { keys?: unknown }).keys;
  } catch {
    keys = undefined;
  }
  if (!Array.isArray(keys)) {
    problems.push('JWT_PUBLIC_KEYS must be a JWKS document: {"keys":[…]} (e.g. the /.well-known/jwks.json of the key being replaced)');
    return [];
  }
  const valid: JWK[] = [];
  for (const [index, key] of (keys as Record<string, unknown>[]).entries()) {
    if (typeof key !== 'object' || key === null || 'd' in key) {
      problems.push(`JWT_PUBLIC_KEYS key ${index} must be a public key (a private key is never published)`);
      continue;
    }
    const shaped = key.kty === 'EC' && key.crv === 'P-256' && typeof key.x === 'string' && typeof key.y === 'string' && typeof key.kid === 'string' && key.kid !== '';
    if (!shaped) {
      problems.push(`JWT_PUBLIC_KEYS key ${index} must be an EC P-256 (ES256) key with x, y and kid`);
      continue;
    }
    try {
      createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: key.x as string, y: key.y as string }, format: 'jwk' });
    } catch {
      problems.push(`JWT_PUBLIC_KEYS key ${index} (${String(key.kid)}) is not a point of P-256`);
      continue;
    }
    valid.push({ kty: 'EC', crv: 'P-256', x: key.x as string, y: key.y as string, kid: key.kid as string, alg: 'ES256', use: 'sig' });
  }
  return valid;
}

function parseSigningKey(pem: string, problems: string[]): KeyObject | undefined {
  try {
    // Environments often carry PEM on one line with literal "\n".
    const key = createPrivateKey({ key: pem.replace(/\\n/g, '\n'), format: 'pem' });
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      problems.push('JWT_PRIVATE_KEY must be an EC P-256 key (ES256)');
      return undefined;
    }
    return key;
  } catch {
    problems.push('JWT_PRIVATE_KEY must be a PKCS8 PEM private key');
    return undefined;
  }
}

function parseEncryptionKey(text: string, problems: string[]): Buffer | undefined {
  const key = Buffer.from(text, 'base64');
  if (key.length !== 32) {
    problems.push('TOTP_ENCRYPTION_KEY must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)');
    return undefined;
  }
  return key;
}

export function readUsersConfig(env: Record<string, string | undefined> = process.env): UsersConfig {
  const reader = readEnv(env);
  const base = readSubgraphConfig('users', 4001, reader);
  const production = base.env === 'production';
  const problems: string[] = [];

  const pem = production ? reader.string('JWT_PRIVATE_KEY') : reader.optional('JWT_PRIVATE_KEY');
  const totpKey = production ? reader.string('TOTP_ENCRYPTION_KEY') : reader.optional('TOTP_ENCRYPTION_KEY');
  const smtpUrl = production ? reader.url('SMTP_URL') : reader.optional('SMTP_URL');
  if (smtpUrl && !/^smtps?:\/\//.test(smtpUrl)) problems.push('SMTP_URL must be an smtp:// or smtps:// URL');
  const config: UsersConfig = {
    ...base,
    jwtPrivateKey: pem ? parseSigningKey(pem, problems) : undefined,
    jwtKeyId: reader.optional('JWT_KEY_ID'),
    jwtPublicKeys: parsePublicKeys(reader.optional('JWT_PUBLIC_KEYS') ?? '{"keys":[]}', problems),
    accessTokenTtlSeconds: reader.int('ACCESS_TOKEN_TTL_SECONDS', 15 * 60, { min: 30, max: 24 * 3600 }),
    refreshTokenTtlSeconds: reader.int('REFRESH_TOKEN_TTL_SECONDS', 30 * 24 * 3600, { min: 60, max: 365 * 24 * 3600 }),
    loginMaxFailures: reader.int('LOGIN_MAX_FAILURES', 5, { min: 1, max: 100 }),
    loginLockoutSeconds: reader.int('LOGIN_LOCKOUT_SECONDS', 15 * 60, { min: 1, max: 7 * 24 * 3600 }),
    totpEncryptionKey: totpKey ? parseEncryptionKey(totpKey, problems) : undefined,
    totpIssuer: reader.string('TOTP_ISSUER', 'Mercado'),
    apiKeyTokenTtlSeconds: reader.int('API_KEY_TOKEN_TTL_SECONDS', 300, { min: 30, max: 3600 }),
    smtpUrl,
    mailFrom: reader.string('MAIL_FROM', 'Mercado <no-reply@mercado.local>'),
    passwordResetUrl: reader.url('PASSWORD_RESET_URL', 'http://localhost:4000/reset-password'),
    passwordResetTtlSeconds: reader.int('PASSWORD_RESET_TTL_SECONDS', 30 * 60, { min: 5 * 60, max: 24 * 3600 }),
    emailVerificationUrl: reader.url('EMAIL_VERIFICATION_URL', 'http://localhost:4000/verify-email'),
    emailVerificationTtlSeconds: reader.int('EMAIL_VERIFICATION_TTL_SECONDS', 48 * 3600, { min: 3600, max: 14 * 24 * 3600 }),
  };

  try {
    reader.done();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.unshift(...error.problems);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
