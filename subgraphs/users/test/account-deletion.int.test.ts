import { authenticator } from 'otplib';
import { DEMO_USERS } from '../../../scripts/demo-data';
import { API_KEY_TOKEN_PATH } from '../src/api-keys/api-key.route';
import { seedUsers } from '../src/seeds/users.seed';
import { LOGIN, ME, REFRESH, startUsers, type UsersHarness } from './harness';

const DELETE = 'mutation Delete($input: DeleteAccountInput!) { deleteAccount(input: $input) }';
const ENROLL = 'mutation { enrollTotp { secret } }';
const CONFIRM = 'mutation Confirm($code: String!) { confirmTotp(code: $code) }';
const CREATE_KEY = 'mutation { createApiKey(input: { name: "bot", scopes: [READ] }) { key } }';
const SET_ROLE = 'mutation SetRole($userId: ID!, $role: Role!) { setUserRole(userId: $userId, role: $role) { id } }';
const REFERENCE = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id name email } } }';
const PASSWORD = 'correct horse battery';

describe('users: deleting an account', () => {
  let users: UsersHarness;
  let adminToken: string;

  const codeAt = (secret: string, at: Date) => authenticator.clone({ epoch: at.getTime() }).generate(secret);
  const deleteAccount = (token: string | undefined, password = PASSWORD, totp?: string) => users.gql(DELETE, { input: { password, totp } }, token);
  const signIn = async (email: string): Promise<{ accessToken: string; refreshToken: string }> => {
    const login = await users.gql(LOGIN, { input: { email, password: PASSWORD } });
    if (login.errors) throw new Error(`login failed: ${JSON.stringify(login.errors)}`);
    return login.data!.login;
  };
  const userRow = async (id: string) => (await users.sql('select * from users where id = ?', [id]))[0]!;
  const deletedEvents = (userId: string) =>
    users.sql<{ type: string; subject: string; data: Record<string, unknown> }>(`select type, subject, data from outbox where type = 'UserDeleted' and subject = ? order by occurred_at`, [userId]);
  const exchange = (key: string) => fetch(`${users.base}${API_KEY_TOKEN_PATH}`, { method: 'POST', headers: { 'x-api-key': key } });

  beforeAll(async () => {
    users = await startUsers();
    await seedUsers(users.server.orm.em.fork(), DEMO_USERS);
    const admin = DEMO_USERS.find((user) => user.role === 'ADMIN')!;
    adminToken = (await users.gql(LOGIN, { input: { email: admin.email, password: admin.password } })).data!.login.accessToken;
  });

  afterAll(async () => {
    await users?.close();
  });

  it('scrubs the account, ends its sessions and keys, emits UserDeleted and frees the email; other accounts stay', async () => {
    const { user, accessToken, refreshToken } = await users.register('leaving@example.com', PASSWORD, 'Leaving Person');
    const other = await users.register('staying@example.com', PASSWORD, 'Staying Person');
    await users.markEmailVerified(user.id);
    const setRole = await users.gql(SET_ROLE, { userId: user.id, role: 'PARTNER' }, adminToken);
    expect(setRole.errors).toBeUndefined();
    const partner = await signIn('leaving@example.com');
    const { key } = (await users.gql(CREATE_KEY, {}, partner.accessToken)).data!.createApiKey;
    expect((await exchange(key)).status).toBe(200);

    expect((await deleteAccount(accessToken)).data).toEqual({ deleteAccount: true });

    const row = await userRow(user.id);
    expect(row).toMatchObject({ email: null, name: 'Deleted user', password_hash: '', totp_secret: null, totp_enabled: false });
    expect(row.deleted_at).not.toBeNull();
    expect(await users.sql('select id from refresh_token where user_id = ?', [user.id])).toEqual([]);
    expect(await users.sql('select id from api_key where user_id = ?', [user.id])).toEqual([]);
    const [registered] = await users.sql<{ data: Record<string, unknown> }>(`select data from outbox where type = 'UserRegistered' and subject = ?`, [user.id]);
    expect(registered!.data).toEqual({ userId: user.id, role: 'CUSTOMER', registeredAt: expect.any(String) });
    const [event] = await deletedEvents(user.id);
    expect(event).toMatchObject({ type: 'UserDeleted', subject: user.id, data: { userId: user.id, deletedAt: new Date(row.deleted_at).toISOString() } });

    // The still-valid access token is nobody; the refresh token, the password and the API key are dead.
    expect((await users.gql(ME, {}, accessToken)).data).toEqual({ me: null });
    expect((await users.gql(REFRESH, { token: refreshToken })).errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'REFRESH_TOKEN_INVALID' });
    expect((await users.gql(LOGIN, { input: { email: 'leaving@example.com', password: PASSWORD } })).errors![0]!.extensions).toMatchObject({ reason: 'INVALID_CREDENTIALS' });
    expect((await exchange(key)).status).toBe(401);
    expect((await users.gql(ENROLL, {}, accessToken)).errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    expect((await users.gql(CREATE_KEY, {}, partner.accessToken)).errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    expect((await deleteAccount(accessToken)).errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    expect(await deletedEvents(user.id)).toHaveLength(1);
    expect((await users.gql(SET_ROLE, { userId: user.id, role: 'TRADER' }, adminToken)).errors![0]!.extensions!.code).toBe('NOT_FOUND');

    // Other subgraphs' references to the id still resolve, to nobody in particular, even for an ADMIN.
    const reference = await users.gql(REFERENCE, { r: [{ __typename: 'User', id: user.id }] }, adminToken);
    expect(reference.data!._entities).toEqual([{ id: user.id, name: 'Deleted user', email: null }]);

    const again = await users.register('leaving@example.com', PASSWORD, 'Someone New');
    expect(again.user.id).not.toBe(user.id);
    expect((await users.gql(ME, {}, other.accessToken)).data!.me).toMatchObject({ id: other.user.id, email: 'staying@example.com', name: 'Staying Person' });
  });

  it('asks for the password again: a wrong one deletes nothing and counts towards the lockout', async () => {
    const { user, accessToken } = await users.register('wrong-password@example.com');
    const refused = await deleteAccount(accessToken, 'not the password at all');
    expect(refused.errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'INVALID_CREDENTIALS' });
    const row = await userRow(user.id);
    expect(row).toMatchObject({ email: 'wrong-password@example.com', deleted_at: null, failed_login_count: 1 });
    expect(await deletedEvents(user.id)).toEqual([]);
    expect((await users.gql(ME, {}, accessToken)).data!.me.id).toBe(user.id);
  });

  it('asks for the two-factor code when two-factor sign-in is active', async () => {
    const { user, accessToken } = await users.register('two-factor@example.com');
    const { secret } = (await users.gql(ENROLL, {}, accessToken)).data!.enrollTotp;
    expect((await users.gql(CONFIRM, { code: codeAt(secret, users.clock.now()) }, accessToken)).data).toEqual({ confirmTotp: true });
    users.clock.advance(30);

    expect((await deleteAccount(accessToken)).errors![0]!.extensions).toMatchObject({ reason: 'TOTP_REQUIRED' });
    const now = users.clock.now().getTime();
    const valid = new Set([-30_000, 0, 30_000].map((offset) => codeAt(secret, new Date(now + offset))));
    const wrong = ['000000', '111111', '222222'].find((candidate) => !valid.has(candidate))!;
    expect((await deleteAccount(accessToken, PASSWORD, wrong)).errors![0]!.extensions).toMatchObject({ reason: 'TOTP_INVALID' });
    expect(await userRow(user.id)).toMatchObject({ deleted_at: null, totp_enabled: true, failed_login_count: 1 });

    expect((await deleteAccount(accessToken, PASSWORD, codeAt(secret, users.clock.now()))).data).toEqual({ deleteAccount: true });
    expect(await userRow(user.id)).toMatchObject({ email: null, totp_enabled: false, totp_secret: null });
    expect(await deletedEvents(user.id)).toHaveLength(1);
  });

  it('sends UserDeleted once more when every token issued before the deletion has expired, so what one created meanwhile is erased too', async () => {
    const { user, accessToken } = await users.register('second-pass@example.com');
    expect((await deleteAccount(accessToken)).data).toEqual({ deleteAccount: true });
    // Access tokens live 15 minutes (API key tokens 5), the router caches a verified one a minute, and clocks drift.
    users.clock.advance(15 * 60 + 89);
    await users.server.repeatErasures();
    expect(await deletedEvents(user.id)).toHaveLength(1);

    users.clock.advance(2);
    expect(await users.server.repeatErasures()).toBeGreaterThanOrEqual(1);
    const events = await deletedEvents(user.id);
    expect(events).toHaveLength(2);
    expect(events.map((event) => event.data)).toEqual([
      { userId: user.id, deletedAt: expect.any(String) },
      { userId: user.id, deletedAt: events[0]!.data.deletedAt, repeat: true },
    ]);
    await users.server.repeatErasures();
    expect(await deletedEvents(user.id)).toHaveLength(2);
  });

  it('refuses the anonymous and tokens obtained from an API key (which cannot change the password either)', async () => {
    expect((await deleteAccount(undefined)).errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');

    const { user } = await users.register('partner-bot@example.com');
    await users.markEmailVerified(user.id);
    await users.gql(SET_ROLE, { userId: user.id, role: 'PARTNER' }, adminToken);
    const { key } = (await users.gql(CREATE_KEY, {}, (await signIn('partner-bot@example.com')).accessToken)).data!.createApiKey;
    const { accessToken: keyToken } = (await (await exchange(key)).json()) as { accessToken: string };
    expect((await deleteAccount(keyToken)).errors![0]!.extensions!.code).toBe('FORBIDDEN');
    // Nor may such a token change the password it does not know.
    const change = await users.gql('mutation($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken } }', { input: { currentPassword: PASSWORD, newPassword: 'another long password' } }, keyToken);
    expect(change.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect(await userRow(user.id)).toMatchObject({ deleted_at: null });
  });
});
