import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader } from 'jose';
import { ConfigError, createTokenVerifier } from '../../kit/src';
import { readUsersConfig } from '../src/config';
import { ME, startUsers, type UsersHarness } from './harness';

const pem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

const ROOT = path.resolve(__dirname, '../../..');

/** What `npm run -s jwks` prints for a key. */
function jwksOf(privateKey: string): string {
  return execFileSync(process.execPath, ['--import', 'tsx', 'scripts/jwks.ts'], { cwd: ROOT, input: privateKey, encoding: 'utf8' }).trim();
}

/**
 * Rotating the signing key without signing anyone out. The replicas on the old key publish the
 * next one first (JWT_PUBLIC_KEYS, from `npm run jwks`); then the new key signs, and the JWKS keeps
 * the previous key until its last access token expires. Mid-rollout, replicas of both kinds run
 * and every verifier (router, subgraphs) accepts the tokens of both.
 */
describe('signing key rotation', () => {
  let before: UsersHarness;
  let after: UsersHarness;
  const next = pem();

  beforeAll(async () => {
    before = await startUsers({ JWT_PRIVATE_KEY: pem(), JWT_PUBLIC_KEYS: jwksOf(next) });
    const previous = JSON.stringify(await (await fetch(`${before.base}/.well-known/jwks.json`)).json());
    // The replica rolled out with the new key, on the same database.
    const [{ name }] = await before.sql<{ name: string }>('select current_database() as name');
    const databaseUrl = `${process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432'}/${name}`;
    after = await startUsers({ DATABASE_URL: databaseUrl, JWT_PRIVATE_KEY: next, JWT_PUBLIC_KEYS: previous });
  });

  afterAll(async () => {
    await after?.close();
    await before?.close();
  });

  it('publishes the next key on the old replicas, so the new key\'s tokens verify there before it signs anything', async () => {
    const jwks = (await (await fetch(`${before.base}/.well-known/jwks.json`)).json()) as { keys: Record<string, string>[] };
    expect(jwks.keys.map((key) => key.kid)).toEqual([before.server.signingKeys.kid, after.server.signingKeys.kid]);
    const { accessToken, user } = await after.register('early@example.com');
    const verifyOnOld = createTokenVerifier(createRemoteJWKSet(new URL(`${before.base}/.well-known/jwks.json`)));
    await expect(verifyOnOld(accessToken)).resolves.toMatchObject({ id: user.id });
  });

  it('signs with the new key and publishes both, each under its own kid', async () => {
    const jwks = (await (await fetch(`${after.base}/.well-known/jwks.json`)).json()) as { keys: Record<string, string>[] };
    expect(jwks.keys.map((key) => key.kid)).toEqual([after.server.signingKeys.kid, before.server.signingKeys.kid]);
    expect(jwks.keys.every((key) => !('d' in key))).toBe(true);
    const { accessToken } = await after.register('new-key@example.com');
    expect(decodeProtectedHeader(accessToken).kid).toBe(after.server.signingKeys.kid);
  });

  it('still accepts a token the previous key signed, in the subgraph and in any verifier reading its JWKS', async () => {
    const { accessToken, user } = await before.register('old-key@example.com');
    const remote = createTokenVerifier(createRemoteJWKSet(new URL(`${after.base}/.well-known/jwks.json`)));
    await expect(remote(accessToken)).resolves.toMatchObject({ id: user.id });
    // The new replica itself serves the signed-in user.
    expect((await after.gql(ME, {}, accessToken)).data).toEqual({ me: expect.objectContaining({ id: user.id }) });
    // A key that is neither is refused.
    const stranger = await startUsers({ JWT_PRIVATE_KEY: pem() });
    try {
      const { accessToken: foreign } = await stranger.register('foreign@example.com');
      await expect(remote(foreign)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
      expect((await after.gql(ME, {}, foreign)).status).toBe(401);
    } finally {
      await stranger.close();
    }
  });

  it('refuses a JWT_PUBLIC_KEYS that is not a JWKS of public ES256 keys', () => {
    const problems = (env: Record<string, string>): string[] => {
      try {
        readUsersConfig({ NODE_ENV: 'test', ...env });
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problems({ JWT_PUBLIC_KEYS: 'not json' })).toEqual([expect.stringContaining('JWT_PUBLIC_KEYS must be a JWKS document')]);
    const privateJwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    expect(problems({ JWT_PUBLIC_KEYS: JSON.stringify({ keys: [{ ...privateJwk, kid: 'k' }] }) })).toEqual(['JWT_PUBLIC_KEYS key 0 must be a public key (a private key is never published)']);
    const { d: _private, ...publicJwk } = privateJwk;
    expect(problems({ JWT_PUBLIC_KEYS: JSON.stringify({ keys: [publicJwk] }) })).toEqual(['JWT_PUBLIC_KEYS key 0 must be an EC P-256 (ES256) key with x, y and kid']);
    expect(problems({ JWT_PUBLIC_KEYS: JSON.stringify({ keys: [{ ...publicJwk, kid: 'k', x: publicJwk.y }] }) })).toEqual(['JWT_PUBLIC_KEYS key 0 (k) is not a point of P-256']);
    expect(problems({ JWT_PUBLIC_KEYS: JSON.stringify({ keys: [{ ...publicJwk, kid: 'k' }] }) })).toEqual([]);
  });
});
