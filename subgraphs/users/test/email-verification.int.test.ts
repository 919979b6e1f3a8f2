import { authenticator } from 'otplib';
import { createRedisClient } from '../../kit/src/events';
import { cleanupRedis, REDIS_URL, testPrefix } from '../../kit/src/events/testing';
import { MAIL_QUEUE } from '../src/mail/mail.queue';
import { LOGIN, startUsers, type UsersHarness } from './harness';
import { linkToken, SmtpInbox } from './smtp-inbox';

const VERIFY = 'mutation Verify($token: String!) { verifyEmail(token: $token) { id email emailVerified } }';
const RESEND = 'mutation { resendEmailVerification }';
const CHANGE = 'mutation Change($input: RequestEmailChangeInput!) { requestEmailChange(input: $input) }';
const ME = '{ me { id email emailVerified } }';
const REQUEST_RESET = 'mutation Request($email: String!) { requestPasswordReset(email: $email) }';
const RESET = 'mutation Reset($input: ResetPasswordInput!) { resetPassword(input: $input) { accessToken } }';
const PASSWORD = 'correct horse battery';
const VERIFY_PAGE = 'https://app.example.com/verify-email';
const RESET_PAGE = 'https://app.example.com/reset-password';
const WELCOME = 'Confirm your Mercado email address';
const CONFIRM_NEW = 'Confirm your new Mercado email address';
const CHANGED = 'Your Mercado email address was changed';
const RESET_SUBJECT = 'Reset your Mercado password';

