import { randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';
import { generateRefreshToken, hashRefreshToken, looksLikeRefreshToken } from '../src/auth/refresh-tokens';
import { SecretBox } from '../src/totp/secret-box';
import { generateTotpSecret, verifyTotpCode } from '../src/totp/totp-code';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('round-trips and never stores the plaintext', () => {
    const sealed = box.seal('JBSWY3DPEHPK3PXP', 'users:1:totp');
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(box.open(sealed, 'users:1:totp')).toBe('JBSWY3DPEHPK3PXP');
    expect(box.seal('same', 'aad')).not.toBe(box.seal('same', 'aad'));
  });

  it('refuses another owner, another key and tampering', () => {
    const sealed = box.seal('secret', 'users:1:totp');
    expect(() => box.open(sealed, 'users:2:totp')).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'users:1:totp')).toThrow();
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    expect(() => box.open(parts.join('.'), 'users:1:totp')).toThrow();
    expect(() => new SecretBox(randomBytes(16))).toThrow();
  });
});

describe('refresh tokens', () => {
  it('are 32 random bytes in base64url, stored as a SHA-256 hex hash', () => {
    const token = generateRefreshToken();
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(looksLikeRefreshToken(token)).toBe(true);
    expect(generateRefreshToken()).not.toBe(token);
    expect(hashRefreshToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashRefreshToken(token)).toBe(hashRefreshToken(token));
    expect(looksLikeRefreshToken('x'.repeat(42))).toBe(false);
    expect(looksLikeRefreshToken(`${'x'.repeat(42)}=`)).toBe(false);
  });
});

describe('verifyTotpCode', () => {
  const secret = generateTotpSecret();
  const now = new Date('2030-01-01T00:00:10Z');
  const step = Math.floor(now.getTime() / 30_000);
  const codeAt = (ms: number) => authenticator.clone({ epoch: ms }).generate(secret);

  it('accepts the current code and one step of drift either way, returning its step', () => {
    expect(verifyTotpCode(secret, codeAt(now.getTime()), now, null)).toBe(step);
    expect(verifyTotpCode(secret, codeAt(now.getTime() - 30_000), now, null)).toBe(step - 1);
    expect(verifyTotpCode(secret, codeAt(now.getTime() + 30_000), now, null)).toBe(step + 1);
  });

  it('refuses codes two steps away, malformed codes and already-used steps', () => {
    const far = codeAt(now.getTime() - 90_000);
    const near = [-30_000, 0, 30_000].map((offset) => codeAt(now.getTime() + offset));
    if (!near.includes(far)) expect(verifyTotpCode(secret, far, now, null)).toBeNull();
    expect(verifyTotpCode(secret, 'abcdef', now, null)).toBeNull();
    expect(verifyTotpCode(secret, '12345', now, null)).toBeNull();
    expect(verifyTotpCode(secret, codeAt(now.getTime()), now, step)).toBeNull();
    expect(verifyTotpCode(secret, codeAt(now.getTime() + 30_000), now, step)).toBe(step + 1);
  });
});
