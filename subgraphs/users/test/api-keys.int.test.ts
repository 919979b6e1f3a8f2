import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt } from 'jose';
import pino from 'pino';
import { DEMO_USERS } from '../../../scripts/demo-data';
import { createTokenVerifier, type TokenVerifier } from '../../kit/src';
import { API_KEY_TOKEN_PATH } from '../src/api-keys/api-key.route';
import { seedUsers } from '../src/seeds/users.seed';
import { LOGIN, ME, startUsers, type UsersHarness } from './harness';

const KEY_FIELDS = 'id name prefix scopes createdAt lastUsedAt expiresAt revokedAt active';
const CREATE = `mutation Create($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { ${KEY_FIELDS} } } }`;
const LIST = `{ apiKeys { ${KEY_FIELDS} } }`;
const REVOKE = `mutation Revoke($id: ID!) { revokeApiKey(id: $id) { ${KEY_FIELDS} } }`;
const SET_ROLE = 'mutation SetRole($userId: ID!, $role: Role!) { setUserRole(userId: $userId, role: $role) { id role } }';
const INVALID_API_KEY = { error: 'INVALID_API_KEY', message: 'The API key is not valid' };
const PASSWORD = 'correct horse battery';

interface Exchanged {
  status: number;
  text: string;
  body: Record<string, any>;
  headers: Headers;
}