describe('users: email verification and change', () => {
  const prefix = testPrefix('users-email');
  const inbox = new SmtpInbox();
  const redis = createRedisClient(REDIS_URL);
  let users: UsersHarness;

  const verify = (token: string, accessToken?: string) => users.gql(VERIFY, { token }, accessToken);
  const me = async (accessToken: string) => (await users.gql(ME, {}, accessToken)).data!.me;
  const login = (email: string, password = PASSWORD) => users.gql(LOGIN, { input: { email, password } });
  const requestChange = (accessToken: string, newEmail: string, password = PASSWORD, totp?: string) =>
    users.gql(CHANGE, { input: { newEmail, password, totp } }, accessToken);
  /** How many mail jobs were ever queued (BullMQ's job id counter). */
  const mailsQueued = async () => Number((await redis.get(`${prefix}:${MAIL_QUEUE}:id`)) ?? 0);
  const links = (userId: string) => users.sql<{ kind: string; email: string }>('select "kind", "email" from "email_verification" where "user_id" = ? order by "kind"', [userId]);
  /** Registers `email` and answers its session with the token of the verification link mailed to it. */
  const registerMailed = async (email: string) => {
    const welcomed = inbox.take(email, WELCOME);
    const registered = await users.register(email, PASSWORD);
    return { ...registered, token: linkToken(await welcomed, VERIFY_PAGE) };
  };

  beforeAll(async () => {
    const smtpUrl = await inbox.start();
    users = await startUsers({ SMTP_URL: smtpUrl, EVENTS_PREFIX: prefix, EMAIL_VERIFICATION_URL: VERIFY_PAGE, PASSWORD_RESET_URL: RESET_PAGE, REDIS_URL });
  });

  afterAll(async () => {
    await users?.close();
    await inbox.close();
    await cleanupRedis(prefix, []);
    await redis.quit();
  });

  it('mails a link at registration that verifies the address once, without signing in', async () => {
    const { user, accessToken, token } = await registerMailed('new-reader@example.com');
    expect(await me(accessToken)).toEqual({ id: user.id, email: 'new-reader@example.com', emailVerified: false });

    const verified = await verify(token);
    expect(verified.errors).toBeUndefined();
    // Anonymous: the answer names the account but shows none of its private fields.
    expect(verified.data!.verifyEmail).toEqual({ id: user.id, email: null, emailVerified: null });
    expect(await me(accessToken)).toEqual({ id: user.id, email: 'new-reader@example.com', emailVerified: true });
    expect(await links(user.id)).toEqual([]);
    expect((await verify(token)).errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'EMAIL_TOKEN_INVALID' });
    expect((await users.gql(RESEND, {}, accessToken)).errors![0]!.extensions!.code).toBe('CONFLICT');
  });

  it('resends at most once a minute; a new link replaces the old; an expired or malformed link verifies nothing', async () => {
    const { user, accessToken, token: first } = await registerMailed('resend@example.com');
    const queued = await mailsQueued();
    expect((await users.gql(RESEND, {}, accessToken)).data).toEqual({ resendEmailVerification: true });
    expect(await mailsQueued()).toBe(queued);

    users.clock.advance(61);
    const resent = inbox.take('resend@example.com', WELCOME);
    expect((await users.gql(RESEND, {}, accessToken)).data).toEqual({ resendEmailVerification: true });
    const second = linkToken(await resent, VERIFY_PAGE);
    expect(second).not.toBe(first);
    expect((await verify(first)).errors![0]!.extensions).toMatchObject({ reason: 'EMAIL_TOKEN_INVALID' });
    expect((await verify('not-a-token')).errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'EMAIL_TOKEN_INVALID' });
    users.clock.advance(48 * 3600);
    expect((await verify(second)).errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'EMAIL_TOKEN_EXPIRED' });
    expect(await me(accessToken)).toMatchObject({ id: user.id, emailVerified: false });

    expect((await users.gql(RESEND)).errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
  });

  it('verifies the address when a mailed password reset link is used', async () => {
    const { accessToken } = await registerMailed('forgot-before-verifying@example.com');
    const mailed = inbox.take('forgot-before-verifying@example.com', RESET_SUBJECT);
    await users.gql(REQUEST_RESET, { email: 'forgot-before-verifying@example.com' });
    const reset = await users.gql(RESET, { input: { token: linkToken(await mailed, RESET_PAGE), newPassword: 'a brand new passphrase' } });
    expect(reset.errors).toBeUndefined();
    expect((await me(reset.data!.resetPassword.accessToken)).emailVerified).toBe(true);
    expect((await me(accessToken)).emailVerified).toBe(true);
  });

  it('changes the address only through a link mailed to the new one; the old one is told, and its links stop working', async () => {
    const { user, accessToken, token: oldVerification } = await registerMailed('moving@example.com');
    const resetMailed = inbox.take('moving@example.com', RESET_SUBJECT);
    await users.gql(REQUEST_RESET, { email: 'moving@example.com' });
    const oldReset = linkToken(await resetMailed, RESET_PAGE);

    const confirmMailed = inbox.take('moved@example.com', CONFIRM_NEW);
    expect((await requestChange(accessToken, 'Moved@Example.com')).data).toEqual({ requestEmailChange: true });
    const change = linkToken(await confirmMailed, VERIFY_PAGE);
    // Nothing changes until the new address proves itself.
    expect(await me(accessToken)).toEqual({ id: user.id, email: 'moving@example.com', emailVerified: false });
    expect((await login('moving@example.com')).errors).toBeUndefined();

    const noticed = inbox.take('moving@example.com', CHANGED);
    const changed = await verify(change, accessToken);
    expect(changed.errors).toBeUndefined();
    expect(changed.data!.verifyEmail).toEqual({ id: user.id, email: 'moved@example.com', emailVerified: true });
    expect((await noticed).text).toContain('is now moved@example.com');
    expect((await login('moved@example.com')).errors).toBeUndefined();
    expect((await login('moving@example.com')).errors![0]!.extensions).toMatchObject({ reason: 'INVALID_CREDENTIALS' });

    expect((await verify(oldVerification)).errors![0]!.extensions).toMatchObject({ reason: 'EMAIL_TOKEN_INVALID' });
    expect((await users.gql(RESET, { input: { token: oldReset, newPassword: 'an attacker passphrase' } })).errors![0]!.extensions).toMatchObject({ reason: 'RESET_TOKEN_INVALID' });
    expect((await login('moved@example.com')).errors).toBeUndefined();
    // The old address is free for someone else.
    await users.register('moving@example.com', PASSWORD);
  });

  it('refuses a change without the password, to a taken or the same address, or anonymously, writing and mailing nothing', async () => {
    const { user, accessToken } = await registerMailed('careful@example.com');
    await users.register('taken@example.com', PASSWORD);
    const queued = await mailsQueued();

    expect((await requestChange(accessToken, 'elsewhere@example.com', 'wrong password')).errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'INVALID_CREDENTIALS' });
    const [afterWrong] = await users.sql<{ failed_login_count: number }>('select "failed_login_count" from "users" where "id" = ?', [user.id]);
    expect(afterWrong!.failed_login_count).toBe(1);
    expect((await requestChange(accessToken, 'TAKEN@example.com')).errors![0]!.extensions!.code).toBe('CONFLICT');
    expect((await requestChange(accessToken, 'careful@example.com')).errors![0]!.extensions!.code).toBe('CONFLICT');
    expect((await requestChange(accessToken, 'not an address')).errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect((await requestChange('', 'elsewhere@example.com')).errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    expect(await mailsQueued()).toBe(queued);
    expect(await links(user.id)).toEqual([{ kind: 'VERIFY', email: 'careful@example.com' }]);
  });

  it('asks for the two-factor code when two-factor sign-in is active', async () => {
    const { accessToken } = await registerMailed('two-factor-mover@example.com');
    const { secret } = (await users.gql('mutation { enrollTotp { secret } }', {}, accessToken)).data!.enrollTotp;
    const code = () => authenticator.clone({ epoch: users.clock.now().getTime() }).generate(secret);
    expect((await users.gql('mutation Confirm($code: String!) { confirmTotp(code: $code) }', { code: code() }, accessToken)).errors).toBeUndefined();
    users.clock.advance(30);

    expect((await requestChange(accessToken, 'two-factor-moved@example.com')).errors![0]!.extensions).toMatchObject({ reason: 'TOTP_REQUIRED' });
    expect((await requestChange(accessToken, 'two-factor-moved@example.com', PASSWORD, '000000')).errors![0]!.extensions).toMatchObject({ reason: 'TOTP_INVALID' });
    const mailed = inbox.take('two-factor-moved@example.com', CONFIRM_NEW);
    expect((await requestChange(accessToken, 'two-factor-moved@example.com', PASSWORD, code())).data).toEqual({ requestEmailChange: true });
    expect(linkToken(await mailed, VERIFY_PAGE)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses a change link whose address was registered by someone else meanwhile, and a newer request replaces the pending one', async () => {
    const { user, accessToken } = await registerMailed('slow-mover@example.com');
    const firstMailed = inbox.take('contested@example.com', CONFIRM_NEW);
    await requestChange(accessToken, 'contested@example.com');
    const contested = linkToken(await firstMailed, VERIFY_PAGE);
    await users.register('contested@example.com', PASSWORD);
    expect((await verify(contested)).errors![0]!.extensions!.code).toBe('CONFLICT');
    expect(await me(accessToken)).toMatchObject({ email: 'slow-mover@example.com' });

    const secondMailed = inbox.take('second-choice@example.com', CONFIRM_NEW);
    await requestChange(accessToken, 'second-choice@example.com');
    const second = linkToken(await secondMailed, VERIFY_PAGE);
    expect((await links(user.id)).filter((link) => link.kind === 'CHANGE')).toEqual([{ kind: 'CHANGE', email: 'second-choice@example.com' }]);
    expect((await verify(contested)).errors![0]!.extensions).toMatchObject({ reason: 'EMAIL_TOKEN_INVALID' });
    expect((await verify(second, accessToken)).data!.verifyEmail).toMatchObject({ email: 'second-choice@example.com', emailVerified: true });
  });

  it('deleting the account removes its links', async () => {
    const { user, accessToken, token } = await registerMailed('short-stay@example.com');
    expect((await users.gql('mutation($input: DeleteAccountInput!) { deleteAccount(input: $input) }', { input: { password: PASSWORD } }, accessToken)).errors).toBeUndefined();
    expect(await links(user.id)).toEqual([]);
    expect((await verify(token)).errors![0]!.extensions).toMatchObject({ reason: 'EMAIL_TOKEN_INVALID' });
  });
});
