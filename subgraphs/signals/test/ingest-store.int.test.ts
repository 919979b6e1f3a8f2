import { createHash, randomUUID } from 'node:crypto';
import { IngestStore, type Delivery } from '../src/ingest/ingest.store';
import { quotaMonth } from '../src/plan/plan';
import { startSignals, type CreatedEndpoint, type SignalsHarness } from './support/harness';

const ALICE = '0a11ce00-0000-4000-8000-000000000021';
const BOB = '0b0b0000-0000-4000-8000-000000000022';

describe('ingest store (deliveries written together)', () => {
  let h: SignalsHarness;
  let aliceEndpoint: CreatedEndpoint;
  let bobEndpoint: CreatedEndpoint;
  /** Each endpoint's state as the webhook reads it with the endpoint (a delivery carries it). */
  const states = new Map<string, string>();
  const stateOf = async (endpointId: string): Promise<string> =>
    (await h.sql<{ state: string }>('select "signals_endpoint_state"(?) as "state"', [endpointId]))[0]!.state;

  beforeAll(async () => {
    h = await startSignals();
    aliceEndpoint = await h.endpoint(await h.token(ALICE));
    bobEndpoint = await h.endpoint(await h.token(BOB));
    for (const endpoint of [aliceEndpoint, bobEndpoint]) states.set(endpoint.id, await stateOf(endpoint.id));
  });

  afterAll(async () => {
    await h?.close();
  });

  /** One alert's delivery as the webhook builds it; `body` decides the dedup key. */
  const delivery = (endpoint: CreatedEndpoint, userId: string, body: string, limit = 1_000_000, price = '67250.5'): Delivery => {
    const id = randomUUID();
    const receivedAt = new Date().toISOString();
    return {
      key: createHash('sha256').update(endpoint.id).update('\n').update(body).digest(),
      endpointId: endpoint.id,
      endpointState: states.get(endpoint.id) ?? '',
      userId,
      month: quotaMonth(new Date()).month,
      limit,
      signals: [
        {
          id,
          indicator: null,
          ticker: 'BINANCE:BTCUSDT',
          exchange: 'BINANCE',
          symbol: 'BTC/USDT',
          price,
          signal_type: null,
          action: 'BUY',
          timeframe: '15',
          chart_id: null,
          take_profit: null,
          stop_loss: null,
          quantity: null,
          alert_time: null,
          extra: null,
          message: body,
          received_at: receivedAt,
        },
      ],
      events: [{ id: randomUUID(), type: 'SignalReceived', occurred_at: receivedAt, subject: id, data: { signalId: id, userId }, traceparent: null }],
    };
  };
  const usage = async (userId: string): Promise<number> =>
    (await h.sql<{ count: number }>('select "count" from "signal_usage" where "user_id" = ?', [userId]))[0]?.count ?? 0;
  const stored = (ids: string[]) => h.sql<{ id: string; tx: string }>('select "id", xmin::text as "tx" from "signal" where "id" = any(?::uuid[])', [`{${ids.join(',')}}`]);

  it('writes concurrent deliveries in one transaction, counting quota in order and answering a racing retry with the first signals', async () => {
    const store = new IngestStore(h.server.orm, { dedupWindowSeconds: 600, maxInFlight: 1 });
    const before = await usage(ALICE);
    const limit = before + 2;
    const [a1, a2, a3, retry, b1] = await Promise.all([
      store.store(delivery(aliceEndpoint, ALICE, 'a1', limit)),
      store.store(delivery(aliceEndpoint, ALICE, 'a2', limit)),
      store.store(delivery(aliceEndpoint, ALICE, 'a3', limit)),
      store.store(delivery(aliceEndpoint, ALICE, 'a1', limit)),
      store.store(delivery(bobEndpoint, BOB, 'b1')),
    ]);
    expect(a1).toMatchObject({ outcome: 'CREATED', used: before + 1 });
    expect(a2).toMatchObject({ outcome: 'CREATED', used: before + 2 });
    expect(a3).toEqual({ outcome: 'QUOTA_EXCEEDED', used: before + 2 });
    expect(retry).toEqual({ outcome: 'DUPLICATE', signalIds: a1!.outcome === 'CREATED' ? a1!.signalIds : [] });
    expect(b1).toMatchObject({ outcome: 'CREATED', used: 1 });

    const created = [a1, a2, b1].flatMap((outcome) => (outcome!.outcome === 'CREATED' ? outcome!.signalIds : []));
    const rows = await stored(created);
    expect(rows).toHaveLength(3);
    // One transaction: every row carries the same transaction id.
    expect(new Set(rows.map((row) => row.tx)).size).toBe(1);
    expect(await usage(ALICE)).toBe(before + 2);
    const events = await h.sql<{ subject: string }>('select "subject" from "outbox" where "subject" = any(?::text[])', [`{${created.join(',')}}`]);
    expect(events).toHaveLength(3);
    // The over-quota delivery gave its claim back: sent again later, it is not a retry.
    const a3Key = delivery(aliceEndpoint, ALICE, 'a3').key;
    expect(await h.sql('select 1 from "alert_dedup" where "key" = ?', [a3Key])).toHaveLength(0);
  });

  it('fails only the delivery that cannot be written when its batch fails', async () => {
    const store = new IngestStore(h.server.orm, { dedupWindowSeconds: 600, maxInFlight: 1 });
    const before = await usage(BOB);
    const unwritable = delivery(bobEndpoint, BOB, 'a price Postgres cannot read', 1_000_000, 'sixty-seven thousand');
    const [good, bad] = await Promise.allSettled([store.store(delivery(bobEndpoint, BOB, 'fine')), store.store(unwritable)]);
    expect(good).toMatchObject({ status: 'fulfilled', value: { outcome: 'CREATED' } });
    expect(bad).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: expect.stringContaining('invalid input syntax for type numeric') }) });
    // Nothing of the failed delivery stays: no claim, no quota, no signal.
    expect(await h.sql('select 1 from "alert_dedup" where "key" = ?', [unwritable.key])).toHaveLength(0);
    expect(await usage(BOB)).toBe(before + 1);
    expect(await stored(unwritable.signals.map((signal) => signal.id))).toHaveLength(0);
  });

  it('writes nothing of a delivery judged on an endpoint that changed or went since, and answers it STALE', async () => {
    const store = new IngestStore(h.server.orm, { dedupWindowSeconds: 600, maxInFlight: 1 });
    const another = await h.endpoint(await h.token(BOB));
    states.set(another.id, await stateOf(another.id));
    const before = await usage(BOB);
    // Another replica edits one endpoint and deletes the other after this one read them.
    await h.sql('update "webhook_endpoint" set "default_timeframe" = \'60\' where "id" = ?', [bobEndpoint.id]);
    const edited = delivery(bobEndpoint, BOB, 'judged before the edit');
    const current = { ...delivery(bobEndpoint, BOB, 'judged after the edit'), endpointState: await stateOf(bobEndpoint.id) };
    await h.sql('delete from "webhook_endpoint" where "id" = ?', [another.id]);
    const gone = delivery(another, BOB, 'judged before the delete');
    const outcomes = await Promise.all([store.store(edited), store.store(current), store.store(gone)]);
    expect(outcomes).toEqual([{ outcome: 'STALE' }, expect.objectContaining({ outcome: 'CREATED', used: before + 1 }), { outcome: 'STALE' }]);
    for (const stale of [edited, gone]) {
      expect(await h.sql('select 1 from "alert_dedup" where "key" = ?', [stale.key])).toHaveLength(0);
      expect(await stored(stale.signals.map((signal) => signal.id))).toHaveLength(0);
      expect(await h.sql('select 1 from "outbox" where "subject" = ?', [stale.signals[0]!.id])).toHaveLength(0);
    }
    expect(await usage(BOB)).toBe(before + 1);
    states.set(bobEndpoint.id, current.endpointState);
  });

  it('runs concurrent batches over the same users and keys without deadlocks or lost counts', async () => {
    const store = new IngestStore(h.server.orm, { dedupWindowSeconds: 600, maxInFlight: 4, maxBatchSize: 8 });
    const users = [
      { endpoint: aliceEndpoint, userId: ALICE },
      { endpoint: bobEndpoint, userId: BOB },
    ];
    const before = { alice: await usage(ALICE), bob: await usage(BOB) };
    // 120 deliveries, users interleaved, every other body sent twice (retries racing their original), in a scrambled order.
    const bodies = Array.from({ length: 80 }, (_, index) => ({ ...users[index % 2]!, body: `race-${index}` }));
    const all = [...bodies, ...bodies.filter((_, index) => index % 2 === 0)];
    const sent = all.map((_, index) => all[(index * 37) % all.length]!);
    const outcomes = await Promise.all(sent.map(({ endpoint, userId, body }) => store.store(delivery(endpoint, userId, body))));
    expect(outcomes.filter((outcome) => outcome.outcome === 'CREATED')).toHaveLength(80);
    expect(outcomes.filter((outcome) => outcome.outcome === 'DUPLICATE')).toHaveLength(40);
    const createdFor = (userId: string) => sent.filter((entry, index) => entry.userId === userId && outcomes[index]!.outcome === 'CREATED').length;
    expect(await usage(ALICE)).toBe(before.alice + createdFor(ALICE));
    expect(await usage(BOB)).toBe(before.bob + createdFor(BOB));
    // Every duplicate answers with the signal its original created.
    const signalsOf = new Map<string, string[]>();
    for (const [index, outcome] of outcomes.entries()) if (outcome.outcome === 'CREATED') signalsOf.set(sent[index]!.body, outcome.signalIds);
    for (const [index, outcome] of outcomes.entries()) {
      if (outcome.outcome === 'DUPLICATE') expect(outcome.signalIds).toEqual(signalsOf.get(sent[index]!.body));
    }
  });
});
