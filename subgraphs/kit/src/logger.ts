import pino, { type Logger } from 'pino';

export type { Logger };

/** JSON logs; `redact` keeps secrets that reach a log line out of it. */
export function createLogger(name: string, level: string): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ['req.headers.authorization', 'password', '*.password', 'token', '*.token', 'refreshToken', '*.refreshToken', 'secret', '*.secret'],
      censor: '[redacted]',
    },
  });
}
