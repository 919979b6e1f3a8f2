import { QueueEvents } from 'bullmq';
import { authenticator } from 'otplib';
import { bullConnection, createRedisClient } from '../../kit/src/events';
import { cleanupRedis, REDIS_URL, testPrefix } from '../../kit/src/events/testing';
import { MAIL_QUEUE } from '../src/mail/mail.queue';
import { AUTH_FIELDS, LOGIN, REFRESH, startUsers, type UsersHarness } from './harness';
import { linkToken, SmtpInbox } from './smtp-inbox';

const REQUEST = 'mutation Request($email: String!) { requestPasswordReset(email: $email) }';
const RESET = `mutation Reset($input: ResetPasswordInput!) { resetPassword(input: $input) { ${AUTH_FIELDS} } }`;
const ENROLL = 'mutation { enrollTotp { secret } }';
const CONFIRM = 'mutation Confirm($code: String!) { confirmTotp(code: $code) }';
const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a brand new passphrase';
const RESET_PAGE = 'https://app.example.com/reset-password';

const RESET_SUBJECT = 'Reset your Mercado password';
const WELCOME_SUBJECT = 'Confirm your Mercado email address';

describe('users: password reset by mail', () => {
  const prefix = testPrefix('users-mail');
  const inbox = new SmtpInbox();
  const redis = createRedisClient(REDIS_URL);
  let users: UsersHarness;

  const request = (email: string) => users.gql(REQUEST, { email });
  const reset = (token: string, newPassword = NEW_PASSWORD, totp?: string) => users.gql(RESET, { input: { token, newPassword, totp } });
  const login = (email: string, password: string) => users.gql(LOGIN, { input: { email, password } });
  /** How many mail jobs were ever queued (BullMQ's job id counter). */
  const mailsQueued = async () => Number((await redis.get(`${prefix}:${MAIL_QUEUE}:id`)) ?? 0);
  /** Asks for a reset of `email` and returns the token of the link that arrives. */
  const resetLink = async (email: string): Promise<string> => {
    const arrived = inbox.take(email, RESET_SUBJECT);
    expect((await request(email)).data).toEqual({ requestPasswordReset: true });
    return linkToken(await arrived, RESET_PAGE);
  };
  /** Registers `email` and waits for its verification mail, so the relay's next answer is the reset mail's. */
  const registerDelivered = async (email: string) => {
    const welcomed = inbox.take(email, WELCOME_SUBJECT);
    const registered = await users.register(email, PASSWORD);
    await welcomed;
    return registered;
  };

  beforeAll(async () => {
    const smtpUrl = await inbox.start();
    users = await startUsers({ SMTP_URL: smtpUrl, EVENTS_PREFIX: prefix, PASSWORD_RESET_URL: RESET_PAGE, REDIS_URL });
  });

  afterAll(async () => {
    await users?.close();
    await inbox.close();
    await cleanupRedis(prefix, []);
    await redis.quit();
  });

  it('mails a link that sets a new password once, ends every session and signs this client in', async () => {
    const { user, refreshToken } = await users.register('forgetful@example.com', PASSWORD);
    const elsewhere = (await login('forgetful@example.com', PASSWORD)).data!.login;

    const token = await resetLink('forgetful@example.com');
    const done = await reset(token);
    expect(done.errors).toBeUndefined();
    expect(done.data!.resetPassword.user).toMatchObject({ id: user.id, email: 'forgetful@example.com' });

    expect((await login('forgetful@example.com', PASSWORD)).errors![0]!.extensions).toMatchObject({ reason: 'INVALID_CREDENTIALS' });
    expect((await login('forgetful@example.com', NEW_PASSWORD)).errors).toBeUndefined();
    for (const token of [refreshToken, elsewhere.refreshToken]) {
      expect((await users.gql(REFRESH, { token })).errors![0]!.extensions).toMatchObject({ reason: 'REFRESH_TOKEN_REVOKED' });
    }
    expect((await reset(token, 'yet another passphrase')).errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'RESET_TOKEN_INVALID' });
    expect((await login('forgetful@example.com', NEW_PASSWORD)).errors).toBeUndefined();
  });

  it('answers the same for an unknown email and queues nothing; within a minute no second mail, later a new link replaces the old', async () => {
    const before = await mailsQueued();
    expect((await request('nobody-here@example.com')).data).toEqual({ requestPasswordReset: true });
    expect(await mailsQueued()).toBe(before);

    await users.register('twice@example.com', PASSWORD);
    const first = await resetLink('twice@example.com');
    const queued = await mailsQueued();
    expect((await request('TWICE@example.com ')).data).toEqual({ requestPasswordReset: true });
    expect(await mailsQueued()).toBe(queued);

    users.clock.advance(61);
    const second = await resetLink('twice@example.com');
    expect(second).not.toBe(first);
    expect((await reset(first)).errors![0]!.extensions).toMatchObject({ reason: 'RESET_TOKEN_INVALID' });
    expect((await reset(second)).errors).toBeUndefined();
  });

  it('refuses an expired link, a malformed one and a short password, writing nothing', async () => {
    await users.register('slow@example.com', PASSWORD);
    const token = await resetLink('slow@example.com');
    expect((await reset(token, 'short')).errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect((await reset('not-a-token')).errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'RESET_TOKEN_INVALID' });
    users.clock.advance(30 * 60);
    expect((await reset(token)).errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'RESET_TOKEN_EXPIRED' });
    expect((await login('slow@example.com', PASSWORD)).errors).toBeUndefined();
  });

  it('asks for the two-factor code when two-factor sign-in is active: a mailbox alone does not take the account', async () => {
    const { user, accessToken } = await users.register('guarded@example.com', PASSWORD);
    const { secret } = (await users.gql(ENROLL, {}, accessToken)).data!.enrollTotp;
    expect((await users.gql(CONFIRM, { code: authenticator.clone({ epoch: users.clock.now().getTime() }).generate(secret) }, accessToken)).errors).toBeUndefined();
    users.clock.advance(30);

    const token = await resetLink('guarded@example.com');
    expect((await reset(token)).errors![0]!.extensions).toMatchObject({ reason: 'TOTP_REQUIRED' });
    expect((await reset(token, NEW_PASSWORD, '000000')).errors![0]!.extensions!.reason).toMatch(/TOTP_INVALID/);
    const done = await reset(token, NEW_PASSWORD, authenticator.clone({ epoch: users.clock.now().getTime() }).generate(secret));
    expect(done.errors).toBeUndefined();
    expect(done.data!.resetPassword.user.id).toBe(user.id);
  });

  it('retries while the SMTP relay refuses for now, and gives up at once on a permanent refusal', async () => {
    await registerDelivered('patient@example.com');
    inbox.refusals.push(451);
    expect(await resetLink('patient@example.com')).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const events = new QueueEvents(MAIL_QUEUE, { connection: bullConnection(REDIS_URL), prefix });
    try {
      await events.waitUntilReady();
      const failed = new Promise<{ jobId: string; failedReason: string }>((resolve) => events.once('failed', resolve));
      await registerDelivered('bounced@example.com');
      inbox.refusals.push(550);
      expect((await request('bounced@example.com')).data).toEqual({ requestPasswordReset: true });
      expect((await failed).failedReason).toContain('refused the mail');
      expect(inbox.mails.filter((mail) => mail.to === 'bounced@example.com')).toEqual([]);
    } finally {
      await events.close();
    }
  });
});
