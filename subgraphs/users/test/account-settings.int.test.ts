import { authenticator } from 'otplib';
import { AUTH_FIELDS, LOGIN, ME, REFRESH, startUsers, type UsersHarness } from './harness';

const CHANGE_PASSWORD = `mutation Change($input: ChangePasswordInput!) { changePassword(input: $input) { ${AUTH_FIELDS} } }`;
const UPDATE_PROFILE = 'mutation Update($input: UpdateProfileInput!) { updateProfile(input: $input) { id name email } }';
const ENROLL = 'mutation { enrollTotp { secret } }';
const CONFIRM = 'mutation Confirm($code: String!) { confirmTotp(code: $code) }';
const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a different long passphrase';

describe('users: changing the password and the profile', () => {
  let users: UsersHarness;

  const codeAt = (secret: string, at: Date) => authenticator.clone({ epoch: at.getTime() }).generate(secret);
  const change = (token: string | undefined, currentPassword: string, newPassword: string, totp?: string) =>
    users.gql(CHANGE_PASSWORD, { input: { currentPassword, newPassword, totp } }, token);
  const login = (email: string, password: string) => users.gql(LOGIN, { input: { email, password } });
  const userRow = async (id: string) => (await users.sql('select * from users where id = ?', [id]))[0]!;

  beforeAll(async () => {
    users = await startUsers();
  });

  afterAll(async () => {
    await users?.close();
  });

  it('sets the new password, ends every session and signs this client in anew', async () => {
    const { user, accessToken, refreshToken } = await users.register('changing@example.com', PASSWORD);
    const elsewhere = (await login('changing@example.com', PASSWORD)).data!.login;

    const changed = await change(accessToken, PASSWORD, NEW_PASSWORD);
    expect(changed.errors).toBeUndefined();
    expect(changed.data!.changePassword.user).toMatchObject({ id: user.id, email: 'changing@example.com' });

    expect((await login('changing@example.com', PASSWORD)).errors![0]!.extensions).toMatchObject({ reason: 'INVALID_CREDENTIALS' });
    expect((await login('changing@example.com', NEW_PASSWORD)).errors).toBeUndefined();
    for (const token of [refreshToken, elsewhere.refreshToken]) {
      expect((await users.gql(REFRESH, { token })).errors![0]!.extensions).toMatchObject({ reason: 'REFRESH_TOKEN_REVOKED' });
    }
    const renewed = await users.gql(REFRESH, { token: changed.data!.changePassword.refreshToken });
    expect(renewed.errors).toBeUndefined();
    expect((await users.gql(ME, {}, renewed.data!.refreshToken.accessToken)).data!.me.id).toBe(user.id);
  });

  it('refuses a wrong current password (counted towards the lockout), a short new one and the anonymous, changing nothing', async () => {
    const { user, accessToken, refreshToken } = await users.register('careful@example.com', PASSWORD);
    const hash = (await userRow(user.id)).password_hash;

    expect((await change(accessToken, 'not my password at all', NEW_PASSWORD)).errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'INVALID_CREDENTIALS' });
    expect(await userRow(user.id)).toMatchObject({ password_hash: hash, failed_login_count: 1 });
    const short = await change(accessToken, PASSWORD, 'short');
    expect(short.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect(short.errors![0]!.message).toContain('newPassword must be at least 10 characters');
    expect((await change(undefined, PASSWORD, NEW_PASSWORD)).errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');

    expect((await userRow(user.id)).password_hash).toBe(hash);
    expect((await users.gql(REFRESH, { token: refreshToken })).errors).toBeUndefined();
  });

  it('asks for the two-factor code when two-factor sign-in is active; each code works once', async () => {
    const { user, accessToken } = await users.register('changing-2fa@example.com', PASSWORD);
    const { secret } = (await users.gql(ENROLL, {}, accessToken)).data!.enrollTotp;
    const confirmCode = codeAt(secret, users.clock.now());
    expect((await users.gql(CONFIRM, { code: confirmCode }, accessToken)).data).toEqual({ confirmTotp: true });

    expect((await change(accessToken, PASSWORD, NEW_PASSWORD)).errors![0]!.extensions).toMatchObject({ reason: 'TOTP_REQUIRED' });
    // The code confirmTotp just spent cannot be used again.
    expect((await change(accessToken, PASSWORD, NEW_PASSWORD, confirmCode)).errors![0]!.extensions).toMatchObject({ reason: 'TOTP_INVALID' });
    expect(await userRow(user.id)).toMatchObject({ failed_login_count: 1 });

    users.clock.advance(30);
    const changed = await change(accessToken, PASSWORD, NEW_PASSWORD, codeAt(secret, users.clock.now()));
    expect(changed.errors).toBeUndefined();
    expect(await userRow(user.id)).toMatchObject({ failed_login_count: 0, totp_enabled: true });
  });

  it('renames the signed-in user only, trimmed, and refuses an empty or over-long name', async () => {
    const { user, accessToken } = await users.register('renaming@example.com', PASSWORD, 'Old Name');
    const other = await users.register('bystander@example.com', PASSWORD, 'Bystander');

    const renamed = await users.gql(UPDATE_PROFILE, { input: { name: '  New Name  ' } }, accessToken);
    expect(renamed.data!.updateProfile).toEqual({ id: user.id, name: 'New Name', email: 'renaming@example.com' });
    expect((await users.gql(ME, {}, accessToken)).data!.me.name).toBe('New Name');
    expect((await users.gql(ME, {}, other.accessToken)).data!.me.name).toBe('Bystander');

    for (const name of ['   ', 'x'.repeat(101)]) {
      expect((await users.gql(UPDATE_PROFILE, { input: { name } }, accessToken)).errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    }
    expect((await users.gql(UPDATE_PROFILE, { input: { name: 'Anyone' } })).errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    expect((await userRow(user.id)).name).toBe('New Name');
  });
});
