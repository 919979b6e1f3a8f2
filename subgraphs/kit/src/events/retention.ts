import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';

/**
 * Outbox and inbox rows are only needed for a while: an outbox row until it is published (plus a
 * margin for inspection), an inbox row while its event could still be redelivered (a relay
 * republishing after a crash, a replayed job; a failed job never wrote an inbox row). Without
 * pruning both tables grow with every event forever.
 */
export interface RetentionOptions {
  /** Rows older than this are deleted. */
  keepMs: number;
  /** Period between two prunes. Default one hour. */
  intervalMs?: number;
  /** Rows deleted per statement, so a prune never holds long locks. Default 5000. */
  batchSize?: number;
}

export const OUTBOX_RETENTION_MS = 7 * 24 * 3600 * 1000;
export const INBOX_RETENTION_MS = 30 * 24 * 3600 * 1000;

const PRUNABLE = {
  // Only published rows: an unpublished row is work still to do, however old.
  outbox: `"published_at" is not null and "published_at" < ?`,
  inbox: `"processed_at" < ?`,
} as const;

/** Deletes the table's rows older than `keepMs` in batches; returns how many went. */
export async function pruneEventTable(orm: MikroORM, table: keyof typeof PRUNABLE, keepMs: number, batchSize = 5000): Promise<number> {
  const connection = orm.em.getConnection();
  const cutoff = new Date(Date.now() - keepMs);
  let total = 0;
  for (;;) {
    const deleted: unknown[] = await connection.execute(
      `delete from "${table}" where ctid in (select ctid from "${table}" where ${PRUNABLE[table]} limit ?) returning 1`,
      [cutoff, batchSize],
    );
    total += deleted.length;
    if (deleted.length < batchSize) return total;
  }
}

/** Prunes `table` every `intervalMs` until the returned stop() is called. Failures are logged and retried next period. */
export function schedulePruning(orm: MikroORM, table: keyof typeof PRUNABLE, options: RetentionOptions, log: Logger): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = pruneEventTable(orm, table, options.keepMs, options.batchSize)
      .then((count) => {
        if (count > 0) log.info({ table, count }, 'pruned old event rows');
      })
      .catch((error: unknown) => log.warn({ err: error, table }, 'event table prune failed; retried next period'))
      .finally(() => {
        running = undefined;
      });
  }, options.intervalMs ?? 3600_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
