import type { Logger } from 'pino';
import { ConfigError } from './config';

/**
 * Starts a service and stops it cleanly on SIGTERM/SIGINT: the returned close drains HTTP,
 * disposes WebSockets and closes queues and the ORM before the process exits.
 */
export async function runService(log: Logger, start: () => Promise<{ close(): Promise<void> }>): Promise<void> {
  let service: { close(): Promise<void> };
  try {
    service = await start();
  } catch (error) {
    log.fatal({ err: error }, 'start-up failed');
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown took longer than 15 s, exiting');
      process.exit(1);
    }, 15_000);
    force.unref();
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** Reads a process's config once at start; an invalid one prints every problem and exits. */
export function loadConfigOrExit<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}
