import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { ADMIN_ID, CANCEL, MARK_DELIVERED, SHIP, startOrders, type OrdersHarness, type TestProduct } from './harness';

const ORDER_UPDATED = `subscription($id: ID!) {
  orderUpdated(orderId: $id) { id status cancelReason trackingNumber history { status } user { id } }
}`;

/** Every wait is bounded: a missing event fails the test instead of hanging it. */
const WAIT_MS = 10_000;

type Result = FormattedExecutionResult<Record<string, any>, unknown>;

/** One subscription over the real graphql-ws client, recording what arrives. */
interface Recorded {
  results: Result[];
  outcome: { completed: true } | { error: unknown } | undefined;
  /** Resolves with the `count`-th result (1-based); rejects if the subscription ends first or nothing comes in time. */
  result(count: number): Promise<Result>;
  /** Resolves once the subscription completed or failed. */
  ended(): Promise<{ completed: true } | { error: unknown }>;
  unsubscribe(): void;
}

function waitFor(changes: EventEmitter, check: () => boolean, what: () => string): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      changes.off('change', listener);
      reject(new Error(`${what()} within ${WAIT_MS} ms`));
    }, WAIT_MS);
    const listener = () => {
      if (!check()) return;
      clearTimeout(timer);
      changes.off('change', listener);
      resolve();
    };
    changes.on('change', listener);
  });
}

function record(client: Client, orderId: string): Recorded {
  const changes = new EventEmitter();
  const recorded: Recorded = {
    results: [],
    outcome: undefined,
    async result(count) {
      await waitFor(
        changes,
        () => recorded.results.length >= count || recorded.outcome !== undefined,
        () => `expected result ${count}, got ${JSON.stringify(recorded.results)}`,
      );
      if (recorded.results.length < count) throw new Error(`ended after ${recorded.results.length} results: ${JSON.stringify(recorded.outcome)}`);
      return recorded.results[count - 1]!;
    },
    async ended() {
      await waitFor(changes, () => recorded.outcome !== undefined, () => 'expected the subscription to end');
      return recorded.outcome!;
    },
    unsubscribe: () => undefined,
  };
  recorded.unsubscribe = client.subscribe<Record<string, any>>(
    { query: ORDER_UPDATED, variables: { id: orderId } },
    {
      next(result) {
        recorded.results.push(result);
        changes.emit('change');
      },
      error(error) {
        recorded.outcome = { error };
        changes.emit('change');
      },
      complete() {
        recorded.outcome ??= { completed: true };
        changes.emit('change');
      },
    },
  );
  return recorded;
}

const statuses = (recorded: Recorded): string[] => recorded.results.map((result) => result.data!.orderUpdated.status);
const RANK = ['PENDING', 'AWAITING_PAYMENT', 'PAID', 'SHIPPED', 'DELIVERED', 'FULFILLED'];

