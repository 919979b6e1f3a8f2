import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader } from 'jose';
import { createTokenVerifier, JWT_AUDIENCE, JWT_ISSUER } from '../../kit/src';
import { PasswordHasher } from '../src/auth/password';
import { LOGIN, LOGOUT, ME, REFRESH, REGISTER, startUsers, type UsersHarness } from './harness';

describe('users: registration, sign-in and sessions', () => {
  let users: UsersHarness;

  beforeAll(async () => {
    users = await startUsers();
  });

  afterAll(async () => {
    await users?.close();
  });

  afterEach(() => jest.restoreAllMocks());

  describe('register', () => {
    it('creates a CUSTOMER with a lowercased email, a session and a UserRegistered outbox event', async () => {
      const result = await users.gql(REGISTER, { input: { email: '  Alice@Example.COM', password: 'correct horse battery', name: ' Alice ' } });
      // Leading spaces are not a valid email: nothing is trimmed silently before validation.
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

      const created = await users.gql(REGISTER, { input: { email: 'Alice@Example.COM', password: 'correct horse battery', name: ' Alice ' } });
      expect(created.errors).toBeUndefined();
      const payload = created.data!.register;
      expect(payload.user).toMatchObject({ email: 'alice@example.com', name: 'Alice', role: 'CUSTOMER', totpEnabled: false });
      expect(payload.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);

      const [row] = await users.sql('select email, password_hash from users where id = ?', [payload.user.id]);
      expect(row!.email).toBe('alice@example.com');
      expect(row!.password_hash).toMatch(/^\$argon2id\$/);
      expect(row!.password_hash).not.toContain('correct horse battery');

      const [token] = await users.sql('select token_hash from refresh_token where user_id = ?', [payload.user.id]);
      expect(token!.token_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(token!.token_hash).not.toBe(payload.refreshToken);

      const events = await users.sql('select type, source, subject, data from outbox where subject = ?', [payload.user.id]);
      expect(events).toEqual([
        { type: 'UserRegistered', source: 'users', subject: payload.user.id, data: expect.objectContaining({ userId: payload.user.id, email: 'alice@example.com', role: 'CUSTOMER' }) },
      ]);
    });

    it('refuses a duplicate email (any case) with CONFLICT and writes nothing', async () => {
      await users.register('dup@example.com');
      const before = await Promise.all([users.count('users'), users.count('refresh_token'), users.count('outbox')]);
      const result = await users.gql(REGISTER, { input: { email: 'DUP@example.com', password: 'another password 1', name: 'Dup' } });
      expect(result.errors?.[0]?.extensions?.code).toBe('CONFLICT');
      expect(await Promise.all([users.count('users'), users.count('refresh_token'), users.count('outbox')])).toEqual(before);
    });

    it.each([
      ['an invalid email', { email: 'not-an-email', password: 'long enough password', name: 'X' }, 'email'],
      ['a password shorter than 10 characters', { email: 'short@example.com', password: '123456789', name: 'X' }, 'password'],
      ['a password longer than 200 characters', { email: 'long@example.com', password: 'p'.repeat(201), name: 'X' }, 'password'],
      ['an empty name', { email: 'empty@example.com', password: 'long enough password', name: '   ' }, 'name'],
      ['a name longer than 100 characters', { email: 'name@example.com', password: 'long enough password', name: 'n'.repeat(101) }, 'name'],
    ])('refuses %s with BAD_USER_INPUT and writes nothing', async (_case, input, field) => {
      const before = await Promise.all([users.count('users'), users.count('refresh_token'), users.count('outbox')]);
      const result = await users.gql(REGISTER, { input });
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.extensions?.fields).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      expect(await Promise.all([users.count('users'), users.count('refresh_token'), users.count('outbox')])).toEqual(before);
    });

    it('accepts passwords of exactly 10 and 200 characters', async () => {
      await expect(users.register('ten@example.com', '0123456789')).resolves.toBeDefined();
      await expect(users.register('twohundred@example.com', 'x'.repeat(200))).resolves.toBeDefined();
    });
  });

  describe('login and me', () => {
    it('signs in with any email case and answers me with the user, email included', async () => {
      const { user } = await users.register('bob@example.com', 'bobs password 123', 'Bob');
      const login = await users.gql(LOGIN, { input: { email: 'BOB@example.com', password: 'bobs password 123' } });
      expect(login.errors).toBeUndefined();
      expect(login.data!.login.user).toMatchObject({ id: user.id, email: 'bob@example.com' });
      const me = await users.gql(ME, {}, login.data!.login.accessToken);
      expect(me.data!.me).toMatchObject({ id: user.id, email: 'bob@example.com', name: 'Bob', role: 'CUSTOMER' });
    });

    it('answers me with null when anonymous and refuses a forged token', async () => {
      expect((await users.gql(ME)).data).toEqual({ me: null });
      const forged = await users.gql(ME, {}, 'eyJhbGciOiJub25lIn0.e30.');
      expect(forged.status).toBe(401);
      expect(forged.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('gives unknown email and wrong password the same error, after the same argon2 work', async () => {
      await users.register('carol@example.com', 'carols password 1');
      const before = await Promise.all([users.count('users'), users.count('refresh_token'), users.count('outbox')]);
      const verify = jest.spyOn(PasswordHasher.prototype, 'verify');
      const unknown = await users.gql(LOGIN, { input: { email: 'nobody@example.com', password: 'carols password 1' } });
      expect(verify).toHaveBeenCalledTimes(1);
      const wrong = await users.gql(LOGIN, { input: { email: 'carol@example.com', password: 'not carols password' } });
      expect(verify).toHaveBeenCalledTimes(2);
      expect(unknown.errors?.[0]).toMatchObject({ message: 'Invalid email or password', extensions: { code: 'UNAUTHENTICATED' } });
      expect(wrong.errors?.[0]?.message).toBe(unknown.errors?.[0]?.message);
      expect(wrong.errors?.[0]?.extensions).toEqual(unknown.errors?.[0]?.extensions);
      expect(unknown.data).toBeNull();
      expect(await Promise.all([users.count('users'), users.count('refresh_token'), users.count('outbox')])).toEqual(before);
    });

    it('issues ES256 access tokens with sub, role, empty scopes, issuer, audience, kid and a 15 minute lifetime', async () => {
      const { accessToken, user } = await users.register('claims@example.com');
      const header = decodeProtectedHeader(accessToken);
      expect(header).toMatchObject({ alg: 'ES256', kid: users.server.signingKeys.kid });
      const claims = decodeJwt(accessToken);
      expect(claims).toMatchObject({ sub: user.id, role: 'CUSTOMER', scopes: [], iss: JWT_ISSUER, aud: JWT_AUDIENCE });
      expect(claims.exp! - claims.iat!).toBe(15 * 60);
    });
  });

  describe('JWKS', () => {
    it('serves the public key only, and it verifies issued tokens through the kit verifier', async () => {
      const response = await fetch(`${users.base}/.well-known/jwks.json`);
      expect(response.status).toBe(200);
      const jwks = (await response.json()) as { keys: Record<string, string>[] };
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: users.server.signingKeys.kid });
      expect(jwks.keys[0]).not.toHaveProperty('d');

      const { accessToken, user } = await users.register('jwks@example.com');
      const verify = createTokenVerifier(createRemoteJWKSet(new URL(`${users.base}/.well-known/jwks.json`)));
      await expect(verify(accessToken)).resolves.toEqual({ id: user.id, role: 'CUSTOMER', scopes: [] });
      const tampered = `${accessToken.slice(0, -4)}AAAA`;
      await expect(verify(tampered)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    });
  });

  describe('refresh tokens', () => {
    it('rotates: each use returns a new token and the old one stops working', async () => {
      const first = await users.register('rotate@example.com');
      const second = await users.gql(REFRESH, { token: first.refreshToken });
      expect(second.errors).toBeUndefined();
      const next = second.data!.refreshToken;
      expect(next.refreshToken).not.toBe(first.refreshToken);
      expect(next.user.id).toBe(first.user.id);
      expect((await users.gql(ME, {}, next.accessToken)).data!.me.id).toBe(first.user.id);

      const third = await users.gql(REFRESH, { token: next.refreshToken });
      expect(third.errors).toBeUndefined();
      const rows = await users.sql('select family_id, used_at from refresh_token where user_id = ? order by created_at, used_at nulls last', [first.user.id]);
      expect(new Set(rows.map((row) => row.family_id)).size).toBe(1);
      expect(rows.filter((row) => row.used_at === null)).toHaveLength(1);

      const old = await users.gql(REFRESH, { token: first.refreshToken });
      expect(old.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'REFRESH_TOKEN_REUSED' });
    });

    it('revokes the whole family when a used token comes back, for thief and victim alike', async () => {
      const victim = await users.register('reuse@example.com');
      const stolen = victim.refreshToken;
      const rotated = (await users.gql(REFRESH, { token: stolen })).data!.refreshToken;

      const replay = await users.gql(REFRESH, { token: stolen });
      expect(replay.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'REFRESH_TOKEN_REUSED' });

      const victimRefresh = await users.gql(REFRESH, { token: rotated.refreshToken });
      expect(victimRefresh.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'REFRESH_TOKEN_REVOKED' });
      const [{ open }] = (await users.sql('select count(*)::int as open from refresh_token where user_id = ? and revoked_at is null', [victim.user.id])) as [{ open: number }];
      expect(open).toBe(0);

      // Another sign-in of the same user is a different family and keeps working.
      const other = await users.gql(LOGIN, { input: { email: 'reuse@example.com', password: 'correct horse battery' } });
      expect((await users.gql(REFRESH, { token: other.data!.login.refreshToken })).errors).toBeUndefined();
    });

    it('refuses unknown, malformed and expired tokens, issuing nothing', async () => {
      const before = await users.count('refresh_token');
      expect((await users.gql(REFRESH, { token: 'A'.repeat(43) })).errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'REFRESH_TOKEN_INVALID' });
      expect((await users.gql(REFRESH, { token: 'short' })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(await users.count('refresh_token')).toBe(before);

      const session = await users.register('expiry@example.com');
      users.clock.advance(30 * 24 * 3600 + 1);
      expect((await users.gql(REFRESH, { token: session.refreshToken })).errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'REFRESH_TOKEN_EXPIRED' });
    });

    it('logout revokes the family of the token', async () => {
      const session = await users.register('logout@example.com');
      const rotated = (await users.gql(REFRESH, { token: session.refreshToken })).data!.refreshToken;
      expect((await users.gql(LOGOUT, { token: rotated.refreshToken })).data).toEqual({ logout: true });
      expect((await users.gql(REFRESH, { token: rotated.refreshToken })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect((await users.gql(LOGOUT, { token: 'B'.repeat(43) })).data).toEqual({ logout: false });
    });
  });

  describe('lockout', () => {
    const attempt = (password: string) => users.gql(LOGIN, { input: { email: 'locked@example.com', password } });

    it('locks after 5 consecutive failures, even for the right password, and unlocks after 15 minutes', async () => {
      const { user } = await users.register('locked@example.com', 'the right password');
      for (let i = 0; i < 5; i += 1) {
        expect((await attempt(`wrong password ${i}`)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      }
      const locked = await attempt('the right password');
      expect(locked.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'ACCOUNT_LOCKED' });
      const lockedUntil = new Date(locked.errors![0]!.extensions!.lockedUntil);
      expect(lockedUntil.getTime() - users.clock.now().getTime()).toBe(15 * 60 * 1000);
      const sessionsBefore = await users.sql('select id from refresh_token where user_id = ?', [user.id]);

      users.clock.advance(15 * 60 - 1);
      expect((await attempt('the right password')).errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
      expect(await users.sql('select id from refresh_token where user_id = ?', [user.id])).toHaveLength(sessionsBefore.length);

      users.clock.advance(1);
      const unlocked = await attempt('the right password');
      expect(unlocked.errors).toBeUndefined();
      const [row] = await users.sql('select failed_login_count, locked_until from users where id = ?', [user.id]);
      expect(row).toEqual({ failed_login_count: 0, locked_until: null });
    });

    it('locks an email without an account exactly like one with an account, so the lock tells nothing', async () => {
      await users.register('known-locked@example.com', 'the right password');
      const tryAs = (email: string) => users.gql(LOGIN, { input: { email, password: 'a wrong password' } });
      for (let i = 0; i < 5; i += 1) {
        const [known, unknown] = [await tryAs('known-locked@example.com'), await tryAs('nobody-here@example.com')];
        expect(unknown.errors?.[0]?.message).toBe(known.errors?.[0]?.message);
        expect(unknown.errors?.[0]?.extensions).toEqual(known.errors?.[0]?.extensions);
      }
      const [known, unknown] = [await tryAs('known-locked@example.com'), await tryAs('Nobody-Here@example.com')];
      expect(known.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'ACCOUNT_LOCKED' });
      expect(unknown.errors?.[0]?.message).toBe(known.errors?.[0]?.message);
      expect(unknown.errors?.[0]?.extensions).toEqual(known.errors?.[0]?.extensions);

      users.clock.advance(15 * 60);
      expect((await tryAs('nobody-here@example.com')).errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'INVALID_CREDENTIALS' });
      // The email is kept only as a hash.
      const rows = await users.sql('select email_hash from unknown_email_lockout');
      expect(JSON.stringify(rows)).not.toContain('nobody-here');
    });

    it('a success resets the count of consecutive failures', async () => {
      await users.register('reset@example.com', 'the right password');
      const tryAs = (password: string) => users.gql(LOGIN, { input: { email: 'reset@example.com', password } });
      for (let i = 0; i < 4; i += 1) await tryAs('wrong password');
      expect((await tryAs('the right password')).errors).toBeUndefined();
      for (let i = 0; i < 4; i += 1) await tryAs('wrong password');
      expect((await tryAs('the right password')).errors).toBeUndefined();
    });
  });
});
