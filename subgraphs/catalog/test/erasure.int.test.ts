import { randomUUID } from 'node:crypto';
import type { Job, Queue } from 'bullmq';
import { DEMO_CATEGORIES, DEMO_PRODUCTS } from '../../../scripts/demo-data';
import type { EventEnvelope, EventJobData } from '../../kit/src/events';
import { cleanupRedis, eventQueue, jobEnded, REDIS_URL, testEnvelope, testPrefix } from '../../kit/src/events/testing';
import { seedCatalog } from '../src/seeds/catalog.seed';
import { startCatalog, type CatalogHarness } from './harness';

const ADD = 'mutation($productId: ID!, $rating: Int!, $text: String!) { addReview(productId: $productId, rating: $rating, text: $text) { id } }';
const PRODUCT = 'query($id: ID!) { product(id: $id) { averageRating reviewCount reviews(first: 10) { totalCount edges { node { authorId rating } } } } }';

const userDeleted = (userId: unknown, data: Record<string, unknown> = { userId, deletedAt: '2030-01-01T12:00:00.000Z' }): EventEnvelope =>
  testEnvelope('UserDeleted', 'users', String(userId), data, '2030-01-01T12:00:00.000Z');

describe('account deletion (UserDeleted from users)', () => {
  const prefix = testPrefix('catalog');
  const [rsi, macd, stoch] = DEMO_PRODUCTS;
  const erased = randomUUID();
  const kept = randomUUID();
  let catalog: CatalogHarness;
  let queue: Queue<EventJobData>;

  beforeAll(async () => {
    catalog = await startCatalog({ EVENTS_ENABLED: 'true', EVENTS_PREFIX: prefix, REDIS_URL });
    queue = eventQueue('catalog', prefix);
    await seedCatalog(catalog.server.orm.em.fork(), DEMO_CATEGORIES, DEMO_PRODUCTS);
    const reviews: [string, string, number][] = [
      [erased, rsi!.id, 4],
      [erased, macd!.id, 1],
      [kept, rsi!.id, 5],
      [kept, macd!.id, 3],
      [kept, stoch!.id, 2],
    ];
    for (const [userId, productId, rating] of reviews) {
      const added = await catalog.request(ADD, { productId, rating, text: `Review by ${userId}` }, await catalog.issuer.sign(userId, 'CUSTOMER'));
      expect(added.errors).toBeUndefined();
    }
  });

  afterAll(async () => {
    await queue?.close();
    await catalog?.close();
    await cleanupRedis(prefix, ['catalog']);
  });

  /** Puts the envelope on events-catalog (as the relay does, with retries) and resolves with how its job ended. */
  async function deliver(envelope: EventEnvelope, jobId = envelope.id): Promise<{ outcome: 'completed' | 'failed'; job: Job; result: unknown }> {
    const settled = jobEnded(catalog.server.eventing!.consumer!.worker, jobId);
    await queue.add(envelope.type, envelope, { jobId, attempts: 3, backoff: { type: 'fixed', delay: 10 }, removeOnFail: false });
    return settled;
  }

  const reviewsOf = async (userId: string) =>
    catalog.server.orm.em.fork().execute<{ product_id: string; rating: number; text: string }[]>(
      'select "product_id", "rating", "text" from "review" where "author_id" = ? order by "product_id"',
      [userId],
    );
  /** Products whose stored rating sum or count disagrees with their reviews. */
  const ratingDrift = async () =>
    catalog.server.orm.em.fork().execute(
      `select p."id" from "product" p left join (select "product_id", sum("rating")::int as "sum", count(*)::int as "count" from "review" group by "product_id") r on r."product_id" = p."id"
        where p."rating_sum" <> coalesce(r."sum", 0) or p."rating_count" <> coalesce(r."count", 0)`,
    );
  const shown = async (productId: string) => (await catalog.request(PRODUCT, { id: productId })).data!.product;

  it("deletes the user's reviews and their share of the ratings, leaving other users' reviews as they were", async () => {
    const others = await reviewsOf(kept);
    expect(await reviewsOf(erased)).toHaveLength(2);

    const { outcome, result } = await deliver(userDeleted(erased));

    expect([outcome, result]).toEqual(['completed', 'processed']);
    expect(await reviewsOf(erased)).toEqual([]);
    expect(await reviewsOf(kept)).toEqual(others);
    expect(await shown(rsi!.id)).toEqual({ averageRating: 5, reviewCount: 1, reviews: { totalCount: 1, edges: [{ node: { authorId: kept, rating: 5 } }] } });
    expect(await shown(macd!.id)).toMatchObject({ averageRating: 3, reviewCount: 1 });
    expect(await shown(stoch!.id)).toMatchObject({ averageRating: 2, reviewCount: 1 });
    expect(await ratingDrift()).toEqual([]);
  });

  it('applies a redelivered event once, and another UserDeleted for the same or an unknown user changes nothing', async () => {
    const before = { erased: await reviewsOf(erased), kept: await reviewsOf(kept), rsi: await shown(rsi!.id) };
    const event = userDeleted(erased);
    const first = await deliver(event, `${event.id}-1`);
    const again = await deliver(event, `${event.id}-2`);
    const unknown = await deliver(userDeleted(randomUUID()));

    expect([first.result, again.result, unknown.result]).toEqual(['processed', 'duplicate', 'processed']);
    expect({ erased: await reviewsOf(erased), kept: await reviewsOf(kept), rsi: await shown(rsi!.id) }).toEqual(before);
    expect(await ratingDrift()).toEqual([]);
  });

  it.each([
    ['a userId that is not a UUID', userDeleted('not-a-uuid')],
    ['no deletedAt', userDeleted(kept, { userId: kept })],
  ])('fails an event with %s at once, without retries, and erases nothing', async (_, event) => {
    const inbox = await catalog.count('inbox');
    const { outcome, job } = await deliver(event);

    expect(outcome).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(await queue.getJobState(event.id)).toBe('failed');
    expect(await catalog.count('inbox')).toBe(inbox);
    expect(await reviewsOf(kept)).toHaveLength(3);
  });
});
