import pino from 'pino';
import {
  CredentialsError,
  developmentKeyring,
  openCredentials,
  parseKeyring,
  resealCredentials,
  SECRET_LOG_PATHS,
  sealCredentials,
  sealedWithCurrentKey,
  type CredentialKeyring,
} from '../src/secrets';

const KEY_1 = Buffer.alloc(32, 0x11);
const KEY_2 = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 5) & 0xff));
const B64_1 = KEY_1.toString('base64');
const B64_2 = KEY_2.toString('base64');
const SECRETS = { apiKey: 'AKIA-live-apikey-12345', secret: 's3cr3t-value-never-logged', password: 'okx-passphrase-!' };
const ACCOUNT = 'account-7f3a';

/** Asserts the thrown error is a CredentialsError whose message leaks none of `forbidden`; returns the message. */
function failure(action: () => unknown, forbidden: string[] = []): string {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CredentialsError);
  const message = (caught as Error).message;
  for (const text of [B64_1, B64_2, KEY_1.toString('hex'), KEY_2.toString('hex'), B64_1.slice(0, 16), B64_2.slice(0, 16), ...Object.values(SECRETS), ...forbidden]) {
    expect(message).not.toContain(text);
  }
  return message;
}

/** Changes one character in the middle of a base64url part (a middle character always carries 6 data bits). */
function tamper(sealed: string, part: number): string {
  const parts = sealed.split('.');
  const text = parts[part]!;
  parts[part] = text.slice(0, 2) + (text[2] === 'A' ? 'B' : 'A') + text.slice(3);
  return parts.join('.');
}

describe('parseKeyring', () => {
  it('reads one key as the current key', () => {
    const keyring = parseKeyring(`k1:${B64_1}`);
    expect(keyring.current.id).toBe('k1');
    expect(keyring.current.key.equals(KEY_1)).toBe(true);
    expect(keyring.previous).toEqual([]);
  });

  it('takes the first key as current and the rest as previous, tolerating spaces and url-safe unpadded base64', () => {
    const keyring = parseKeyring(` 2024-06_b : ${KEY_2.toString('base64url')} , 2024-01:${B64_1} `);
    expect(keyring.current.id).toBe('2024-06_b');
    expect(keyring.current.key.equals(KEY_2)).toBe(true);
    expect(keyring.previous.map((key) => key.id)).toEqual(['2024-01']);
    expect(keyring.previous[0]!.key.equals(KEY_1)).toBe(true);
  });

  it.each<[string, string, RegExp]>([
    ['empty text', '  ', /CREDENTIALS_KEYS is empty/],
    ['an entry without a colon', `k1:${B64_1},${B64_2}`, /entry 2 is not keyId:base64key/],
    ['a trailing comma', `k1:${B64_1},`, /entry 2 is not keyId:base64key/],
    ['an empty id', `:${B64_1}`, /entry 1: the key id must be 1 to 32 characters/],
    ['a dot in the id', `k.1:${B64_1}`, /entry 1: the key id must be/],
    ['an id over 32 characters', `${'k'.repeat(33)}:${B64_1}`, /the key id must be 1 to 32/],
    ['key and id swapped', `${B64_1}:k1`, /entry 1: the key id must be/],
    ['bad base64', `k1:${B64_1.slice(0, 20)}!${B64_1.slice(21)}`, /entry 1 \(key id "k1"\): the key is not base64/],
    ['a 16-byte key', `k1:${Buffer.alloc(16, 7).toString('base64')}`, /the key must be 32 bytes, got 16/],
    ['a 33-byte key', `k1:${Buffer.alloc(33, 7).toString('base64')}`, /the key must be 32 bytes, got 33/],
    ['duplicate ids', `k1:${B64_1},k2:${B64_2},k1:${B64_2}`, /entries 1 and 3 both use key id "k1"/],
    ['the same key twice', `k1:${B64_1},k2:${B64_1}`, /entries 1 and 2 hold the same key/],
  ])('refuses %s without echoing key material', (_name, text, reason) => {
    expect(failure(() => parseKeyring(text), [Buffer.alloc(16, 7).toString('base64'), Buffer.alloc(33, 7).toString('base64')])).toMatch(reason);
  });
});

