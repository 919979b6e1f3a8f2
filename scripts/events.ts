/**
 * Failed domain events, per consuming subgraph:
 *   npm run events -- failed <subgraph> [--limit N]   lists jobs that ran out of attempts
 *   npm run events -- replay <subgraph> [--limit N]   moves them back to the queue with full attempts
 * REDIS_URL picks the Redis (default redis://127.0.0.1:6379).
 */
import { listFailed, replayFailed, SUBGRAPHS } from '../subgraphs/kit/src/events';

async function main(args: string[]): Promise<number> {
  const [command, subgraph] = args;
  const limitAt = args.indexOf('--limit');
  const limit = limitAt >= 0 ? Number(args[limitAt + 1]) : 100;
  const redis = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (!['failed', 'replay'].includes(command ?? '') || !SUBGRAPHS.includes(subgraph as never) || !Number.isInteger(limit) || limit < 1) {
    console.error(`usage: npm run events -- failed|replay <${SUBGRAPHS.join('|')}> [--limit N]`);
    return 2;
  }
  if (command === 'failed') {
    const failed = await listFailed(redis, subgraph!, { limit });
    for (const job of failed) console.log(`${job.failedAt} ${job.envelope.type} ${job.jobId} after ${job.attemptsMade} attempts: ${job.failedReason}`);
    console.log(`${failed.length} failed event(s) in events-${subgraph}`);
    return 0;
  }
  const result = await replayFailed(redis, subgraph!, { limit });
  console.log(`replayed ${result.replayed.length} event(s) in events-${subgraph}`);
  for (const error of result.errors) console.error(`could not replay ${error.jobId}: ${error.error}`);
  return result.errors.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
