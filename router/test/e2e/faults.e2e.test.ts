import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { AddToCartDocument, CheckoutDocument, OrderDocument } from '../../../schema/generated/operations';
import { DEMO_PRODUCTS, type DemoProduct } from '../../../scripts/demo-data';
import { bullConnection, eventQueueName, eventsOfJob, listFailed, type EventEnvelope } from '../../../subgraphs/kit/src/events';
import { RedisProcess } from './redis-process';
import { eventually, startStack, SUBGRAPH_NAMES, type Stack, type SubgraphName } from './stack';

/**
 * The saga's fault acceptance: stop the orders or payments process mid-saga, or kill Redis
 * mid-saga; after recovery every saga completes, nothing is lost and nothing is applied twice.
 *
 * Each test places ORDERS checkouts in two concurrent waves. The first is accepted just before the
 * fault, so its sagas are wherever they happen to be when it strikes. The second is placed while
 * the fault holds, so the test knows for certain that work is parked (in a queue, or in an outbox).
 * Every effect is then checked in the subgraphs' databases (read-only SQL) and queues.
 */

jest.setTimeout(240_000);

const ORDERS = 20;
const FIRST_WAVE = ORDERS / 2;
/**
 * Bound on each wait for recovery. Generous: a job BullMQ moved to active just as Redis died (the
 * reply never reached the worker) is handed back only by the stalled-job check, once its lock has
 * expired: up to lockDuration + stalledInterval (30 s + 30 s by default) after the restart.
 */
const RECOVERY_TIMEOUT_MS = 120_000;

const bySku = (sku: string) => DEMO_PRODUCTS.find((product) => product.sku === sku)!;
interface BasketLine {
  product: DemoProduct;
  quantity: number;
}
/** Goods only, an indicator only (FULFILLED at payment: digital delivery), goods and an indicator. */
const BASKETS: BasketLine[][] = [
  [
    { product: bySku('GOOD-HW-WALLET'), quantity: 1 },
    { product: bySku('GOOD-BOOK-TA'), quantity: 2 },
  ],
  [{ product: bySku('IND-RSI-DIV'), quantity: 1 }],
  [
    { product: bySku('GOOD-HOODIE'), quantity: 1 },
    { product: bySku('IND-MACD-X'), quantity: 1 },
  ],
];
const isGood = (line: BasketLine) => line.product.kind === 'GOOD';

interface Placed {
  id: string;
  token: string;
  basket: BasketLine[];
  total: number;
}

const digitalOnly = (order: Placed) => !order.basket.some(isGood);
const finalStatus = (order: Placed) => (digitalOnly(order) ? 'FULFILLED' : 'PAID');
const expectedHistory = (order: Placed) => ['PENDING', 'AWAITING_PAYMENT', 'PAID', ...(digitalOnly(order) ? ['FULFILLED'] : [])];

/** Read-only SQL on one subgraph's database. */
async function query<T>(stack: Stack, subgraph: SubgraphName, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: stack.databaseUrls[subgraph] });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

async function withQueue<T>(stack: Stack, subgraph: SubgraphName, use: (queue: Queue) => Promise<T>): Promise<T> {
  const queue = new Queue(eventQueueName(subgraph), { connection: bullConnection(stack.redisUrl), prefix: stack.eventsPrefix });
  queue.on('error', () => undefined);
  try {
    return await use(queue);
  } finally {
    await queue.close();
  }
}

/** Jobs of `events-<subgraph>` not yet finished: waiting, running, or delayed for a retry. */
const unfinishedJobs = (stack: Stack, subgraph: SubgraphName) =>
  withQueue(stack, subgraph, async (queue) => {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
    return Object.values(counts).reduce((sum, count) => sum + count, 0);
  });

const SAGA_SUBGRAPHS: SubgraphName[] = ['orders', 'payments', 'inventory'];

/** Work still on its way: unpublished outbox rows and unfinished jobs of the saga's subgraphs. */
async function pendingWork(stack: Stack): Promise<Record<string, number>> {
  const pending: Record<string, number> = {};
  for (const subgraph of SAGA_SUBGRAPHS) {
    const [row] = await query<{ count: string }>(stack, subgraph, `select count(*) from "outbox" where "published_at" is null`);
    pending[`${subgraph} outbox`] = Number(row!.count);
    pending[`${subgraph} queue`] = await unfinishedJobs(stack, subgraph);
  }
  return pending;
}

