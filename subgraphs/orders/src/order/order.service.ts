import { QueryOrder, UniqueConstraintViolationException } from '@mikro-orm/core';
import { badInput, conflict, decodeCursor, encodeCursor, forbidden, groupedBy, isUuid, notFound, orderedBy, type RequestContext, requireRole, requireUuid, requireViewer, unauthenticated, type Viewer } from '../../../kit/src';
import { ProductKind } from '../product/product-kind';
import { CANCELLABLE, CancelReason, OrderStatus } from './order-state';
import { OrderEntity, OrderHistoryEntity, OrderLineEntity } from './order.entity';
import {
  DEFAULT_ORDERS_PAGE,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  MAX_PAYMENT_METHOD_LENGTH,
  MAX_TRACKING_NUMBER_LENGTH,
  MIN_IDEMPOTENCY_KEY_LENGTH,
  type CheckoutInput,
} from './order.input';
import type { SagaMetrics } from './order.metrics';
import { placeOrder } from './order.checkout';
import { applyTransition, cancelLockedOrder, lockOrder, orderLines } from './order.transitions';
import { recordOrderShipped } from './order.outbox';
import { toHistoryEntry, toOrder, toOrderLine, type Order, type OrderConnection, type OrderHistoryEntry, type OrderLine } from './order.type';
import type { OrderUpdates } from './order.updates';

export interface OrderServiceOptions {
  ordersMaxPage: number;
  metrics?: SagaMetrics;
  /** Where committed status changes are published (`orderUpdated`); none when only printing SDL. */
  updates?: OrderUpdates;
}

const isAdmin = (viewer: Viewer | null): boolean => viewer?.role === 'ADMIN';
const canRead = (viewer: Viewer | null, order: OrderEntity): boolean => viewer !== null && (viewer.id === order.userId || isAdmin(viewer));

/** The checkout rules on the input, checked before anything touches the database. */
export function assertCheckoutInput(input: CheckoutInput): void {
  const key = input.idempotencyKey;
  if (key.length < MIN_IDEMPOTENCY_KEY_LENGTH || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || key.trim() === '') {
    throw badInput(`idempotencyKey must be ${MIN_IDEMPOTENCY_KEY_LENGTH} to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`, 'idempotencyKey');
  }
  if (input.paymentMethod.trim() === '' || input.paymentMethod.length > MAX_PAYMENT_METHOD_LENGTH) {
    throw badInput(`paymentMethod must be 1 to ${MAX_PAYMENT_METHOD_LENGTH} characters`, 'paymentMethod');
  }
}

/**
 * Orders: checkout, reads and the actions of customers and admins. Access rule: an order is
 * visible to its owner and ADMINs only; to anyone else it does not exist (NOT_FOUND), so ids
 * cannot be probed.
 */
export class OrderService {
  constructor(private readonly options: OrderServiceOptions) {}

  /**
   * Turns the viewer's cart into a PENDING order priced from the product snapshots, writes
   * `OrderPlaced` to the outbox and empties the cart, all in one transaction. The cart row lock
   * serializes checkouts of one user, so a repeated idempotency key finds the first order.
   */
  async checkout(ctx: RequestContext, input: CheckoutInput): Promise<Order> {
    const viewer = requireViewer(ctx.viewer);
    assertCheckoutInput(input);
    const { idempotencyKey } = input;
    const paymentMethod = input.paymentMethod.trim();
    try {
      let placed = false;
      const order = await ctx.em.transactional(async (tx) => {
        // Raw SQL in five statements (order.checkout.ts): checkout is the hot path of the saga's first step.
        const result = await placeOrder(tx, { userId: viewer.id, idempotencyKey, paymentMethod });
        placed = result.placed;
        return result.order;
      });
      // A repeated idempotency key changed nothing: nothing to publish.
      if (placed) this.options.updates?.publish(order);
      return toOrder(order);
    } catch (error) {
      // Belt and braces: the unique (user_id, idempotency_key) decides if two checkouts ever race past the lock.
      if (!(error instanceof UniqueConstraintViolationException)) throw error;
      const previous = await ctx.em.fork().findOne(OrderEntity, { userId: viewer.id, idempotencyKey });
      if (!previous) throw error;
      return toOrder(previous);
    }
  }

  /** `order(id)`: the owner's or, for ADMINs, anyone's; NOT_FOUND otherwise. */
  async order(ctx: RequestContext, rawId: string): Promise<Order> {
    const viewer = requireViewer(ctx.viewer);
    const id = requireUuid(rawId);
    const order = await this.byId(ctx).load(id);
    if (!order || !canRead(viewer, order)) throw notFound('Order', id);
    return toOrder(order);
  }

  /** `_entities` for Order: null for unknown ids and for orders the viewer may not see. */
  async reference(ctx: RequestContext, id: string): Promise<Order | null> {
    if (!isUuid(id)) return null;
    const order = await this.byId(ctx).load(id.toLowerCase());
    return order && canRead(ctx.viewer, order) ? toOrder(order) : null;
  }