describe('Subscription.orderUpdated', () => {
  let h: OrdersHarness;
  let good: TestProduct;
  const clients: Client[] = [];

  const client = (token?: string): Client => {
    const created = createClient({
      url: h.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: token ? { authorization: `Bearer ${token}` } : undefined,
    });
    clients.push(created);
    return created;
  };

  /** Subscribes and waits for the snapshot, which comes once the live feed listens. */
  async function follow(orderId: string, token: string): Promise<Recorded> {
    const recorded = record(client(token), orderId);
    const snapshot = await recorded.result(1);
    expect(snapshot.errors).toBeUndefined();
    return recorded;
  }

  const stockReserved = (orderId: string) => h.envelope('StockReserved', { orderId, reservationId: randomUUID() }, { source: 'inventory' });
  const paymentSucceeded = (orderId: string, amount: number) =>
    h.envelope('PaymentSucceeded', { orderId, paymentId: randomUUID(), amount, currency: 'USD' }, { source: 'payments' });

  beforeAll(async () => {
    h = await startOrders();
    good = await h.product({ kind: 'GOOD', priceAmount: 2500, sku: 'GOOD-LIVE' });
  });

  afterAll(async () => {
    await Promise.all(clients.map((created) => created.dispose()));
    await h?.close();
  });

  it('sends the owner the order now, then every status change after its commit: saga events and admin actions', async () => {
    const placed = await h.placeOrder([{ productId: good.productId, quantity: 2 }]);
    const updates = await follow(placed.id, h.customer);
    expect(updates.results[0]!.data!.orderUpdated).toEqual({
      id: placed.id,
      status: 'PENDING',
      cancelReason: null,
      trackingNumber: null,
      history: [{ status: 'PENDING' }],
      user: { id: placed.user.id },
    });

    const reserved = stockReserved(placed.id);
    await h.deliver(reserved);
    expect((await updates.result(2)).data!.orderUpdated).toMatchObject({ status: 'AWAITING_PAYMENT', history: [{ status: 'PENDING' }, { status: 'AWAITING_PAYMENT' }] });

    // A redelivery changes nothing, so nothing is published: the next message is the payment's.
    await h.deliver(reserved);
    await h.deliver(paymentSucceeded(placed.id, 5000));
    expect((await updates.result(3)).data!.orderUpdated).toMatchObject({ status: 'PAID', history: [{ status: 'PENDING' }, { status: 'AWAITING_PAYMENT' }, { status: 'PAID' }] });

    const shipped = await h.request(SHIP, { id: placed.id, trackingNumber: 'TRACK-1' }, h.admin);
    expect(shipped.errors).toBeUndefined();
    expect((await updates.result(4)).data!.orderUpdated).toMatchObject({ status: 'SHIPPED', trackingNumber: 'TRACK-1' });

    const delivered = await h.request(MARK_DELIVERED, { id: placed.id }, h.admin);
    expect(delivered.errors).toBeUndefined();
    const fulfilled = (await updates.result(5)).data!.orderUpdated;
    expect(fulfilled.status).toBe('FULFILLED');
    expect(fulfilled.history.map((entry: { status: string }) => entry.status)).toEqual(['PENDING', 'AWAITING_PAYMENT', 'PAID', 'SHIPPED', 'DELIVERED', 'FULFILLED']);
    expect(statuses(updates)).toEqual(['PENDING', 'AWAITING_PAYMENT', 'PAID', 'SHIPPED', 'FULFILLED']);
    expect(updates.results.every((result) => result.errors === undefined)).toBe(true);
  });

  it('loses no update of a burst and keeps them in order', async () => {
    const placed = await h.placeOrder([{ productId: good.productId, quantity: 1 }]);
    const updates = await follow(placed.id, h.customer);

    // Four committed changes back to back, without waiting for the subscriber.
    await h.deliver(stockReserved(placed.id));
    await h.deliver(paymentSucceeded(placed.id, 2500));
    expect((await h.request(SHIP, { id: placed.id, trackingNumber: 'TRACK-2' }, h.admin)).errors).toBeUndefined();
    expect((await h.request(MARK_DELIVERED, { id: placed.id }, h.admin)).errors).toBeUndefined();

    await updates.result(5);
    const seen = statuses(updates);
    // Each message reads the order when it is delivered, so a late reader may see a later status, never an earlier one.
    expect(seen.map((status) => RANK.indexOf(status))).toEqual([...seen.map((status) => RANK.indexOf(status))].sort((a, b) => a - b));
    expect(seen[4]).toBe('FULFILLED');
  });

  it('publishes cancellations: by the customer, and by the saga', async () => {
    const byCustomer = await h.placeOrder([{ productId: good.productId, quantity: 1 }]);
    const first = await follow(byCustomer.id, h.customer);
    expect((await h.request(CANCEL, { id: byCustomer.id }, h.customer)).errors).toBeUndefined();
    expect((await first.result(2)).data!.orderUpdated).toMatchObject({ status: 'CANCELLED', cancelReason: 'CUSTOMER' });

    const bySaga = await h.placeOrder([{ productId: good.productId, quantity: 1 }]);
    const second = await follow(bySaga.id, h.customer);
    await h.deliver(h.envelope('StockRejected', { orderId: bySaga.id, reason: 'insufficient stock', productIds: [good.productId] }, { source: 'inventory' }));
    expect((await second.result(2)).data!.orderUpdated).toMatchObject({ status: 'CANCELLED', cancelReason: 'OUT_OF_STOCK' });
  });

  it('lets an ADMIN follow any order', async () => {
    const placed = await h.placeOrder([{ productId: good.productId, quantity: 1 }]);
    const updates = await follow(placed.id, h.admin);
    await h.deliver(stockReserved(placed.id));
    expect((await updates.result(2)).data!.orderUpdated).toMatchObject({ id: placed.id, status: 'AWAITING_PAYMENT', user: { id: placed.user.id } });
    expect(placed.user.id).not.toBe(ADMIN_ID);
  });

  it('refuses anyone else on subscribe: FORBIDDEN, UNAUTHENTICATED, NOT_FOUND, BAD_USER_INPUT', async () => {
    const placed = await h.placeOrder([{ productId: good.productId, quantity: 1 }]);
    const refusal = async (orderId: string, token?: string) => {
      const recorded = record(client(token), orderId);
      expect(await recorded.ended()).toEqual({ completed: true });
      expect(recorded.results).toHaveLength(1);
      expect(recorded.results[0]!.data ?? null).toBeNull();
      return recorded.results[0]!.errors?.[0]?.extensions?.code;
    };
    expect(await refusal(placed.id, h.other)).toBe('FORBIDDEN');
    expect(await refusal(placed.id)).toBe('UNAUTHENTICATED');
    expect(await refusal(randomUUID(), h.customer)).toBe('NOT_FOUND');
    expect(await refusal('not-an-id', h.customer)).toBe('BAD_USER_INPUT');
  });
});
