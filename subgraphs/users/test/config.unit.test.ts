import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { ConfigError } from '../../kit/src';
import { readUsersConfig } from '../src/config';

const ecKey = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

describe('readUsersConfig', () => {
  it('has development defaults: port 4001, mercado_users, 15 min access tokens, 30 day refresh tokens, 5 failures / 15 min lockout, 5 min API-key tokens, mail to the log, 30 min reset links', () => {
    const config = readUsersConfig({});
    expect(config).toMatchObject({
      name: 'users',
      port: 4001,
      env: 'development',
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/mercado_users',
      accessTokenTtlSeconds: 900,
      refreshTokenTtlSeconds: 30 * 24 * 3600,
      loginMaxFailures: 5,
      loginLockoutSeconds: 900,
      jwtPrivateKey: undefined,
      totpEncryptionKey: undefined,
      totpIssuer: 'Mercado',
      apiKeyTokenTtlSeconds: 300,
      smtpUrl: undefined,
      mailFrom: 'Mercado <no-reply@mercado.local>',
      passwordResetUrl: 'http://localhost:4000/reset-password',
      passwordResetTtlSeconds: 1800,
    });
  });

  it('reads every setting from the environment, including a one-line PEM', () => {
    const pem = ecKey();
    const config = readUsersConfig({
      JWT_PRIVATE_KEY: pem.replace(/\n/g, '\\n'),
      JWT_KEY_ID: 'key-2030',
      ACCESS_TOKEN_TTL_SECONDS: '300',
      REFRESH_TOKEN_TTL_SECONDS: '86400',
      LOGIN_MAX_FAILURES: '3',
      LOGIN_LOCKOUT_SECONDS: '60',
      TOTP_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      API_KEY_TOKEN_TTL_SECONDS: '60',
      SMTP_URL: 'smtps://mercado:secret@smtp.example.com:465',
      MAIL_FROM: 'Mercado <hello@example.com>',
      PASSWORD_RESET_URL: 'https://app.example.com/reset',
      PASSWORD_RESET_TTL_SECONDS: '600',
    });
    expect(config.jwtPrivateKey?.asymmetricKeyType).toBe('ec');
    expect(config).toMatchObject({ jwtKeyId: 'key-2030', accessTokenTtlSeconds: 300, refreshTokenTtlSeconds: 86400, loginMaxFailures: 3, loginLockoutSeconds: 60, apiKeyTokenTtlSeconds: 60 });
    expect(config.totpEncryptionKey).toHaveLength(32);
    expect(config).toMatchObject({
      smtpUrl: 'smtps://mercado:secret@smtp.example.com:465',
      mailFrom: 'Mercado <hello@example.com>',
      passwordResetUrl: 'https://app.example.com/reset',
      passwordResetTtlSeconds: 600,
    });
  });

  it('requires the signing and encryption keys and an SMTP relay in production', () => {
    expect(() => readUsersConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
    try {
      readUsersConfig({ NODE_ENV: 'production' });
    } catch (error) {
      expect((error as ConfigError).problems).toEqual(['JWT_PRIVATE_KEY is required', 'TOTP_ENCRYPTION_KEY is required', 'SMTP_URL is required']);
    }
    const production = { NODE_ENV: 'production', JWT_PRIVATE_KEY: ecKey(), TOTP_ENCRYPTION_KEY: randomBytes(32).toString('base64'), SMTP_URL: 'smtp://relay.internal:587' };
    expect(readUsersConfig(production).env).toBe('production');
  });

  it('reports every invalid value together', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const attempt = (env: Record<string, string>) => {
      try {
        readUsersConfig(env);
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(attempt({ JWT_PRIVATE_KEY: 'not a key', TOTP_ENCRYPTION_KEY: 'c2hvcnQ=', LOGIN_MAX_FAILURES: '0', PORT: 'x' })).toEqual([
      'PORT must be an integer, got "x"',
      'LOGIN_MAX_FAILURES must be between 1 and 100, got 0',
      'JWT_PRIVATE_KEY must be a PKCS8 PEM private key',
      expect.stringContaining('TOTP_ENCRYPTION_KEY must be 32 bytes'),
    ]);
    expect(attempt({ JWT_PRIVATE_KEY: rsa })).toEqual(['JWT_PRIVATE_KEY must be an EC P-256 key (ES256)']);
    expect(attempt({ API_KEY_TOKEN_TTL_SECONDS: '29' })).toEqual(['API_KEY_TOKEN_TTL_SECONDS must be between 30 and 3600, got 29']);
    expect(attempt({ API_KEY_TOKEN_TTL_SECONDS: '3601' })).toEqual(['API_KEY_TOKEN_TTL_SECONDS must be between 30 and 3600, got 3601']);
    expect(attempt({ SMTP_URL: 'https://mail.example.com', PASSWORD_RESET_TTL_SECONDS: '60', PASSWORD_RESET_URL: 'not a url' })).toEqual([
      'PASSWORD_RESET_URL must be a URL, got "not a url"',
      'PASSWORD_RESET_TTL_SECONDS must be between 300 and 86400, got 60',
      'SMTP_URL must be an smtp:// or smtps:// URL',
    ]);
  });
});
