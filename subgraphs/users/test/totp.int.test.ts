import { authenticator } from 'otplib';
import { LOGIN, ME, startUsers, type UsersHarness } from './harness';

const ENROLL = 'mutation { enrollTotp { secret otpauthUrl } }';
const CONFIRM = 'mutation Confirm($code: String!) { confirmTotp(code: $code) }';
const DISABLE = 'mutation Disable($code: String!) { disableTotp(code: $code) }';

describe('users: TOTP two-factor sign-in', () => {
  let users: UsersHarness;
  const codeAt = (secret: string, at: Date) => authenticator.clone({ epoch: at.getTime() }).generate(secret);
  const code = (secret: string) => codeAt(secret, users.clock.now());
  /** Codes work once; tests move to the next 30 s step before using another. */
  const nextStep = () => users.clock.advance(30);
  /** A well-formed code valid in none of the steps the server accepts now. */
  const wrongCode = (secret: string) => {
    const now = users.clock.now().getTime();
    const valid = new Set([-30_000, 0, 30_000].map((offset) => codeAt(secret, new Date(now + offset))));
    return ['000000', '111111', '222222', '333333'].find((candidate) => !valid.has(candidate))!;
  };

  beforeAll(async () => {
    users = await startUsers();
  });

  afterAll(async () => {
    await users?.close();
  });

  const login = (email: string, totp?: string, password = 'correct horse battery') => users.gql(LOGIN, { input: { email, password, totp } });

  it('enrols, confirms, then requires a valid code at sign-in; each code works once', async () => {
    const { accessToken, user } = await users.register('totp@example.com');
    const enrollment = await users.gql(ENROLL, {}, accessToken);
    expect(enrollment.errors).toBeUndefined();
    const { secret, otpauthUrl } = enrollment.data!.enrollTotp;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(otpauthUrl).toMatch(/^otpauth:\/\/totp\/Mercado:totp%40example\.com\?secret=[A-Z2-7]+&period=30&digits=6&algorithm=SHA1&issuer=Mercado$/);

    // Stored encrypted, and not active until confirmed.
    const [stored] = await users.sql('select totp_secret, totp_enabled from users where id = ?', [user.id]);
    expect(stored!.totp_enabled).toBe(false);
    expect(stored!.totp_secret).toMatch(/^v1\./);
    expect(stored!.totp_secret).not.toContain(secret);
    expect((await login('totp@example.com')).errors).toBeUndefined();

    const wrong = await users.gql(CONFIRM, { code: wrongCode(secret) }, accessToken);
    expect(wrong.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TOTP_INVALID' });
    expect((await users.gql(ME, {}, accessToken)).data!.me.totpEnabled).toBe(false);

    expect((await users.gql(CONFIRM, { code: code(secret) }, accessToken)).data).toEqual({ confirmTotp: true });
    expect((await users.gql(ME, {}, accessToken)).data!.me.totpEnabled).toBe(true);
    nextStep();

    const without = await login('totp@example.com');
    expect(without.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOTP_REQUIRED' });
    expect(without.data).toBeNull();

    const badCode = await login('totp@example.com', wrongCode(secret));
    expect(badCode.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOTP_INVALID' });

    // The right code with the wrong password is still just a wrong password.
    const wrongPassword = await login('totp@example.com', code(secret), 'not the password');
    expect(wrongPassword.errors?.[0]?.extensions?.reason).toBe('INVALID_CREDENTIALS');

    const current = code(secret);
    const ok = await login('totp@example.com', current);
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.login.user.totpEnabled).toBe(true);

    const replay = await login('totp@example.com', current);
    expect(replay.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOTP_INVALID' });

    // A code from the previous step is accepted for clock drift, but not one already used.
    nextStep();
    expect((await login('totp@example.com', codeAt(secret, new Date(users.clock.now().getTime() - 30_000)))).errors?.[0]?.extensions?.reason).toBe('TOTP_INVALID');
    expect((await login('totp@example.com', code(secret))).errors).toBeUndefined();
  });

  it('never returns the secret again and refuses re-enrolment while active', async () => {
    const { accessToken } = await users.register('active@example.com');
    const { secret } = (await users.gql(ENROLL, {}, accessToken)).data!.enrollTotp;
    await users.gql(CONFIRM, { code: code(secret) }, accessToken);
    const again = await users.gql(ENROLL, {}, accessToken);
    expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(JSON.stringify(again)).not.toContain(secret);
  });

  it('counts wrong codes towards the lockout', async () => {
    const { accessToken } = await users.register('brute@example.com');
    const { secret } = (await users.gql(ENROLL, {}, accessToken)).data!.enrollTotp;
    await users.gql(CONFIRM, { code: code(secret) }, accessToken);
    nextStep();
    for (let i = 0; i < 5; i += 1) expect((await login('brute@example.com', wrongCode(secret))).errors?.[0]?.extensions?.reason).toBe('TOTP_INVALID');
    expect((await login('brute@example.com', code(secret))).errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'ACCOUNT_LOCKED' });
  });

  it('disables with a valid code only, after which sign-in needs no code', async () => {
    const { accessToken } = await users.register('disable@example.com');
    const { secret } = (await users.gql(ENROLL, {}, accessToken)).data!.enrollTotp;
    expect((await users.gql(DISABLE, { code: code(secret) }, accessToken)).errors?.[0]?.extensions?.code).toBe('CONFLICT');
    await users.gql(CONFIRM, { code: code(secret) }, accessToken);
    nextStep();

    const wrong = await users.gql(DISABLE, { code: wrongCode(secret) }, accessToken);
    expect(wrong.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TOTP_INVALID' });
    expect((await login('disable@example.com')).errors?.[0]?.extensions?.reason).toBe('TOTP_REQUIRED');

    expect((await users.gql(DISABLE, { code: code(secret) }, accessToken)).data).toEqual({ disableTotp: true });
    expect((await login('disable@example.com')).errors).toBeUndefined();
    const [row] = await users.sql('select totp_secret, totp_enabled from users where email = ?', ['disable@example.com']);
    expect(row).toEqual({ totp_secret: null, totp_enabled: false });
  });

  it('refuses anonymous callers', async () => {
    for (const [query, variables] of [[ENROLL, {}], [CONFIRM, { code: '123456' }], [DISABLE, { code: '123456' }]] as const) {
      expect((await users.gql(query, variables)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });
});
