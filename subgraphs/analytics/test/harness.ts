import type { Queue } from 'bullmq';
import { createLogger, createTokenVerifier } from '../../kit/src';
import type { EventEnvelope, EventJobData } from '../../kit/src/events';
import { cleanupRedis, eventQueue, jobSettled, REDIS_URL, testPrefix } from '../../kit/src/events/testing';
import { graphqlRequest, testDatabaseUrl, TestIssuer, type GraphQLResponse } from '../../kit/src/testing';
import { readAnalyticsConfig } from '../src/config';
import { createAnalyticsServer, type AnalyticsServer } from '../src/server';
import { ANALYTICS_TEST_QUEUES } from './support';

/** An analytics server on port 0 with its own database and queue prefix, fed through its real queue. */
export interface Harness {
  server: AnalyticsServer;
  url: string;
  baseUrl: string;
  issuer: TestIssuer;
  prefix: string;
  queue: Queue<EventJobData>;
  /** Puts the envelope on events-analytics as the relay does (job id = event id) and waits for the consumer's outcome. */
  deliver(event: EventEnvelope, jobId?: string): Promise<unknown>;
  /** Puts the envelopes on the queue in one go (so the consumer takes them in batches) and resolves with each one's outcome. */
  deliverTogether(events: EventEnvelope[]): Promise<{ outcome: 'completed' | 'failed'; result: unknown; attemptsMade: number }[]>;
  /** Delivers one after the other. */
  deliverAll(events: EventEnvelope[]): Promise<void>;
  query<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResponse<T>>;
  sql<T>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function startHarness(name: string, options: { clock?: () => Date } = {}): Promise<Harness> {
  const database = testDatabaseUrl(name);
  const prefix = testPrefix(name);
  const issuer = await TestIssuer.create();
  const config = readAnalyticsConfig({ DATABASE_URL: database.url, NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_POOL_SIZE: '5', REPORT_MAX_DAYS: '400' });
  const server = await createAnalyticsServer({
    config,
    log: createLogger(name, 'silent'),
    verifyToken: createTokenVerifier(issuer.keys),
    redis: REDIS_URL,
    prefix,
    clock: options.clock,
  });
  const url = await server.listen(0);
  const queue = eventQueue('analytics', prefix);
  await server.consumer!.ready();
  // Tests wait on many jobs at once (one listener each).
  server.consumer!.worker.setMaxListeners(100);

  async function deliver(event: EventEnvelope, jobId = event.id): Promise<unknown> {
    const done = jobSettled(server.consumer!.worker, 'completed', jobId);
    await queue.add(event.type, event, { jobId, attempts: 3, backoff: { type: 'exponential', delay: 50 }, removeOnComplete: true, removeOnFail: false });
    return (await done).result;
  }

  return {
    server,
    url,
    baseUrl: url.replace(/\/graphql$/, ''),
    issuer,
    prefix,
    queue,
    deliver,
    async deliverTogether(events) {
      const worker = server.consumer!.worker;
      const settled = events.map((event) =>
        Promise.race([
          jobSettled(worker, 'completed', event.id).then(({ job, result }) => ({ outcome: 'completed' as const, result, attemptsMade: job.attemptsMade })),
          jobSettled(worker, 'failed', event.id).then(({ job }) => ({ outcome: 'failed' as const, result: job.failedReason, attemptsMade: job.attemptsMade })),
        ]),
      );
      await queue.addBulk(events.map((event) => ({ name: event.type, data: event, opts: { jobId: event.id, attempts: 3, backoff: { type: 'exponential', delay: 50 } } })));
      return Promise.all(settled);
    },
    async deliverAll(events) {
      for (const event of events) await deliver(event);
    },
    query: (query, variables, token) => graphqlRequest(url, query, { variables, token }),
    sql: (text, params = []) => server.orm.em.fork().getConnection().execute(text, params),
    async close() {
      await server.close();
      await queue.close();
      await cleanupRedis(prefix, ANALYTICS_TEST_QUEUES);
      await database.drop();
    },
  };
}
