import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { StartedRouter } from '../support/fixtures';
import { byHash, PRODUCTS, send, startPartnerSetup, type PartnerSetup } from '../support/partners';

describe('rate-limit plugin', () => {
  let setup: PartnerSetup;
  let started: StartedRouter;
  let replica: StartedRouter;

  beforeAll(async () => {
    setup = await startPartnerSetup();
    started = await setup.router({ RATE_LIMIT_API_KEY_PER_MINUTE: '5', RATE_LIMIT_USER_PER_MINUTE: '3' });
    replica = await setup.router({ RATE_LIMIT_API_KEY_PER_MINUTE: '5', RATE_LIMIT_USER_PER_MINUTE: '3' });
  });

  afterAll(async () => {
    await setup?.close();
  });

  beforeEach(() => {
    setup.catalog.requests.length = 0;
    setup.inventory.requests.length = 0;
  });

  it('limits requests per API key and per signed-in user with 429 and Retry-After, across replicas', async () => {
    const partner = setup.exchange.add(['read']);
    const keyAnswers = [];
    // Five a minute per key, counted in Redis: the replica's requests count too.
    for (let index = 0; index < 6; index += 1) keyAnswers.push(await send(index % 2 === 0 ? started.url : replica.url, byHash(PRODUCTS), { 'x-api-key': partner.key }));
    expect(keyAnswers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 429]);
    const limited = keyAnswers[5]!;
    expect(limited.body.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);

    const token = await setup.issuer.sign(`user-${randomUUID()}`);
    const userAnswers = [];
    for (let index = 0; index < 4; index += 1) userAnswers.push(await send(started.url, { query: '{ products(first: 1) { id } }' }, { authorization: `Bearer ${token}` }));
    expect(userAnswers.map((answer) => answer.status)).toEqual([200, 200, 200, 429]);
    // Anonymous callers are not counted here.
    const anonymous = await Promise.all([1, 2, 3, 4].map(() => send(started.url, { query: '{ products(first: 1) { id } }' })));
    expect(anonymous.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
  });

  it('adds the hits it answered from memory to Redis when it closes', async () => {
    const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
    try {
      // No timed sync within the test: only the close sends the hits answered from memory.
      const closing = await setup.router({ RATE_LIMIT_USER_PER_MINUTE: '1000', RATE_LIMIT_SYNC_MS: '60000' });
      const userId = `user-${randomUUID()}`;
      const token = await setup.issuer.sign(userId);
      for (let index = 0; index < 3; index += 1) expect((await send(closing.url, { query: '{ products(first: 1) { id } }' }, { authorization: `Bearer ${token}` })).status).toBe(200);
      const key = `mercado:router:rate:user:${userId}`;
      // Far from the limit, only the first hit asked Redis.
      expect(Number(await redis.get(key))).toBe(1);
      await closing.router.close();
      expect(Number(await redis.get(key))).toBe(3);
      await redis.del(key);
    } finally {
      await redis.quit();
    }
  });

  it('keeps serving while Redis is away: limits let requests through, APQ misses', async () => {
    const isolated = await setup.router({ REDIS_URL: 'redis://127.0.0.1:1', RATE_LIMIT_USER_PER_MINUTE: '1' });
    const token = await setup.issuer.sign(`user-${randomUUID()}`);
    const answers = await Promise.all([1, 2, 3].map(() => send(isolated.url, { query: '{ products(first: 1) { id } }' }, { authorization: `Bearer ${token}` })));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    const query = '{ products(first: 1) { name } }';
    expect((await send(isolated.url, { query, ...byHash(query) })).body.data).toEqual({ products: [{ name: 'Product 1' }] });
    expect((await send(isolated.url, byHash(query))).body.errors![0]!.extensions!.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    // Manifest operations need no Redis.
    expect((await send(isolated.url, byHash(PRODUCTS))).body.data.products).toHaveLength(2);
  });
});
