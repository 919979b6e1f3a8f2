import { randomUUID } from 'node:crypto';
import { badInput, outboxInsertSql, type EntityManager } from '../../../kit/src';
import { MAX_AMOUNT } from '../shared/money.type';
import { OrderStatus } from './order-state';
import { OrderEntity } from './order.entity';
import { ORDER_PLACED, orderPlacedData, ORDERS_EVENT_SOURCE } from './order.outbox';

/**
 * Checkout's transaction in raw SQL, five statements (the ORM took twelve): checkout is the hot
 * path of the saga's first step. The rules are the ORM version's: the cart row lock serializes
 * a user's cart changes and checkouts, prices come from the product snapshots, the unique
 * (user_id, idempotency_key) refuses a second order for a key.
 */

/** A cart line joined with its product snapshot (all null for an empty cart's single row), and the order already placed with the key. */
interface CheckoutRow {
  previous_id: string | null;
  id: string | null;
  product_id: string | null;
  quantity: number | null;
  sku: string | null;
  name: string | null;
  kind: string | null;
  price_amount: number | null;
  currency: string | null;
  active: boolean | null;
}

/**
 * Turns the user's cart into a PENDING order with its lines, first history entry and OrderPlaced,
 * and empties the cart, in `tx`. `placed` is false when the key names an order placed before (returned as it is).
 */
export async function placeOrder(
  tx: EntityManager,
  input: { userId: string; idempotencyKey: string; paymentMethod: string },
): Promise<{ order: OrderEntity; placed: boolean }> {
  const { userId, idempotencyKey, paymentMethod } = input;
  const [cart] = await tx.execute<{ id: string }[]>('select "id" from "cart" where "user_id" = ? for update', [userId]);
  // After the cart lock: the order placed with this key, if any, and the cart's lines with their snapshots.
  const rows = await tx.execute<CheckoutRow[]>(
    `select (select o."id" from "orders" o where o."user_id" = ? and o."idempotency_key" = ?) as "previous_id",
            l."id", l."product_id", l."quantity", s."sku", s."name", s."kind", s."price_amount", s."currency", s."active"
       from (select 1) as "one"
       left join ("cart_line" l left join "product_snapshot" s on s."product_id" = l."product_id") on l."cart_id" = ?
      order by l."added_at", l."id"`,
    [userId, idempotencyKey, cart?.id ?? null],
  );
  const previousId = rows[0]?.previous_id ?? null;
  if (previousId) return { order: await tx.findOneOrFail(OrderEntity, { id: previousId }), placed: false };
  const items = rows.filter((row) => row.id !== null);
  if (!cart || items.length === 0) throw badInput('Your cart is empty', 'cart');
  for (const item of items) {
    if (!item.active) throw badInput(`Product ${item.product_id} is no longer for sale; remove it from your cart`, 'cart');
  }
  const currencies = [...new Set(items.map((item) => item.currency!))];
  if (currencies.length > 1) throw badInput(`Your cart mixes currencies (${currencies.join(', ')}); an order has one currency`, 'cart');
  const total = items.reduce((sum, item) => sum + Number(item.price_amount) * Number(item.quantity), 0);
  if (total > MAX_AMOUNT) throw badInput('The order total is too large', 'cart');

  const now = new Date();
  // Not managed by `tx`: the rows are written below.
  const order = Object.assign(new OrderEntity(), {
    userId,
    status: OrderStatus.PENDING,
    totalAmount: total,
    currency: currencies[0]!,
    paymentMethod,
    idempotencyKey,
    createdAt: now,
    updatedAt: now,
  });
  const lines = items.map((item, position) => ({
    id: randomUUID(),
    position,
    productId: item.product_id!,
    sku: item.sku!,
    name: item.name,
    kind: item.kind!,
    quantity: Number(item.quantity),
    unitAmount: Number(item.price_amount),
    currency: item.currency!,
  }));
  const outbox = outboxInsertSql(ORDERS_EVENT_SOURCE, [{ type: ORDER_PLACED, subject: order.id, data: orderPlacedData(order, lines) }], 'o');
  const params: unknown[] = [order.id, order.userId, order.status, order.totalAmount, order.currency, order.paymentMethod, order.idempotencyKey, order.version, now, now];
  const lineRows = lines.map((line) => {
    params.push(line.id, line.position, line.productId, line.sku, line.name, line.kind, line.quantity, line.unitAmount, line.currency);
    return '(?::uuid, ?::int, ?::varchar, ?::varchar, ?::varchar, ?::varchar, ?::int, ?::int, ?::varchar)';
  });
  params.push(order.status, now, ...outbox.params, items.map((item) => item.id!), now, cart.id);
  await tx.execute(
    `with "o" as (insert into "orders" ("id", "user_id", "status", "total_amount", "currency", "payment_method", "idempotency_key", "version", "created_at", "updated_at")
                  values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning "id"),
          "l" as (insert into "order_line" ("id", "order_id", "position", "product_id", "sku", "name", "kind", "quantity", "unit_amount", "currency")
                  select v."id", "o"."id", v."position", v."product_id", v."sku", v."name", v."kind", v."quantity", v."unit_amount", v."currency"
                    from "o" cross join (values ${lineRows.join(', ')}) as v("id", "position", "product_id", "sku", "name", "kind", "quantity", "unit_amount", "currency")),
          "h" as (insert into "order_history" ("order_id", "status", "reason", "at") select "o"."id", ?, null, ? from "o"),
          "e" as (${outbox.sql}),
          "d" as (delete from "cart_line" where "id" in (?)),
          "c" as (update "cart" set "updated_at" = ? where "id" = ?)
     select count(*)::int as "n" from "o"`,
    params,
  );
  return { order, placed: true };
}
