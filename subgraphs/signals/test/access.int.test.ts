import type { Client } from 'graphql-ws';
import { receivedTopic, updatedTopic } from '../src/signal/signal.updates';
import { buyAlert, errorCode, SIGNAL, SIGNALS, startSignals, type CreatedEndpoint, type SignalsHarness } from './support/harness';
import { record, wsClient } from './support/ws';

const ALICE = '0a11ce00-0000-4000-8000-000000000031';
const BOB = '0b0b0000-0000-4000-8000-000000000032';
const ADMIN = '0ad00000-0000-4000-8000-000000000033';

const ENTITIES = `query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Signal { id symbol }
    ... on User { id signals(first: 50) { edges { node { id } } } }
    ... on Instrument { symbol signals(first: 50) { edges { node { id symbol } } } }
    ... on WebhookEndpoint { id name }
  }
}`;
const MARK = `mutation($id: ID!, $result: SignalResult!, $notes: String) { markSignalResult(id: $id, result: $result, notes: $notes) { id result notes resolvedAt profitLoss } }`;
const STATS = '{ signalStats { total thisMonth screenshotsPending wins losses winRate plan monthlyQuota } }';
const REFUSALS = `query($endpointId: ID, $first: Int) { webhookRefusals(endpointId: $endpointId, first: $first) { id endpointId status reason remoteIp body } }`;
const RECEIVED = 'subscription { signalReceived { id symbol action user { id } } }';
const UPDATED = 'subscription($id: ID) { signalUpdated(id: $id) { id result notes } }';