/** Order status by id, straight from the orders database (readable while orders is stopped). */
async function statuses(stack: Stack, orders: Placed[]): Promise<string[]> {
  const rows = await query<{ id: string; status: string }>(stack, 'orders', `select "id", "status" from "orders" where "id" = any($1)`, [orders.map((order) => order.id)]);
  const byId = new Map(rows.map((row) => [row.id, row.status]));
  return orders.map((order) => byId.get(order.id) ?? 'MISSING');
}

async function stockLevels(stack: Stack): Promise<Map<string, { onHand: number; reserved: number }>> {
  const rows = await query<{ product_id: string; on_hand: number; reserved: number }>(stack, 'inventory', `select "product_id", "on_hand", "reserved" from "stock_level"`);
  return new Map(rows.map((row) => [row.product_id, { onHand: row.on_hand, reserved: row.reserved }]));
}

/** One customer (a fresh user) fills a cart with the basket of `index` and checks out with the dev provider. */
async function placeOrder(stack: Stack, index: number): Promise<Placed> {
  const token = await stack.mintToken(randomUUID());
  const basket = BASKETS[index % BASKETS.length]!;
  for (const line of basket) {
    const added = await stack.request(AddToCartDocument, { productId: line.product.id, quantity: line.quantity }, token);
    expect(added.errors).toBeUndefined();
  }
  const checkout = await stack.request(CheckoutDocument, { input: { idempotencyKey: randomUUID(), paymentMethod: 'dev-card' } }, token);
  expect(checkout.errors).toBeUndefined();
  const placed = checkout.data!.checkout;
  expect(placed.total.amount).toBe(basket.reduce((sum, line) => sum + line.product.priceAmount * line.quantity, 0));
  return { id: placed.id, token, basket, total: placed.total.amount };
}

const placeWave = (stack: Stack, from: number, to: number) => Promise.all(Array.from({ length: to - from }, (_, offset) => placeOrder(stack, from + offset)));

/**
 * Waits until the customer sees every order settled through the router, then until nothing is
 * left in flight (so a duplicate delivered late would have shown its effect by the time we count).
 */
async function recovered(stack: Stack, orders: Placed[]): Promise<void> {
  try {
    await settled(stack, orders);
  } catch (error) {
    // Say where the work stopped: events not yet published by type, jobs left per queue.
    const stuck: Record<string, unknown> = {};
    for (const subgraph of SAGA_SUBGRAPHS) {
      stuck[`${subgraph} outbox`] = await query(stack, subgraph, `select "type", count(*)::int from "outbox" where "published_at" is null group by "type"`).catch(String);
      stuck[`${subgraph} queue`] = await withQueue(stack, subgraph, (queue) => queue.getJobCounts()).catch(String);
    }
    throw new Error(`${(error as Error).message}\nunfinished: ${JSON.stringify(stuck)}`);
  }
}

