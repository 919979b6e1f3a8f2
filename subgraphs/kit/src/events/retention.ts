import type { MikroORM } from '@mikro-orm/postgresql';
import type { Queue } from 'bullmq';
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
/**
 * Inbox rows, and event jobs that failed for good (kept for inspection and replay; their payloads
 * can hold personal data, and Redis should not grow with every failure), are kept this long.
 */
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

/** Removes the queue's jobs that failed more than `keepMs` ago, `batchSize` at a time; returns how many went. */
export async function pruneFailedJobs(queue: Queue, keepMs: number, batchSize = 1000): Promise<number> {
  let total = 0;
  for (;;) {
    const removed = await queue.clean(keepMs, batchSize, 'failed');
    total += removed.length;
    if (removed.length < batchSize) return total;
  }
}

/** Prunes `table` every `intervalMs` until the returned stop() is called. Failures are logged and retried next period. */
export function schedulePruning(orm: MikroORM, table: keyof typeof PRUNABLE, options: RetentionOptions, log: Logger): { stop(): Promise<void> } {
  return schedulePeriodicPrune(() => pruneEventTable(orm, table, options.keepMs, options.batchSize), table, options.intervalMs, log);
}

/** Runs `prune` (which answers how much it removed) every `intervalMs` (default an hour) until stop(); failures are logged and retried next period. */
export function schedulePeriodicPrune(prune: () => Promise<number>, what: string, intervalMs: number | undefined, log: Logger): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = prune()
      .then((count) => {
        if (count > 0) log.info({ what, count }, 'pruned old event records');
      })
      .catch((error: unknown) => log.warn({ err: error, what }, 'event record prune failed; retried next period'))
      .finally(() => {
        running = undefined;
      });
  }, intervalMs ?? 3600_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