describe('users: API keys and their exchange for access tokens', () => {
  let users: UsersHarness;
  let adminToken: string;
  let verify: TokenVerifier;
  /** Every line the server logged, to prove no key reaches one. */
  const logLines: string[] = [];
  /** Every key this file was given. */
  const issuedKeys: string[] = [];

  const signIn = async (email: string): Promise<string> => {
    const login = await users.gql(LOGIN, { input: { email, password: PASSWORD } });
    if (login.errors) throw new Error(`login failed: ${JSON.stringify(login.errors)}`);
    return login.data!.login.accessToken;
  };

  const setRole = async (userId: string, role: string): Promise<void> => {
    const result = await users.gql(SET_ROLE, { userId, role }, adminToken);
    if (result.errors) throw new Error(`setUserRole failed: ${JSON.stringify(result.errors)}`);
  };

  /** A new account with `role` and a verified email, signed in again so its token carries the role. */
  const account = async (email: string, role = 'PARTNER'): Promise<{ id: string; token: string }> => {
    const { user } = await users.register(email, PASSWORD);
    await users.markEmailVerified(user.id);
    if (role !== 'CUSTOMER') await setRole(user.id, role);
    return { id: user.id, token: await signIn(email) };
  };

  const createKey = async (token: string, input: Record<string, unknown> = {}): Promise<{ key: string; apiKey: Record<string, any> }> => {
    const result = await users.gql(CREATE, { input: { name: 'Partner bot', scopes: ['READ'], ...input } }, token);
    if (result.errors) throw new Error(`createApiKey failed: ${JSON.stringify(result.errors)}`);
    issuedKeys.push(result.data!.createApiKey.key);
    return result.data!.createApiKey;
  };

  const exchange = async (key?: string): Promise<Exchanged> => {
    const response = await fetch(`${users.base}${API_KEY_TOKEN_PATH}`, { method: 'POST', headers: key === undefined ? {} : { 'x-api-key': key } });
    const text = await response.text();
    return { status: response.status, text, body: JSON.parse(text), headers: response.headers };
  };

  const apiKeyRows = () => users.sql<{ n: number }>('select count(*)::int as n from api_key').then(([row]) => row!.n);

  beforeAll(async () => {
    const log = pino({ level: 'trace' }, { write: (line: string) => logLines.push(line) });
    users = await startUsers({}, log);
    await seedUsers(users.server.orm.em.fork(), DEMO_USERS);
    const admin = DEMO_USERS.find((user) => user.role === 'ADMIN')!;
    const login = await users.gql(LOGIN, { input: { email: admin.email, password: admin.password } });
    adminToken = login.data!.login.accessToken;
    verify = createTokenVerifier(createRemoteJWKSet(new URL(`${users.base}/.well-known/jwks.json`)));
  });

  afterAll(async () => {
    await users?.close();
  });

  it('shows a PARTNER the new key once; the listing shows its prefix, never the key', async () => {
    const partner = await account('shown-once@example.com');
    const created = await createKey(partner.token, { name: '  Reporting bot ', scopes: ['READ', 'WRITE'], expiresInDays: 30 });
    const now = users.clock.now();
    expect(created.key).toMatch(/^mk_[A-Za-z0-9_-]{43}$/);
    expect(created.apiKey).toEqual({
      id: expect.any(String),
      name: 'Reporting bot',
      prefix: created.key.slice(0, 11),
      scopes: ['READ', 'WRITE'],
      createdAt: now.toISOString(),
      lastUsedAt: null,
      expiresAt: new Date(now.getTime() + 30 * 24 * 3600 * 1000).toISOString(),
      revokedAt: null,
      active: true,
    });

    users.clock.advance(1);
    const newer = await createKey(partner.token, { name: 'Second' });
    const listed = await users.gql(LIST, {}, partner.token);
    expect(listed.errors).toBeUndefined();
    expect(listed.data!.apiKeys).toEqual([newer.apiKey, created.apiKey]);
    const secretPart = created.key.slice(11);
    expect(JSON.stringify(listed)).not.toContain(secretPart);
    expect(JSON.stringify(listed)).not.toContain(newer.key.slice(11));

    const [row] = await users.sql('select prefix, key_hash, scopes, user_id from api_key where id = ?', [created.apiKey.id]);
    expect(row).toEqual({ prefix: created.key.slice(0, 11), key_hash: createHash('sha256').update(created.key).digest(), scopes: ['read', 'write'], user_id: partner.id });
    const everyColumn = await users.sql('select * from api_key');
    expect(JSON.stringify(everyColumn)).not.toContain(secretPart);
  });

  it('lets an ADMIN hold keys too', async () => {
    const created = await createKey(adminToken, { name: 'Admin tooling' });
    expect(created.apiKey.active).toBe(true);
    expect((await exchange(created.key)).status).toBe(200);
  });

  it('refuses a PARTNER whose email is not verified (FORBIDDEN, EMAIL_NOT_VERIFIED), writing nothing', async () => {
    const { user } = await users.register('unverified-partner@example.com', PASSWORD);
    await setRole(user.id, 'PARTNER');
    const token = await signIn('unverified-partner@example.com');
    const before = await apiKeyRows();
    const refused = await users.gql(CREATE, { input: { name: 'Too early', scopes: ['READ'] } }, token);
    expect(refused.errors![0]!.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'EMAIL_NOT_VERIFIED' });
    expect(await apiKeyRows()).toBe(before);

    await users.markEmailVerified(user.id);
    expect((await createKey(token)).apiKey.active).toBe(true);
  });

  it('refuses a CUSTOMER (FORBIDDEN) and an anonymous caller (UNAUTHENTICATED) before looking at the input, writing nothing', async () => {
    const customer = await account('customer-keys@example.com', 'CUSTOMER');
    const trader = await account('trader-keys@example.com', 'TRADER');
    const before = await apiKeyRows();
    const operations: [string, Record<string, unknown>][] = [
      [CREATE, { input: { name: 'x', scopes: ['READ'] } }],
      [CREATE, { input: { name: 'x', scopes: [] } }],
      [LIST, {}],
      [REVOKE, { id: '00000000-0000-4000-8000-000000000000' }],
    ];
    for (const [query, variables] of operations) {
      expect((await users.gql(query, variables, customer.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect((await users.gql(query, variables, trader.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect((await users.gql(query, variables)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    expect(await apiKeyRows()).toBe(before);
  });

  it('lists only the caller\'s own keys; another user\'s key answers NOT_FOUND like an unknown id and stays active', async () => {
    const alice = await account('alice-keys@example.com');
    const bob = await account('bob-keys@example.com');
    const aliceKey = await createKey(alice.token, { name: 'Alice bot' });
    const bobKey = await createKey(bob.token, { name: 'Bob bot' });

    expect((await users.gql(LIST, {}, alice.token)).data!.apiKeys.map((key: { id: string }) => key.id)).toEqual([aliceKey.apiKey.id]);
    expect((await users.gql(LIST, {}, bob.token)).data!.apiKeys.map((key: { id: string }) => key.id)).toEqual([bobKey.apiKey.id]);

    const stolen = await users.gql(REVOKE, { id: aliceKey.apiKey.id }, bob.token);
    const unknownId = '00000000-0000-4000-8000-000000000000';
    const unknown = await users.gql(REVOKE, { id: unknownId }, bob.token);
    expect(stolen.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(stolen.errors![0]!.message.replace(aliceKey.apiKey.id, '<id>')).toBe(unknown.errors![0]!.message.replace(unknownId, '<id>'));

    const [row] = await users.sql('select revoked_at from api_key where id = ?', [aliceKey.apiKey.id]);
    expect(row!.revoked_at).toBeNull();
    expect((await exchange(aliceKey.key)).status).toBe(200);
  });

  it('revokes idempotently: the second revoke answers the key as revoked, unchanged', async () => {
    const partner = await account('revoker@example.com');
    const { apiKey } = await createKey(partner.token);
    const first = await users.gql(REVOKE, { id: apiKey.id }, partner.token);
    expect(first.errors).toBeUndefined();
    expect(first.data!.revokeApiKey).toMatchObject({ id: apiKey.id, active: false, revokedAt: users.clock.now().toISOString() });
    users.clock.advance(60);
    const second = await users.gql(REVOKE, { id: apiKey.id }, partner.token);
    expect(second.errors).toBeUndefined();
    expect(second.data!.revokeApiKey).toEqual(first.data!.revokeApiKey);
  });

  it('exchanges a key for a JWT the kit verifies as its owner, with the owner\'s role, the key\'s scopes and its id', async () => {
    const partner = await account('exchanger@example.com');
    const { key, apiKey } = await createKey(partner.token, { scopes: ['WRITE', 'READ'] });
    const response = await exchange(key);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.body).toEqual({ accessToken: expect.any(String), expiresAt: expect.any(String), scopes: ['write', 'read'] });

    await expect(verify(response.body.accessToken)).resolves.toEqual({ id: partner.id, role: 'PARTNER', scopes: ['write', 'read'], apiKeyId: apiKey.id });
    const claims = decodeJwt(response.body.accessToken);
    expect(claims.exp! - claims.iat!).toBe(300);
    expect(response.body.expiresAt).toBe(new Date(claims.exp! * 1000).toISOString());

    const me = await users.gql(ME, {}, response.body.accessToken);
    expect(me.data!.me).toMatchObject({ id: partner.id, role: 'PARTNER' });

    // A sign-in token carries neither scopes nor a key id.
    await expect(verify(partner.token)).resolves.toStrictEqual({ id: partner.id, role: 'PARTNER', scopes: [] });
  });

  it('answers revoked, expired, unknown, malformed and missing keys with the same 401', async () => {
    const partner = await account('refused@example.com');
    const revoked = await createKey(partner.token, { name: 'Revoked' });
    await users.gql(REVOKE, { id: revoked.apiKey.id }, partner.token);
    users.clock.advance(1);
    const expired = await createKey(partner.token, { name: 'Expired', expiresInDays: 1 });
    await users.sql('update api_key set expires_at = ? where id = ?', [new Date(users.clock.now().getTime() - 1000), expired.apiKey.id]);
    const unknown = `mk_${randomBytes(32).toString('base64url')}`;

    const answers = await Promise.all([exchange(revoked.key), exchange(expired.key), exchange(unknown), exchange('not-a-key'), exchange(revoked.key.slice(0, 20)), exchange()]);
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual(INVALID_API_KEY);
      expect(answer.text).toBe(answers[0]!.text);
    }
    const listed = await users.gql(LIST, {}, partner.token);
    expect(listed.data!.apiKeys.map((key: { name: string; active: boolean }) => [key.name, key.active])).toEqual([
      ['Expired', false],
      ['Revoked', false],
    ]);
  });

  it('stops exchanging a key once its owner is no longer PARTNER or ADMIN, and follows the owner\'s current role', async () => {
    const partner = await account('demoted@example.com');
    const { key, apiKey } = await createKey(partner.token);
    expect((await exchange(key)).status).toBe(200);

    await setRole(partner.id, 'CUSTOMER');
    const refused = await exchange(key);
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual(INVALID_API_KEY);

    await setRole(partner.id, 'ADMIN');
    const promoted = await exchange(key);
    expect(promoted.status).toBe(200);
    await expect(verify(promoted.body.accessToken)).resolves.toMatchObject({ id: partner.id, role: 'ADMIN', apiKeyId: apiKey.id });
  });

  it('refuses to manage keys with a token obtained from an API key (FORBIDDEN), writing nothing', async () => {
    const partner = await account('programmatic@example.com');
    const { key, apiKey } = await createKey(partner.token, { scopes: ['READ', 'WRITE'] });
    const token = (await exchange(key)).body.accessToken as string;
    const before = await apiKeyRows();
    expect((await users.gql(CREATE, { input: { name: 'Minted', scopes: ['WRITE'] } }, token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await users.gql(LIST, {}, token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await users.gql(REVOKE, { id: apiKey.id }, token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await apiKeyRows()).toBe(before);
    const [row] = await users.sql('select revoked_at from api_key where id = ?', [apiKey.id]);
    expect(row!.revoked_at).toBeNull();
  });

  describe('input', () => {
    let partner: { id: string; token: string };

    beforeAll(async () => {
      partner = await account('inputs@example.com');
    });

    it.each([
      ['empty scopes', { scopes: [] }, 'scopes'],
      ['duplicate scopes', { scopes: ['READ', 'READ'] }, 'scopes'],
      ['a 101-character name', { name: 'n'.repeat(101) }, 'name'],
      ['a blank name', { name: '   ' }, 'name'],
      ['expiresInDays 0', { expiresInDays: 0 }, 'expiresInDays'],
      ['expiresInDays 3651', { expiresInDays: 3651 }, 'expiresInDays'],
    ])('refuses %s with BAD_USER_INPUT and writes nothing', async (_case, input, field) => {
      const before = await apiKeyRows();
      const result = await users.gql(CREATE, { input: { name: 'Valid', scopes: ['READ'], ...input } }, partner.token);
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.extensions?.fields).toEqual([expect.objectContaining({ field })]);
      expect(await apiKeyRows()).toBe(before);
    });

    it('accepts a name of 100 characters once trimmed and expiresInDays 3650', async () => {
      const { apiKey } = await createKey(partner.token, { name: ` ${'n'.repeat(100)} `, expiresInDays: 3650 });
      expect(apiKey.name).toBe('n'.repeat(100));
      expect(apiKey.expiresAt).toBe(new Date(users.clock.now().getTime() + 3650 * 24 * 3600 * 1000).toISOString());
    });
  });

  it('refuses a 21st active key with CONFLICT; revoked and expired keys free their places, and concurrent creations respect the limit', async () => {
    const partner = await account('many-keys@example.com');
    const keys = [];
    for (let index = 0; index < 20; index += 1) keys.push(await createKey(partner.token, { name: `Key ${index}` }));
    const before = await apiKeyRows();
    const refused = await users.gql(CREATE, { input: { name: 'One too many', scopes: ['READ'] } }, partner.token);
    expect(refused.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(await apiKeyRows()).toBe(before);

    await users.gql(REVOKE, { id: keys[0]!.apiKey.id }, partner.token);
    await users.sql('update api_key set expires_at = ? where id = ?', [new Date(users.clock.now().getTime() - 1000), keys[1]!.apiKey.id]);
    const racing = await Promise.all([1, 2, 3].map((index) => users.gql(CREATE, { input: { name: `Racing ${index}`, scopes: ['READ'] } }, partner.token)));
    expect(racing.filter((result) => !result.errors)).toHaveLength(2);
    expect(racing.filter((result) => result.errors?.[0]?.extensions?.code === 'CONFLICT')).toHaveLength(1);
    issuedKeys.push(...racing.filter((result) => !result.errors).map((result) => result.data!.createApiKey.key as string));
    const [row] = await users.sql<{ n: number }>(
      'select count(*)::int as n from api_key where user_id = ? and revoked_at is null and (expires_at is null or expires_at > ?)',
      [partner.id, users.clock.now()],
    );
    expect(row!.n).toBe(20);
  });

  it('sets last_used_at on an exchange, and moves it at most once a minute', async () => {
    const partner = await account('last-used@example.com');
    const { key, apiKey } = await createKey(partner.token);
    const lastUsed = async () => {
      const [row] = await users.sql<{ last_used_at: string | null }>('select last_used_at from api_key where id = ?', [apiKey.id]);
      return row!.last_used_at === null ? null : new Date(row!.last_used_at).toISOString();
    };
    expect(await lastUsed()).toBeNull();

    const first = users.clock.now().toISOString();
    expect((await exchange(key)).status).toBe(200);
    expect(await lastUsed()).toBe(first);

    users.clock.advance(59);
    expect((await exchange(key)).status).toBe(200);
    expect(await lastUsed()).toBe(first);

    users.clock.advance(1);
    expect((await exchange(key)).status).toBe(200);
    expect(await lastUsed()).toBe(users.clock.now().toISOString());
    expect((await users.gql(LIST, {}, partner.token)).data!.apiKeys[0].lastUsedAt).toBe(users.clock.now().toISOString());
  });

  it('never wrote a key to a log line', () => {
    expect(issuedKeys.length).toBeGreaterThan(20);
    expect(logLines.some((line) => line.includes('API key created'))).toBe(true);
    expect(logLines.some((line) => line.includes('API key refused'))).toBe(true);
    const logged = logLines.join('');
    for (const key of issuedKeys) expect(logged).not.toContain(key.slice(11));
  });
});