describe('signals are their owner\'s alone', () => {
  let h: SignalsHarness;
  let alice: string;
  let bob: string;
  let admin: string;
  let aliceEndpoint: CreatedEndpoint;
  let bobEndpoint: CreatedEndpoint;
  const aliceSignals: string[] = [];
  const bobSignals: string[] = [];
  const clients: Client[] = [];

  const deliver = async (endpoint: CreatedEndpoint, fields: Record<string, unknown>): Promise<string> => {
    const answer = await h.deliver(endpoint.token, buyAlert(fields));
    if (answer.status !== 200) throw new Error(`delivery failed: ${JSON.stringify(answer.body)}`);
    return answer.body.signals[0] as string;
  };

  beforeAll(async () => {
    h = await startSignals();
    alice = await h.token(ALICE);
    bob = await h.token(BOB);
    admin = await h.token(ADMIN, 'ADMIN');
    aliceEndpoint = await h.endpoint(alice);
    bobEndpoint = await h.endpoint(bob);
    for (const fields of [{ ticker: 'BTCUSDT' }, { ticker: 'ETHUSDT', action: 'sell' }, { ticker: 'BTCUSDT', action: 'close' }, { ticker: 'SOLUSDT' }, { ticker: 'BTCUSDT' }]) {
      aliceSignals.push(await deliver(aliceEndpoint, fields));
    }
    bobSignals.push(await deliver(bobEndpoint, { ticker: 'BTCUSDT' }));
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await h?.close();
  });

  const client = (token?: string): Client => {
    const created = wsClient(h.url, token);
    clients.push(created);
    return created;
  };

  it('lists only the viewer\'s signals, newest first, page by page', async () => {
    const first = await h.request(SIGNALS, { first: 2 }, alice);
    expect(first.errors).toBeUndefined();
    const page1 = first.data!.signals;
    expect(page1.edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual([aliceSignals[4], aliceSignals[3]]);
    expect(page1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const rest = await h.request(SIGNALS, { first: 10, after: page1.pageInfo.endCursor }, alice);
    expect(rest.data!.signals.edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual([aliceSignals[2], aliceSignals[1], aliceSignals[0]]);
    expect(rest.data!.signals.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });

    const bobs = await h.request(SIGNALS, {}, bob);
    expect(bobs.data!.signals.edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual(bobSignals);
    expect(errorCode(await h.request(SIGNALS, { after: 'not-a-cursor' }, alice))).toBe('BAD_USER_INPUT');
    expect(errorCode(await h.request(SIGNALS, {}))).toBe('UNAUTHENTICATED');
  });

  it('filters by symbol, action and endpoint', async () => {
    const ids = async (filter: Record<string, unknown>, token = alice) =>
      (await h.request(SIGNALS, { filter }, token)).data!.signals.edges.map((edge: { node: { id: string } }) => edge.node.id);
    expect(await ids({ symbol: 'BTC/USDT' })).toEqual([aliceSignals[4], aliceSignals[2], aliceSignals[0]]);
    expect(await ids({ action: 'SELL' })).toEqual([aliceSignals[1]]);
    expect(await ids({ symbol: 'BTC/USDT', action: 'CLOSE' })).toEqual([aliceSignals[2]]);
    expect(await ids({ endpointId: aliceEndpoint.id })).toHaveLength(5);
    // Another user's endpoint id shows nothing of theirs.
    expect(await ids({ endpointId: bobEndpoint.id })).toEqual([]);
  });

  it('answers another user\'s signal as not found, and resolves no reference to it', async () => {
    expect(errorCode(await h.request(SIGNAL, { id: bobSignals[0] }, alice))).toBe('NOT_FOUND');
    expect((await h.request(SIGNAL, { id: bobSignals[0] }, bob)).data!.signal.id).toBe(bobSignals[0]);
    expect(errorCode(await h.request(SIGNAL, { id: 'nope' }, alice))).toBe('BAD_USER_INPUT');

    const entities = await h.request(
      ENTITIES,
      {
        representations: [
          { __typename: 'Signal', id: bobSignals[0] },
          { __typename: 'Signal', id: aliceSignals[0] },
          { __typename: 'WebhookEndpoint', id: bobEndpoint.id },
          { __typename: 'WebhookEndpoint', id: aliceEndpoint.id },
        ],
      },
      alice,
    );
    expect(entities.errors).toBeUndefined();
    expect(entities.data!._entities).toEqual([null, { id: aliceSignals[0], symbol: 'BTC/USDT' }, null, { id: aliceEndpoint.id, name: 'TradingView' }]);
  });

  it('gives User.signals to the user themself only', async () => {
    const own = await h.request(ENTITIES, { representations: [{ __typename: 'User', id: ALICE }] }, alice);
    expect(own.data!._entities[0].signals.edges).toHaveLength(5);
    const other = await h.request(ENTITIES, { representations: [{ __typename: 'User', id: ALICE }] }, bob);
    expect(errorCode(other)).toBe('FORBIDDEN');
  });

  it('shows on an instrument the viewer\'s own signals of that symbol', async () => {
    const shown = await h.request(ENTITIES, { representations: [{ __typename: 'Instrument', symbol: 'BTC/USDT' }] }, bob);
    expect(shown.data!._entities[0].signals.edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual(bobSignals);
    const anonymous = await h.request(ENTITIES, { representations: [{ __typename: 'Instrument', symbol: 'BTC/USDT' }] });
    expect(errorCode(anonymous)).toBe('UNAUTHENTICATED');
  });

  it('counts the viewer\'s own figures', async () => {
    const stats = await h.request(STATS, {}, alice);
    expect(stats.data!.signalStats).toEqual({ total: 5, thisMonth: 5, screenshotsPending: 5, wins: 0, losses: 0, winRate: null, plan: 'free', monthlyQuota: 100 });
    expect((await h.request(STATS, {}, bob)).data!.signalStats).toMatchObject({ total: 1 });
  });

  it('lets only the owner mark a result, recording SignalResolved, and reopening it', async () => {
    const id = aliceSignals[0]!;
    expect(errorCode(await h.request(MARK, { id, result: 'WIN' }, bob))).toBe('NOT_FOUND');
    expect(errorCode(await h.request(MARK, { id, result: 'WIN' }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await h.request(MARK, { id, result: 'WIN', notes: 'x'.repeat(2001) }, alice))).toBe('BAD_USER_INPUT');

    const marked = await h.request(MARK, { id, result: 'WIN', notes: 'took it by hand' }, alice);
    expect(marked.errors).toBeUndefined();
    expect(marked.data!.markSignalResult).toMatchObject({ id, result: 'WIN', notes: 'took it by hand', profitLoss: null });
    expect(marked.data!.markSignalResult.resolvedAt).not.toBeNull();
    const events = await h.sql<{ data: Record<string, unknown> }>(`select "data" from "outbox" where "type" = 'SignalResolved' and "subject" = ?`, [id]);
    expect(events).toEqual([{ data: expect.objectContaining({ signalId: id, userId: ALICE, result: 'WIN', manual: true }) }]);

    // The same result again only changes the notes; no second event.
    await h.request(MARK, { id, result: 'WIN', notes: 'still a win' }, alice);
    expect(await h.sql(`select 1 from "outbox" where "type" = 'SignalResolved' and "subject" = ?`, [id])).toHaveLength(1);
    expect((await h.request(STATS, {}, alice)).data!.signalStats).toMatchObject({ wins: 1, losses: 0, winRate: '100.00' });

    const reopened = await h.request(MARK, { id, result: 'PENDING' }, alice);
    expect(reopened.data!.markSignalResult).toMatchObject({ result: 'PENDING', resolvedAt: null, notes: 'still a win' });
  });

  it('keeps the refusal log to the endpoint\'s owner, and all of it to admins', async () => {
    await h.deliver(aliceEndpoint.token, 'garbage', { contentType: 'text/plain' });
    await h.deliver(Buffer.alloc(32, 1).toString('base64url'), buyAlert());
    const own = await h.request(REFUSALS, { endpointId: aliceEndpoint.id }, alice);
    expect(own.data!.webhookRefusals).toEqual([expect.objectContaining({ endpointId: aliceEndpoint.id, status: 400, reason: 'BAD_ALERT', remoteIp: '127.0.0.1', body: 'garbage' })]);
    expect(errorCode(await h.request(REFUSALS, { endpointId: aliceEndpoint.id }, bob))).toBe('NOT_FOUND');
    expect(errorCode(await h.request(REFUSALS, {}, alice))).toBe('FORBIDDEN');
    const all = await h.request(REFUSALS, {}, admin);
    expect(all.data!.webhookRefusals.map((refusal: { reason: string }) => refusal.reason)).toEqual(expect.arrayContaining(['BAD_ALERT', 'UNKNOWN_TOKEN']));
    expect((await h.request(REFUSALS, { endpointId: aliceEndpoint.id }, admin)).data!.webhookRefusals).toHaveLength(1);
  });

  it('tells each subscriber about their own new signals only', async () => {
    const aliceFeed = record(client(alice), RECEIVED);
    const bobFeed = record(client(bob), RECEIVED);
    await Promise.all([h.server.pubsub.whenSubscribed(receivedTopic(ALICE)), h.server.pubsub.whenSubscribed(receivedTopic(BOB))]);
    const aliceNew = await deliver(aliceEndpoint, { ticker: 'ETHUSDT' });
    const bobNew = await deliver(bobEndpoint, { ticker: 'SOLUSDT' });
    await aliceFeed.until((results) => results.length >= 1, 'Alice\'s new signal');
    await bobFeed.until((results) => results.length >= 1, 'Bob\'s new signal');
    expect(aliceFeed.results[0]!.data).toEqual({ signalReceived: { id: aliceNew, symbol: 'ETH/USDT', action: 'BUY', user: { id: ALICE } } });
    expect(bobFeed.results[0]!.data).toEqual({ signalReceived: { id: bobNew, symbol: 'SOL/USDT', action: 'BUY', user: { id: BOB } } });
    // Bob's feed saw nothing of Alice's (his first message is his own signal, posted after hers).
    expect(bobFeed.results).toHaveLength(1);
  });

  it('follows changes of the viewer\'s signals, refusing another user\'s signal and anonymous callers', async () => {
    const refusal = async (query: string, variables: Record<string, unknown> | undefined, token?: string): Promise<unknown> => {
      const refused = record(client(token), query, variables);
      await refused.ended();
      return refused.results[0]?.errors?.[0]?.extensions?.code;
    };
    expect(await refusal(UPDATED, { id: bobSignals[0] }, alice)).toBe('NOT_FOUND');
    expect(await refusal(RECEIVED, undefined)).toBe('UNAUTHENTICATED');

    const id = aliceSignals[1]!;
    const one = record(client(alice), UPDATED, { id });
    const all = record(client(alice), UPDATED);
    const bobs = record(client(bob), UPDATED);
    await Promise.all([h.server.pubsub.whenSubscribed(updatedTopic(ALICE)), h.server.pubsub.whenSubscribed(updatedTopic(BOB))]);
    await h.request(MARK, { id: aliceSignals[3], result: 'SKIP' }, alice);
    await h.request(MARK, { id, result: 'LOSS', notes: 'stopped out' }, alice);
    await h.request(MARK, { id: bobSignals[0], result: 'SKIP' }, bob);
    await one.until((results) => results.length >= 1, 'the change of one signal');
    await all.until((results) => results.length >= 2, 'both changes');
    await bobs.until((results) => results.length >= 1, 'Bob\'s change');
    expect(one.results.map((result) => result.data)).toEqual([{ signalUpdated: { id, result: 'LOSS', notes: 'stopped out' } }]);
    expect(all.results.map((result) => result.data!.signalUpdated.id)).toEqual([aliceSignals[3], id]);
    expect(bobs.results.map((result) => result.data!.signalUpdated.id)).toEqual([bobSignals[0]]);
  });
});
