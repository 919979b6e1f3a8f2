import {
  createSubgraphServer,
  openOrm,
  sendJson,
  type Logger,
  type MikroORM,
  type RoleDeps,
  type Route,
  type SubgraphServer,
  type TokenVerifier,
} from '../../kit/src';
import { apiKeyTokenRoute } from './api-keys/api-key.route';
import { ApiKeyService } from './api-keys/api-key.service';
import { AuthService } from './auth/auth.service';
import { PasswordHasher } from './auth/password';
import { PasswordCheck } from './auth/password-check';
import { SigningKeys } from './auth/signing-keys';
import { EmailService } from './email/email.service';
import { systemClock, type Clock } from './clock';
import type { UsersConfig } from './config';
import { usersEntities, usersMigrations } from './mikro-orm.config';
import { buildUsersSchema } from './schema';
import type { UsersServices } from './services';
import { SecretBox } from './totp/secret-box';
import { TotpService } from './totp/totp.service';
import { repeatDueErasures } from './users/user.erasure';
import { createTracing } from '../../kit/src/tracing';
import { createMailer } from './mail/mail.queue';
import { orderMailHandlers } from './notifications/order-mail.events';
import { userEventHandlers } from './users/user.events';
import { UserService } from './users/user.service';

export interface UsersServerDeps extends RoleDeps {
  config: UsersConfig;
  log: Logger;
  /** Defaults to verifying this subgraph's own tokens with its local key set. */
  verifyToken?: TokenVerifier;
  /** Time for lockouts, refresh-token and API-key expiry and TOTP; tests move it instead of sleeping. */
  clock?: Clock;
}

export interface UsersServer extends SubgraphServer {
  orm: MikroORM;
  signingKeys: SigningKeys;
  /** Sends the second UserDeleted of accounts whose tokens have all expired by `now` (the workers do every minute); returns how many. */
  repeatErasures(now?: Date): Promise<number>;
}

export const JWKS_PATH = '/.well-known/jwks.json';

/** How often the workers look for deleted accounts whose erasure is due again. */
const ERASURE_SWEEP_MS = 60_000;
/** Beyond a token's lifetime: the router keeps a verified token up to a minute, clocks drift. */
const TOKEN_CACHE_AND_SKEW_SECONDS = 90;

/** Public signing keys for every verifier (router, subgraphs); never the private key. */
export const jwksRoute = (keys: SigningKeys): Route => ({
  method: 'GET',
  path: JWKS_PATH,
  handle: ({ res }) => sendJson(res, 200, keys.jwks, { 'cache-control': 'public, max-age=300' }),
});

export async function createUsersServer(deps: UsersServerDeps): Promise<UsersServer> {
  const { config, log } = deps;
  const clock = deps.clock ?? systemClock;
  const production = config.env === 'production';
  const api = deps.api ?? true;

  const signingKeys = await SigningKeys.create({ privateKey: config.jwtPrivateKey, keyId: config.jwtKeyId, publicKeys: config.jwtPublicKeys, production, log });
  let secrets: SecretBox;
  if (config.totpEncryptionKey) {
    secrets = new SecretBox(config.totpEncryptionKey);
  } else {
    if (production) throw new Error('TOTP_ENCRYPTION_KEY is required in production');
    log.warn('TOTP_ENCRYPTION_KEY is not set: TOTP secrets are encrypted with a development key');
    secrets = SecretBox.development();
  }
  const passwords = await PasswordHasher.create();
  const workers = deps.workers ?? true;
  // Made before the server: mail jobs record spans too.
  const tracing = createTracing({ ...config.traces, serviceName: config.name });
  const mailer = createMailer({ redis: config.redisUrl, prefix: config.eventsPrefix, smtpUrl: config.smtpUrl, from: config.mailFrom, log, tracing });
  const totp = new TotpService({ clock, secrets, issuer: config.totpIssuer });
  const lockout = { maxFailures: config.loginMaxFailures, lockoutSeconds: config.loginLockoutSeconds };
  const check = new PasswordCheck({ passwords, totp, lockout });
  const email = new EmailService({ clock, mailer, check, verification: { url: config.emailVerificationUrl, ttlSeconds: config.emailVerificationTtlSeconds } });
  const services: UsersServices = {
    users: new UserService({ clock }),
    totp,
    email,
    auth: new AuthService({
      clock,
      passwords,
      keys: signingKeys,
      check,
      lockout,
      accessTokenTtlSeconds: config.accessTokenTtlSeconds,
      refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
      mailer,
      emails: email,
      passwordReset: { url: config.passwordResetUrl, ttlSeconds: config.passwordResetTtlSeconds },
    }),
    apiKeys: new ApiKeyService({ clock, keys: signingKeys, tokenTtlSeconds: config.apiKeyTokenTtlSeconds }),
  };
  const schema = await buildUsersSchema(services);

  const orm = await openOrm({ databaseUrl: config.databaseUrl, entities: usersEntities, migrations: usersMigrations });
  const repeatErasures = async (now = clock()): Promise<number> => {
    const tokensLiveSeconds = Math.max(config.accessTokenTtlSeconds, config.apiKeyTokenTtlSeconds) + TOKEN_CACHE_AND_SKEW_SECONDS;
    return repeatDueErasures(orm.em.fork(), new Date(now.getTime() - tokensLiveSeconds * 1000), now);
  };
  let sweeping: Promise<unknown> | undefined;
  const sweep =
    config.eventsEnabled && workers
      ? setInterval(() => {
          sweeping ??= repeatErasures()
            .catch((error: unknown) => log.warn({ err: error }, 'repeating due erasures failed; the next sweep tries again'))
            .finally(() => (sweeping = undefined));
        }, ERASURE_SWEEP_MS).unref()
      : undefined;
  try {
    const server = await createSubgraphServer({
      name: 'users',
      tracing,
      schema,
      orm,
      log,
      verifyToken: deps.verifyToken ?? signingKeys.verifier(),
      api,
      routes: api ? [jwksRoute(signingKeys), apiKeyTokenRoute({ orm, apiKeys: services.apiKeys })] : [],
      events: config.eventsEnabled
        ? {
            redis: config.redisUrl,
            prefix: config.eventsPrefix,
            concurrency: config.eventsConcurrency,
            batchSize: config.eventsBatchSize,
            pollIntervalMs: config.eventsPollMs,
            handlers: workers ? { ...userEventHandlers, ...orderMailHandlers(mailer) } : undefined,
          }
        : undefined,
      onClose: async () => {
        clearInterval(sweep);
        await sweeping;
        await mailer.close();
      },
    });
    if (workers) mailer.startWorker();
    return Object.assign(server, { orm, signingKeys, repeatErasures });
  } catch (error) {
    clearInterval(sweep);
    await mailer.close();
    await orm.close();
    throw error;
  }
}