describe('sealCredentials / openCredentials', () => {
  const keyring = parseKeyring(`k1:${B64_1}`);

  it('round-trips a JSON object through the v1 format', () => {
    const value = { ...SECRETS, extra: { label: 'Käse ✓', n: 3 } };
    const sealed = sealCredentials(keyring, value, ACCOUNT);
    expect(sealed).toMatch(/^v1\.k1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    for (const secret of Object.values(SECRETS)) expect(sealed).not.toContain(secret);
    expect(openCredentials<typeof value>(keyring, sealed, ACCOUNT)).toEqual(value);
  });

  it('uses a fresh IV each time, so sealing twice gives different blobs', () => {
    const first = sealCredentials(keyring, SECRETS, ACCOUNT);
    const second = sealCredentials(keyring, SECRETS, ACCOUNT);
    expect(first).not.toBe(second);
    expect(first.split('.')[2]).not.toBe(second.split('.')[2]);
    expect(openCredentials(keyring, second, ACCOUNT)).toEqual(SECRETS);
  });

  it.each([
    ['the IV', 2],
    ['the tag', 3],
    ['the ciphertext', 4],
  ])('detects tampering with %s', (_name, part) => {
    const sealed = sealCredentials(keyring, SECRETS, ACCOUNT);
    expect(failure(() => openCredentials(keyring, tamper(sealed, part), ACCOUNT), [sealed])).toMatch(/failed authentication/);
  });

  it('refuses a blob moved to another account (AAD)', () => {
    const sealed = sealCredentials(keyring, SECRETS, ACCOUNT);
    expect(failure(() => openCredentials(keyring, sealed, 'account-other'), [sealed])).toMatch(/sealed for another account/);
  });

  it('refuses a blob relabelled to another known key id, even one holding the same key material', () => {
    const twoKeys = parseKeyring(`k1:${B64_1},k2:${B64_2}`);
    const sealed = sealCredentials(twoKeys, SECRETS, ACCOUNT);
    expect(failure(() => openCredentials(twoKeys, sealed.replace('v1.k1.', 'v1.k2.'), ACCOUNT), [sealed])).toMatch(/failed authentication/);
    const aliased: CredentialKeyring = { current: twoKeys.current, previous: [{ id: 'k1-alias', key: KEY_1 }] };
    expect(failure(() => openCredentials(aliased, sealed.replace('v1.k1.', 'v1.k1-alias.'), ACCOUNT))).toMatch(/failed authentication/);
  });

  it('names an unknown key id', () => {
    const sealed = sealCredentials(keyring, SECRETS, ACCOUNT);
    expect(failure(() => openCredentials(keyring, sealed.replace('v1.k1.', 'v1.k9.'), ACCOUNT), [sealed])).toMatch(
      /key id "k9", which is not in CREDENTIALS_KEYS/,
    );
  });

  it('refuses malformed blobs without echoing them', () => {
    const sealed = sealCredentials(keyring, SECRETS, ACCOUNT);
    const parts = sealed.split('.');
    expect(failure(() => openCredentials(keyring, sealed.replace(/^v1/, 'v2'), ACCOUNT), [sealed])).toMatch(/not in the v1 format/);
    expect(failure(() => openCredentials(keyring, parts.slice(0, 4).join('.'), ACCOUNT))).toMatch(/not in the v1 format/);
    expect(failure(() => openCredentials(keyring, `${parts.slice(0, 4).join('.')}.${parts[4]}+/`, ACCOUNT))).toMatch(/malformed/);
    expect(failure(() => openCredentials(keyring, [parts[0], parts[1], parts[2]!.slice(0, 8), parts[3], parts[4]].join('.'), ACCOUNT))).toMatch(/malformed/);
    expect(failure(() => openCredentials(keyring, '', ACCOUNT))).toMatch(/not in the v1 format/);
  });

  it('requires associated data and a JSON-serialisable value', () => {
    expect(failure(() => sealCredentials(keyring, SECRETS, ''))).toMatch(/associatedData/);
    expect(failure(() => openCredentials(keyring, sealCredentials(keyring, SECRETS, ACCOUNT), ''))).toMatch(/associatedData/);
    expect(failure(() => sealCredentials(keyring, undefined, ACCOUNT))).toMatch(/JSON-serialisable/);
    expect(failure(() => sealCredentials(keyring, { apiKey: SECRETS.apiKey, nonce: 10n }, ACCOUNT))).toMatch(/JSON-serialisable/);
  });
});

describe('key rotation', () => {
  const oldKeyring = parseKeyring(`2024-01:${B64_1}`);
  const rotated = parseKeyring(`2024-06:${B64_2},2024-01:${B64_1}`);

  it('opens blobs sealed under a previous key and reseals them under the current one', () => {
    const old = sealCredentials(oldKeyring, SECRETS, ACCOUNT);
    expect(sealedWithCurrentKey(oldKeyring, old)).toBe(true);
    expect(sealedWithCurrentKey(rotated, old)).toBe(false);
    expect(openCredentials(rotated, old, ACCOUNT)).toEqual(SECRETS);

    const resealed = resealCredentials(rotated, old, ACCOUNT);
    expect(resealed.startsWith('v1.2024-06.')).toBe(true);
    expect(sealedWithCurrentKey(rotated, resealed)).toBe(true);
    expect(openCredentials(rotated, resealed, ACCOUNT)).toEqual(SECRETS);
    expect(failure(() => openCredentials(oldKeyring, resealed, ACCOUNT))).toMatch(/key id "2024-06", which is not in CREDENTIALS_KEYS/);
  });

  it('cannot open old blobs once the old key is dropped', () => {
    const old = sealCredentials(oldKeyring, SECRETS, ACCOUNT);
    const dropped = parseKeyring(`2024-06:${B64_2}`);
    expect(failure(() => openCredentials(dropped, old, ACCOUNT))).toMatch(/key id "2024-01"/);
  });

  it('reseal authenticates first: it refuses a tampered or moved blob', () => {
    const old = sealCredentials(oldKeyring, SECRETS, ACCOUNT);
    expect(failure(() => resealCredentials(rotated, tamper(old, 4), ACCOUNT))).toMatch(/failed authentication/);
    expect(failure(() => resealCredentials(rotated, old, 'account-other'))).toMatch(/failed authentication/);
  });

  it('sealedWithCurrentKey is false for malformed text', () => {
    expect(sealedWithCurrentKey(rotated, 'v1.2024-06.nope')).toBe(false);
    expect(sealedWithCurrentKey(rotated, 'plain text')).toBe(false);
  });
});

describe('developmentKeyring', () => {
  it('derives the same 32-byte key from the same label and different keys from different labels', () => {
    const first = developmentKeyring('trading-dev');
    const again = developmentKeyring('trading-dev');
    const other = developmentKeyring('trading-test');
    expect(first.current.key).toHaveLength(32);
    expect(first.current.key.equals(again.current.key)).toBe(true);
    expect(first.current.id).toBe(again.current.id);
    expect(first.current.id).toMatch(/^dev-[0-9a-f]{12}$/);
    expect(other.current.key.equals(first.current.key)).toBe(false);
    expect(other.current.id).not.toBe(first.current.id);
    expect(first.previous).toEqual([]);
  });

  it('seals across restarts: a blob sealed by one instance opens with another from the same label', () => {
    const sealed = sealCredentials(developmentKeyring('trading-dev'), SECRETS, ACCOUNT);
    expect(openCredentials(developmentKeyring('trading-dev'), sealed, ACCOUNT)).toEqual(SECRETS);
    expect(failure(() => openCredentials(developmentKeyring('trading-test'), sealed, ACCOUNT))).toMatch(/not in CREDENTIALS_KEYS/);
  });
});

describe('SECRET_LOG_PATHS', () => {
  it('makes pino redact secrets at the top level, one object down and in authorization headers', () => {
    const lines: string[] = [];
    const log = pino({ redact: { paths: SECRET_LOG_PATHS, censor: '[redacted]' } }, { write: (line: string) => lines.push(line) });
    log.info({ apiKey: SECRETS.apiKey, secret: SECRETS.secret, exchange: 'binance' }, 'top level');
    log.info({ account: { id: ACCOUNT, password: SECRETS.password, passphrase: SECRETS.password }, credentials: { apiKey: SECRETS.apiKey } }, 'nested');
    log.info({ req: { method: 'POST', headers: { authorization: `Bearer ${SECRETS.secret}`, 'x-api-key': SECRETS.apiKey, cookie: `sid=${SECRETS.secret}` } } }, 'request');
    log.info({ headers: { authorization: `Bearer ${SECRETS.secret}` }, account: { sealedCredentials: 'v1.k1.a.b.c' } }, 'headers');

    expect(lines).toHaveLength(4);
    const output = lines.join('\n');
    for (const secret of [...Object.values(SECRETS), 'v1.k1.a.b.c']) expect(output).not.toContain(secret);
    const [top, nested, request, headers] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(top).toMatchObject({ apiKey: '[redacted]', secret: '[redacted]', exchange: 'binance' });
    expect(nested).toMatchObject({ account: { id: ACCOUNT, password: '[redacted]', passphrase: '[redacted]' }, credentials: '[redacted]' });
    expect(request.req).toEqual({ method: 'POST', headers: { authorization: '[redacted]', 'x-api-key': '[redacted]', cookie: '[redacted]' } });
    expect(headers).toMatchObject({ headers: { authorization: '[redacted]' }, account: { sealedCredentials: '[redacted]' } });
  });
});
