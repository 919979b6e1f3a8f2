import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { EventEnvelope } from '../../kit/src/events';
import { eventQueue, testEnvelope } from '../../kit/src/events/testing';
import { portfolioIdOf } from '../src/shared/ids';
import { CUSTOMER_ID, errorCode, MY_PORTFOLIO, OTHER_ID, startPortfolio, WAIT_MS, type PortfolioHarness } from './harness';

// Waits are bounded by WAIT_MS, beyond jest's default.
jest.setTimeout(30_000);

const SET_TARGETS = `mutation($targets: [TargetAllocationInput!]!) { setTargetAllocations(targets: $targets) { targets { asset weight } } }`;

const T0 = Date.parse('2024-07-01T00:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);

/** Every table that holds a user's rows, keyed by their portfolio. */
const PER_PORTFOLIO = ['holding', 'fill', 'portfolio_snapshot', 'target_allocation'] as const;

const userDeleted = (userId: string, data: Record<string, unknown> = { userId, deletedAt: new Date().toISOString() }): EventEnvelope => testEnvelope('UserDeleted', 'users', userId, data);

describe('erasure on UserDeleted', () => {
  let h: PortfolioHarness;
  const clients: Client[] = [];

  /** What portfolio holds of a user, table by table, ordered so two reads compare equal. */
  const rowsOf = async (userId: string): Promise<Record<string, unknown[]>> => {
    const portfolioId = portfolioIdOf(userId);
    const rows: Record<string, unknown[]> = {
      portfolio: await h.sql('select * from "portfolio" where "id" = ?', [portfolioId]),
      erased_user: await h.sql('select "user_id" from "erased_user" where "user_id" = ?', [userId]),
    };
    for (const table of PER_PORTFOLIO) rows[table] = await h.sql(`select * from "${table}" where "portfolio_id" = ? order by 1, 2`, [portfolioId]);
    return rows;
  };
  const nothing = { portfolio: [], erased_user: [], holding: [], fill: [], portfolio_snapshot: [], target_allocation: [] };

  /** Resolves when the server ends the subscription; rejects on an error or after WAIT_MS. */
  const subscribeUntilComplete = (token: string): { first: Promise<void>; completed: Promise<void> } => {
    const client = createClient({ url: h.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}` } });
    clients.push(client);
    let seen!: () => void;
    const first = new Promise<void>((resolve) => (seen = resolve));
    const completed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the subscription was not ended within ${WAIT_MS} ms`)), WAIT_MS);
      client.subscribe(
        { query: 'subscription { portfolioUpdated { userId } }' },
        {
          next: () => seen(),
          error: (error) => {
            clearTimeout(timer);
            reject(error instanceof Error ? error : new Error(JSON.stringify(error)));
          },
          complete: () => {
            clearTimeout(timer);
            resolve();
          },
        },
      );
    });
    return { first, completed };
  };

  beforeAll(async () => {
    h = await startPortfolio();
    for (const userId of [CUSTOMER_ID, OTHER_ID]) {
      await h.deliver(h.fill({ userId, symbol: 'BTC/USDT', quantity: '1', price: '100', executedAt: at(1).toISOString() }));
      await h.deliver(h.fill({ userId, symbol: 'ETH/USDT', quantity: '2', price: '10', executedAt: at(2).toISOString() }));
    }
    for (const token of [h.customer, h.other]) {
      expect((await h.request(SET_TARGETS, { targets: [{ asset: 'BTC', weight: '0.5' }, { asset: 'ETH', weight: '0.5' }] }, token)).errors).toBeUndefined();
    }
    expect(await h.server.snapshots.takeSnapshots(h.server.orm.em.fork(), at(3600))).toBe(2);
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await h?.close();
  });

  it("erases the user's portfolio with its holdings, fills, snapshots and targets, ends their live updates, and leaves the other user's", async () => {
    const before = await rowsOf(CUSTOMER_ID);
    for (const table of ['portfolio', ...PER_PORTFOLIO]) expect(before[table]!.length).toBeGreaterThan(0);
    const others = await rowsOf(OTHER_ID);
    const live = subscribeUntilComplete(h.customer);
    await live.first;

    expect(await h.enqueue([userDeleted(CUSTOMER_ID)])).toEqual([{ outcome: 'completed', result: 'processed' }]);
    await live.completed;

    expect(await rowsOf(CUSTOMER_ID)).toEqual({ ...nothing, erased_user: [{ user_id: CUSTOMER_ID }] });
    expect(await rowsOf(OTHER_ID)).toEqual(others);
    const mine = await h.request(MY_PORTFOLIO, {}, h.customer);
    expect(mine.data!.myPortfolio).toMatchObject({ userId: CUSTOMER_ID, totalValue: '0', holdings: [] });
    // The next snapshot run values the remaining portfolio only.
    expect(await h.server.snapshots.takeSnapshots(h.server.orm.em.fork(), at(7200))).toBe(1);
  });

  it('is a no-op when redelivered, and succeeds for a user it never saw', async () => {
    const erasure = userDeleted(CUSTOMER_ID);
    expect(await h.enqueue([erasure])).toEqual([{ outcome: 'completed', result: 'processed' }]);
    expect(await h.enqueue([erasure], { jobId: randomUUID() })).toEqual([{ outcome: 'completed', result: 'duplicate' }]);
    expect(await rowsOf(CUSTOMER_ID)).toEqual({ ...nothing, erased_user: [{ user_id: CUSTOMER_ID }] });

    const stranger = randomUUID();
    expect(await h.enqueue([userDeleted(stranger)])).toEqual([{ outcome: 'completed', result: 'processed' }]);
    expect(await rowsOf(stranger)).toEqual({ ...nothing, erased_user: [{ user_id: stranger }] });
  });

  it('fails a malformed UserDeleted at once, without retries, and erases nothing', async () => {
    const others = await rowsOf(OTHER_ID);
    const malformed = [userDeleted(OTHER_ID, { deletedAt: new Date().toISOString() }), userDeleted(OTHER_ID, { userId: 'not-a-uuid' })];
    const results = await h.enqueue(malformed, { attempts: 3 });
    expect(results.map((result) => result.outcome)).toEqual(['failed', 'failed']);
    expect(results[0]!.result).toMatch(/data.userId must be a non-empty string/);
    expect(results[1]!.result).toMatch(/data.userId must be a uuid/);
    const queue = eventQueue('portfolio', h.prefix);
    try {
      for (const envelope of malformed) expect((await queue.getJob(envelope.id))!.attemptsMade).toBe(1);
    } finally {
      await queue.close();
    }
    expect(await h.sql('select 1 from "inbox" where "event_id" in (?, ?)', malformed.map((envelope) => envelope.id))).toEqual([]);
    expect(await rowsOf(OTHER_ID)).toEqual(others);
  });

  it('does not bring the portfolio back for a fill or a target change that comes after the erasure', async () => {
    const late = h.fill({ userId: CUSTOMER_ID, quantity: '3', price: '100', executedAt: at(10).toISOString() });
    expect(await h.enqueue([late])).toEqual([{ outcome: 'completed', result: 'processed' }]);
    // The access token outlives the account by minutes.
    const targets = await h.request(SET_TARGETS, { targets: [{ asset: 'BTC', weight: '1' }] }, h.customer);
    expect(errorCode(targets)).toBe('UNAUTHENTICATED');
    expect(await rowsOf(CUSTOMER_ID)).toEqual({ ...nothing, erased_user: [{ user_id: CUSTOMER_ID }] });

    // Another user's fill still applies.
    expect(await h.enqueue([h.fill({ userId: OTHER_ID, quantity: '1', price: '100', executedAt: at(11).toISOString() })])).toEqual([{ outcome: 'completed', result: 'processed' }]);
    const [btc] = await h.sql<{ quantity: string }>('select "quantity"::text as "quantity" from "holding" where "portfolio_id" = ? and "asset" = ?', [portfolioIdOf(OTHER_ID), 'BTC']);
    expect(btc!.quantity).toBe('2');
  });

  it.each([
    ['a user with a portfolio', true],
    ['a user before their first fill', false],
  ])('skips a fill of %s that waited on the portfolio row while the erasure was committing', async (_, held) => {
    const leaving = randomUUID();
    if (held) await h.deliver(h.fill({ userId: leaving, quantity: '1', price: '100', executedAt: at(20).toISOString() }));
    let erased!: () => void;
    let commit!: () => void;
    const inTransaction = new Promise<void>((resolve) => (erased = resolve));
    const committing = new Promise<void>((resolve) => (commit = resolve));
    const erasure = h.server.orm.em.fork().transactional(async (em) => {
      await h.server.handlers.UserDeleted!(em, userDeleted(leaving), { afterCommit: () => undefined });
      erased();
      await committing;
    });
    await inTransaction;
    // The fill reads no tombstone yet (it is not committed): it must wait on the portfolio row, then see it.
    const fill = h.deliver(h.fill({ userId: leaving, quantity: '5', price: '100', executedAt: at(21).toISOString() }));
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const [waiting] = await h.sql<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%insert into "portfolio"%'`,
      );
      if (waiting!.n > 0) break;
      if (Date.now() > deadline) throw new Error('the fill never waited on the erasure');
    }
    commit();
    await erasure;
    await fill;
    expect(await rowsOf(leaving)).toEqual({ ...nothing, erased_user: [{ user_id: leaving }] });
  });
});
