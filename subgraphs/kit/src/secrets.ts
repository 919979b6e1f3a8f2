import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Secrets at rest (exchange API keys in trading, TradingView session cookies in signals): AES-256-GCM
 * under a keyring from config (e.g. CREDENTIALS_KEYS). Error messages name entries by position and
 * key ids only, never key material, plaintext or sealed text.
 */

export interface CredentialKey {
  id: string;
  /** 32 bytes */
  key: Buffer;
}

export interface CredentialKeyring {
  current: CredentialKey;
  previous: CredentialKey[];
}

export class CredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialsError';
  }
}

const VERSION = 'v1';
const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** No '.' (the sealed format's separator); at most 32 characters, so a 32-byte key (>= 43 base64 characters) can never pass for an id. */
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const FORMAT = '"keyId:base64key[,keyId:base64key...]"';

/**
 * Parses CREDENTIALS_KEYS: "keyId:base64key[,keyId:base64key...]" (standard or url-safe base64 of
 * 32 bytes, e.g. `openssl rand -base64 32`). The first key seals; the rest still open (rotation).
 */
export function parseKeyring(text: string): CredentialKeyring {
  if (typeof text !== 'string' || text.trim() === '') throw new CredentialsError(`CREDENTIALS_KEYS is empty: expected ${FORMAT}`);
  const keys: CredentialKey[] = [];
  text.split(',').forEach((raw, index) => {
    const at = `CREDENTIALS_KEYS entry ${index + 1}`;
    const entry = raw.trim();
    const colon = entry.indexOf(':');
    if (colon < 0) throw new CredentialsError(`${at} is not keyId:base64key (expected ${FORMAT})`);
    const id = entry.slice(0, colon).trim();
    const encoded = entry.slice(colon + 1).trim();
    if (!KEY_ID.test(id)) throw new CredentialsError(`${at}: the key id must be 1 to 32 characters of A-Z, a-z, 0-9, _ and -`);
    if (!BASE64.test(encoded)) throw new CredentialsError(`${at} (key id "${id}"): the key is not base64`);
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== KEY_BYTES) {
      throw new CredentialsError(`${at} (key id "${id}"): the key must be ${KEY_BYTES} bytes, got ${key.length}; generate one with \`openssl rand -base64 32\``);
    }
    keys.forEach((other, otherIndex) => {
      if (other.id === id) throw new CredentialsError(`CREDENTIALS_KEYS entries ${otherIndex + 1} and ${index + 1} both use key id "${id}"`);
      if (other.key.equals(key)) throw new CredentialsError(`CREDENTIALS_KEYS entries ${otherIndex + 1} and ${index + 1} hold the same key`);
    });
    keys.push({ id, key });
  });
  const [current, ...previous] = keys;
  return { current: current!, previous };
}

/** The key id and version are bound too, so a blob relabelled to another key id fails even if both ids share a key. */
const aadFor = (keyId: string, associatedData: string): Buffer => Buffer.from(`${VERSION}.${keyId}.${associatedData}`, 'utf8');

function checkAssociatedData(associatedData: string): void {
  if (typeof associatedData !== 'string' || associatedData === '') throw new CredentialsError('associatedData (e.g. the account id) is required');
}

/**
 * Seals a JSON-serialisable object: "v1.<keyId>.<iv b64url>.<tag b64url>.<ciphertext b64url>" under
 * the current key with a random 12-byte IV; `associatedData` (e.g. the account id) is bound as GCM
 * AAD so a sealed blob cannot be moved to another account.
 */
export function sealCredentials(keyring: CredentialKeyring, value: unknown, associatedData: string): string {
  checkAssociatedData(associatedData);
  let plaintext: string | undefined;
  try {
    plaintext = JSON.stringify(value);
  } catch {
    plaintext = undefined;
  }
  if (plaintext === undefined) throw new CredentialsError('credentials must be JSON-serialisable');
  const { id, key } = keyring.current;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aadFor(id, associatedData));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
}

interface SealedParts {
  keyId: string;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

function parseSealed(sealed: string): SealedParts | string {
  const parts = typeof sealed === 'string' ? sealed.split('.') : [];
  if (parts.length !== 5 || parts[0] !== VERSION) return `sealed credentials are not in the ${VERSION} format`;
  const [, keyId, iv, tag, ciphertext] = parts as [string, string, string, string, string];
  if (!KEY_ID.test(keyId) || ![iv, tag, ciphertext].every((part) => BASE64URL.test(part))) return 'sealed credentials are malformed';
  const parsed = { keyId, iv: Buffer.from(iv, 'base64url'), tag: Buffer.from(tag, 'base64url'), ciphertext: Buffer.from(ciphertext, 'base64url') };
  if (parsed.iv.length !== IV_BYTES || parsed.tag.length !== TAG_BYTES) return 'sealed credentials are malformed';
  return parsed;
}

/** Opens a sealed blob with the key it names. Throws CredentialsError on tampering, another account's blob or an unknown key. */
export function openCredentials<T = unknown>(keyring: CredentialKeyring, sealed: string, associatedData: string): T {
  checkAssociatedData(associatedData);
  const parts = parseSealed(sealed);
  if (typeof parts === 'string') throw new CredentialsError(parts);
  const key = [keyring.current, ...keyring.previous].find((candidate) => candidate.id === parts.keyId);
  if (!key) throw new CredentialsError(`sealed credentials use key id "${parts.keyId}", which is not in CREDENTIALS_KEYS`);
  let plaintext: string;
  try {
    const decipher = createDecipheriv(ALGORITHM, key.key, parts.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aadFor(parts.keyId, associatedData));
    decipher.setAuthTag(parts.tag);
    plaintext = Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new CredentialsError('sealed credentials failed authentication: tampered with, sealed for another account, or sealed under a different key');
  }
  return JSON.parse(plaintext) as T;
}

/** True when `sealed` is well formed and names the current key (false means: reseal it). */
export function sealedWithCurrentKey(keyring: CredentialKeyring, sealed: string): boolean {
  const parts = parseSealed(sealed);
  return typeof parts !== 'string' && parts.keyId === keyring.current.id;
}

/** Re-seals under the current key (rotation): opens (authenticating) and seals again with a fresh IV. */
export function resealCredentials(keyring: CredentialKeyring, sealed: string, associatedData: string): string {
  return sealCredentials(keyring, openCredentials(keyring, sealed, associatedData), associatedData);
}

/**
 * A development keyring derived deterministically from a label, for NODE_ENV != production when no
 * CREDENTIALS_KEYS is configured (the caller decides; this function does not read the environment).
 */
export function developmentKeyring(label: string): CredentialKeyring {
  const digest = (purpose: string): Buffer => createHash('sha256').update(`mercado development credentials ${purpose}\u0000${label}`).digest();
  return { current: { id: `dev-${digest('id').toString('hex').slice(0, 12)}`, key: digest('key') }, previous: [] };
}

const SECRET_FIELDS = ['apiKey', 'apiSecret', 'secret', 'password', 'passphrase', 'privateKey', 'token', 'accessToken', 'refreshToken', 'credentials', 'sealedCredentials'];

/** pino redact paths for anything that may hold a secret (top level or one object down, and authorization headers). */
export const SECRET_LOG_PATHS: string[] = [
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`]),
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["x-api-key"]',
];