  /** `User.orders`: newest first; only the user themself and ADMINs (FORBIDDEN for anyone else). */
  async ordersOf(ctx: RequestContext, userId: string, first: number | null | undefined, after: string | null | undefined): Promise<OrderConnection> {
    if (!ctx.viewer) throw unauthenticated();
    if (ctx.viewer.id !== userId && !isAdmin(ctx.viewer)) throw forbidden("Only the user themself sees their orders");
    const max = this.options.ordersMaxPage;
    const size = first ?? Math.min(DEFAULT_ORDERS_PAGE, max);
    if (!Number.isInteger(size) || size < 1 || size > max) throw badInput(`first must be between 1 and ${max}`, 'first');
    const position = after ? decodeCursor(after) : null;
    const where = position
      ? { userId, $or: [{ createdAt: { $lt: position.at } }, { createdAt: position.at, id: { $lt: position.id } }] }
      : { userId };
    const rows = await ctx.em.find(OrderEntity, where, { orderBy: [{ createdAt: QueryOrder.DESC }, { id: QueryOrder.DESC }], limit: size + 1 });
    const page = rows.slice(0, size);
    const edges = page.map((row) => ({ cursor: encodeCursor({ at: row.createdAt, id: row.id }), node: toOrder(row) }));
    return {
      edges,
      pageInfo: {
        hasNextPage: rows.length > size,
        hasPreviousPage: Boolean(after),
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges[edges.length - 1]?.cursor ?? null,
      },
    };
  }

  /** The owner cancels before payment: CANCELLED (CUSTOMER) and OrderCancelled; CONFLICT once paid or cancelled. */
  async cancel(ctx: RequestContext, rawId: string): Promise<Order> {
    const viewer = requireViewer(ctx.viewer);
    const id = requireUuid(rawId);
    const order = await ctx.em.transactional(async (tx) => {
      const order = await lockOrder(tx, id);
      if (!order || !canRead(viewer, order)) throw notFound('Order', id);
      if (order.userId !== viewer.id) throw forbidden('Only the customer who placed an order can cancel it');
      if (!CANCELLABLE.includes(order.status)) throw conflict(`Order ${id} is ${order.status}; only PENDING or AWAITING_PAYMENT orders can be cancelled`);
      await cancelLockedOrder(tx, order, CancelReason.CUSTOMER, this.options.metrics);
      return order;
    });
    this.options.updates?.publish(order);
    ctx.log.info({ orderId: id }, 'order cancelled by the customer');
    return toOrder(order);
  }

  /** ADMIN: a PAID order with goods leaves the warehouse. */
  async ship(ctx: RequestContext, rawId: string, rawTrackingNumber: string): Promise<Order> {
    requireRole(ctx.viewer, 'ADMIN');
    const id = requireUuid(rawId);
    const trackingNumber = rawTrackingNumber.trim();
    if (trackingNumber === '' || trackingNumber.length > MAX_TRACKING_NUMBER_LENGTH) {
      throw badInput(`trackingNumber must be 1 to ${MAX_TRACKING_NUMBER_LENGTH} characters`, 'trackingNumber');
    }
    const order = await ctx.em.transactional(async (tx) => {
      const order = await lockOrder(tx, id);
      if (!order) throw notFound('Order', id);
      if (order.status !== OrderStatus.PAID) throw conflict(`Order ${id} is ${order.status}; only PAID orders can be shipped`);
      const lines = await orderLines(tx, id);
      if (!lines.some((line) => line.kind === ProductKind.GOOD)) throw conflict(`Order ${id} has no goods to ship`);
      order.trackingNumber = trackingNumber;
      applyTransition(tx, order, OrderStatus.SHIPPED, { reason: `TRACKING: ${trackingNumber}` });
      recordOrderShipped(tx, order);
      return order;
    });
    this.options.updates?.publish(order);
    return toOrder(order);
  }

  /** ADMIN: a SHIPPED order arrived. History gets DELIVERED, and the order is FULFILLED. */
  async markDelivered(ctx: RequestContext, rawId: string): Promise<Order> {
    requireRole(ctx.viewer, 'ADMIN');
    const id = requireUuid(rawId);
    const order = await ctx.em.transactional(async (tx) => {
      const order = await lockOrder(tx, id);
      if (!order) throw notFound('Order', id);
      if (order.status !== OrderStatus.SHIPPED) throw conflict(`Order ${id} is ${order.status}; only SHIPPED orders can be delivered`);
      const at = new Date();
      applyTransition(tx, order, OrderStatus.DELIVERED, { at });
      applyTransition(tx, order, OrderStatus.FULFILLED, { at });
      return order;
    });
    this.options.updates?.publish(order);
    return toOrder(order);
  }

  /** An order as committed now, for `orderUpdated` (access was checked when the client subscribed). */
  async current(ctx: RequestContext, id: string): Promise<Order> {
    const order = await ctx.em.findOne(OrderEntity, { id }, { refresh: true });
    if (!order) throw notFound('Order', id);
    return toOrder(order);
  }

  lines(ctx: RequestContext, orderId: string): Promise<OrderLine[]> {
    return ctx.loaders
      .get<string, OrderLine[]>('order.lines', async (ids) => {
        const rows = await ctx.em.find(OrderLineEntity, { orderId: { $in: [...ids] } }, { orderBy: { orderId: QueryOrder.ASC, position: QueryOrder.ASC } });
        return groupedBy(ids, rows, (row) => row.orderId).map((group) => group.map(toOrderLine));
      })
      .load(orderId);
  }

  history(ctx: RequestContext, orderId: string): Promise<OrderHistoryEntry[]> {
    return ctx.loaders
      .get<string, OrderHistoryEntry[]>('order.history', async (ids) => {
        const rows = await ctx.em.find(OrderHistoryEntity, { orderId: { $in: [...ids] } }, { orderBy: { id: QueryOrder.ASC } });
        return groupedBy(ids, rows, (row) => row.orderId).map((group) => group.map(toHistoryEntry));
      })
      .load(orderId);
  }

  private byId(ctx: RequestContext) {
    return ctx.loaders.get<string, OrderEntity | null>('order.byId', async (ids) => {
      const rows = await ctx.em.find(OrderEntity, { id: { $in: [...ids] } });
      return orderedBy(ids, rows, (row) => row.id);
    });
  }
}