async function settled(stack: Stack, orders: Placed[]): Promise<void> {
  await Promise.all(
    orders.map((order) =>
      eventually(
        // Tolerant: right after a restart a request may still meet a closed keep-alive connection.
        () => stack.request(OrderDocument, { id: order.id }, order.token).then((result) => result.data?.order ?? null, () => null),
        (seen) => seen?.status === finalStatus(order) && seen.payment?.status === 'SUCCEEDED',
        `order ${order.id} (${order.basket.map((line) => line.product.sku).join(', ')})`,
        RECOVERY_TIMEOUT_MS,
      ),
    ),
  );
  await eventually(() => pendingWork(stack), (pending) => Object.values(pending).every((count) => count === 0), 'outboxes and queues drained', RECOVERY_TIMEOUT_MS);
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const countBy = <T>(items: T[], key: (item: T) => string) => {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
};

/** Every order's saga ran exactly once: one payment, one PAID, one event of each kind, stock moved once. */
async function expectEachSagaExactlyOnce(stack: Stack, orders: Placed[], stockBefore: Map<string, { onHand: number; reserved: number }>): Promise<void> {
  const ids = orders.map((order) => order.id);
  const ordersSorted = [...orders].sort((a, b) => byText(a.id, b.id));

  // orders: final status, the history of one pass through the saga, the payment recorded.
  const orderRows = await query<{ id: string; status: string; payment_id: string | null }>(
    stack,
    'orders',
    `select "id"::text, "status", "payment_id" from "orders"`,
  );
  orderRows.sort((a, b) => byText(a.id, b.id));
  expect(orderRows.map((row) => [row.id, row.status])).toEqual(ordersSorted.map((order) => [order.id, finalStatus(order)]));
  const history = await query<{ order_id: string; status: string }>(stack, 'orders', `select "order_id", "status" from "order_history" order by "order_id", "id"`);
  const historyByOrder = new Map<string, string[]>();
  for (const entry of history) historyByOrder.set(entry.order_id, [...(historyByOrder.get(entry.order_id) ?? []), entry.status]);
  for (const order of orders) expect({ order: order.id, history: historyByOrder.get(order.id) }).toEqual({ order: order.id, history: expectedHistory(order) });

  // payments: exactly one payment per order, succeeded, for the order's total; the one orders recorded.
  const payments = await query<{ id: string; order_id: string; status: string; amount: number; currency: string }>(
    stack,
    'payments',
    `select "id", "order_id", "status", "amount", "currency" from "payment"`,
  );
  payments.sort((a, b) => byText(a.order_id, b.order_id));
  expect(payments.map((payment) => [payment.order_id, payment.status, payment.amount, payment.currency])).toEqual(
    ordersSorted.map((order) => [order.id, 'SUCCEEDED', order.total, 'USD']),
  );
  expect(orderRows.map((row) => row.payment_id)).toEqual(payments.map((payment) => payment.id));

  // inventory: one reservation per order, committed once (a reserve and a commit movement per good line).
  const reservations = await query<{ order_id: string; status: string; movements: string }>(
    stack,
    'inventory',
    `select r."order_id", r."status", (select count(*) from "stock_movement" m where m."reservation_id" = r."id") as "movements"
       from "reservation" r`,
  );
  reservations.sort((a, b) => byText(a.order_id, b.order_id));
  expect(reservations.map((row) => [row.order_id, row.status, Number(row.movements)])).toEqual(
    ordersSorted.map((order) => [order.id, 'COMMITTED', 2 * order.basket.filter(isGood).length]),
  );
  const sold = new Map<string, number>();
  for (const order of orders) for (const line of order.basket.filter(isGood)) sold.set(line.product.id, (sold.get(line.product.id) ?? 0) + line.quantity);
  const stockAfter = await stockLevels(stack);
  for (const [productId, quantity] of sold) {
    const before = stockBefore.get(productId)!;
    expect({ productId, ...stockAfter.get(productId) }).toEqual({ productId, onHand: before.onHand - quantity, reserved: 0 });
  }

  // events: each saga event recorded once per order by its producer, applied once by its consumer.
  const perOrder = (type: string) => Object.fromEntries(ids.map((id) => [`${type} ${id}`, 1]));
  const outboxOf = async (subgraph: SubgraphName, types: string[]) =>
    countBy(
      await query<{ type: string; order_id: string }>(stack, subgraph, `select "type", "data"->>'orderId' as "order_id" from "outbox" where "type" = any($1)`, [types]),
      (row) => `${row.type} ${row.order_id}`,
    );
  expect(await outboxOf('orders', ['OrderPlaced', 'PaymentRequested', 'OrderConfirmed', 'OrderCancelled'])).toEqual({
    ...perOrder('OrderPlaced'),
    ...perOrder('PaymentRequested'),
    ...perOrder('OrderConfirmed'),
  });
  expect(await outboxOf('inventory', ['StockReserved', 'StockRejected', 'ReservationExpired'])).toEqual(perOrder('StockReserved'));
  expect(await outboxOf('payments', ['PaymentSucceeded', 'PaymentFailed'])).toEqual(perOrder('PaymentSucceeded'));

  const inboxOf = async (subgraph: SubgraphName, types: string[]) =>
    Object.fromEntries(
      (await query<{ type: string; count: string }>(stack, subgraph, `select "type", count(*) from "inbox" where "type" = any($1) group by "type"`, [types])).map((row) => [
        row.type,
        Number(row.count),
      ]),
    );
  expect(await inboxOf('orders', ['StockReserved', 'StockRejected', 'PaymentSucceeded', 'PaymentFailed'])).toEqual({ StockReserved: ORDERS, PaymentSucceeded: ORDERS });
  expect(await inboxOf('payments', ['PaymentRequested', 'OrderCancelled'])).toEqual({ PaymentRequested: ORDERS });
  expect(await inboxOf('inventory', ['OrderPlaced', 'OrderConfirmed', 'OrderCancelled'])).toEqual({ OrderPlaced: ORDERS, OrderConfirmed: ORDERS });

  // Nothing gave up: no job of any subgraph's queue is in the failed set.
  for (const subgraph of SUBGRAPH_NAMES) {
    expect({ subgraph, failed: await listFailed(stack.redisUrl, subgraph, { prefix: stack.eventsPrefix }) }).toEqual({ subgraph, failed: [] });
  }
}

describe('checkout sagas survive faults (development payment provider)', () => {
  describe('payments stopped mid-saga', () => {
    let stack: Stack;

    beforeAll(async () => {
      stack = await startStack();
    });

    afterAll(async () => {
      await stack?.close();
    });

    it('parks orders in AWAITING_PAYMENT while payments is down, then pays each exactly once', async () => {
      const stockBefore = await stockLevels(stack);
      const first = await placeWave(stack, 0, FIRST_WAVE);
      await stack.stopSubgraph('payments');

      // Placed while payments is down: their PaymentRequested waits in payments' queue.
      const second = await placeWave(stack, FIRST_WAVE, ORDERS);
      await eventually(() => statuses(stack, second), (seen) => seen.every((status) => status === 'AWAITING_PAYMENT'), 'orders awaiting payment', RECOVERY_TIMEOUT_MS);
      const secondIds = new Set(second.map((order) => order.id));
      const waitingEvents = async () => (await withQueue(stack, 'payments', (queue) => queue.getJobs(['waiting']))).flatMap((job) => eventsOfJob(job.data) as EventEnvelope[]);
      const parked = await eventually(
        waitingEvents,
        (events) => events.filter((event) => secondIds.has(event.data.orderId as string)).length === second.length,
        'PaymentRequested waiting in the queue of the stopped payments',
        RECOVERY_TIMEOUT_MS,
      );
      expect(new Set(parked.filter((event) => secondIds.has(event.data.orderId as string)).map((event) => event.type))).toEqual(new Set(['PaymentRequested']));
      expect(await query(stack, 'payments', `select "id" from "payment" where "order_id" = any($1)`, [second.map((order) => order.id)])).toEqual([]);

      await stack.startSubgraph('payments');
      const all = [...first, ...second];
      await recovered(stack, all);
      await expectEachSagaExactlyOnce(stack, all, stockBefore);
    });
  });

  describe('orders stopped mid-saga', () => {
    let stack: Stack;

    beforeAll(async () => {
      stack = await startStack();
    });

    afterAll(async () => {
      await stack?.close();
    });

    it('resumes from its outbox and its queue after a restart, each saga exactly once', async () => {
      const stockBefore = await stockLevels(stack);
      const first = await placeWave(stack, 0, FIRST_WAVE);
      // The process stops in two steps, as one that dies between committing and publishing: its
      // relay goes first, so the second wave is accepted (committed with its OrderPlaced) but never
      // published; then the whole process (HTTP, consumer, ORM) while the first wave is under way.
      await stack.server('orders').relay!.stop();
      const second = await placeWave(stack, FIRST_WAVE, ORDERS);
      await stack.stopSubgraph('orders');

      const unpublished = await query<{ order_id: string }>(
        stack,
        'orders',
        `select "data"->>'orderId' as "order_id" from "outbox" where "type" = 'OrderPlaced' and "published_at" is null`,
      );
      expect(unpublished.map((row) => row.order_id)).toEqual(expect.arrayContaining(second.map((order) => order.id)));
      const whileDown = await stack.request(OrderDocument, { id: first[0]!.id }, first[0]!.token);
      expect(whileDown.errors).toBeDefined();

      await stack.startSubgraph('orders');
      const all = [...first, ...second];
      await recovered(stack, all);
      await expectEachSagaExactlyOnce(stack, all, stockBefore);
    });
  });

  describe('Redis killed mid-saga', () => {
    let redis: RedisProcess;
    let stack: Stack;

    beforeAll(async () => {
      redis = await RedisProcess.start();
      stack = await startStack({ redisUrl: redis.url });
    });

    afterAll(async () => {
      // Closing the workers needs their Redis: bring it back if the test left it dead.
      if (redis && !redis.running) await redis.restart();
      await stack?.close();
      await redis?.stop();
    });

    it('loses nothing across SIGKILL and restart (append-only file), each saga exactly once', async () => {
      const stockBefore = await stockLevels(stack);
      const first = await placeWave(stack, 0, FIRST_WAVE);
      await redis.kill();

      // Checkouts only need Postgres: accepted while Redis is down, their OrderPlaced waits in the outbox.
      const second = await placeWave(stack, FIRST_WAVE, ORDERS);
      const unpublished = await query<{ order_id: string }>(
        stack,
        'orders',
        `select "data"->>'orderId' as "order_id" from "outbox" where "type" = 'OrderPlaced' and "published_at" is null`,
      );
      expect(unpublished.map((row) => row.order_id)).toEqual(expect.arrayContaining(second.map((order) => order.id)));

      await redis.restart();
      const all = [...first, ...second];
      await recovered(stack, all);
      await expectEachSagaExactlyOnce(stack, all, stockBefore);
    });
  });
});
