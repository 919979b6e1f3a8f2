import { LockMode, QueryOrder } from '@mikro-orm/core';
import { badInput, conflict, type EntityManager, forbidden, groupedBy, notFound, recordEvent, type RequestContext, requireRole, requireUuid, requireViewer } from '../../../kit/src';
import { ProductKind } from '../product/product-kind';
import { requireProductId } from '../shared/ids';
import { OrderStatus } from '../order/order-state';
import type { OrderEntity, OrderLineEntity } from '../order/order.entity';
import { ORDERS_EVENT_SOURCE } from '../order/order.outbox';
import { appendHistory, lockOrder, orderLines } from '../order/order.transitions';
import { MAX_LINE_QUANTITY } from '../cart/cart.input';
import { OrderReturnEntity, ReturnStatus, type ReturnLineData } from './return.entity';
import { MAX_RETURN_LINES, MAX_RETURN_REASON_LENGTH, type ReturnLineInput } from './return.input';
import { toOrderReturn, type OrderReturn } from './return.type';

export const RETURN_APPROVED = 'ReturnApproved';

/** `ReturnApproved` (subject: order id) → payments refunds `amount` of `paymentId`; inventory restocks the lines. */
export interface ReturnApprovedData {
  orderId: string;
  returnId: string;
  userId: string;
  paymentId: string | null;
  lines: { productId: string; kind: string; quantity: number }[];
  amount: number;
  currency: string;
}

/** Returns count against what was ordered while REQUESTED or APPROVED. */
const OPEN_OR_APPROVED = [ReturnStatus.REQUESTED, ReturnStatus.APPROVED];

function readReason(raw: string | null | undefined, required: boolean): string | null {
  const reason = raw?.trim() ?? '';
  if (reason === '') {
    if (required) throw badInput('reason must not be blank', 'reason');
    return null;
  }
  if (reason.length > MAX_RETURN_REASON_LENGTH) throw badInput(`reason must be at most ${MAX_RETURN_REASON_LENGTH} characters`, 'reason');
  return reason;
}

/** The requested lines, checked before anything touches the database: one entry per product, 1..100 units. */
export function readReturnLines(lines: readonly ReturnLineInput[]): { productId: string; quantity: number }[] {
  if (lines.length === 0) throw badInput('lines must name at least one product', 'lines');
  if (lines.length > MAX_RETURN_LINES) throw badInput(`lines must name at most ${MAX_RETURN_LINES} products`, 'lines');
  const seen = new Set<string>();
  return lines.map((line) => {
    const productId = requireProductId(line.productId, 'lines.productId');
    if (seen.has(productId)) throw badInput(`Product ${productId} is listed twice`, 'lines');
    seen.add(productId);
    if (!Number.isInteger(line.quantity) || line.quantity < 1 || line.quantity > MAX_LINE_QUANTITY) {
      throw badInput(`quantity must be between 1 and ${MAX_LINE_QUANTITY}`, 'lines.quantity');
    }
    return { productId, quantity: line.quantity };
  });
}

/**
 * Returns of delivered goods. The customer requests one for a FULFILLED order (goods only, never more
 * units than were ordered across all open and approved returns); an ADMIN approves it, which emits
 * `ReturnApproved` for the refund and the restock, or rejects it. The order's status does not change;
 * each step is a note in its history. Every step locks the order row, so concurrent requests cannot
 * together return more than was bought.
 */
export class ReturnService {
  async request(ctx: RequestContext, rawOrderId: string, rawLines: readonly ReturnLineInput[], rawReason: string): Promise<OrderReturn> {
    const viewer = requireViewer(ctx.viewer);
    const orderId = requireUuid(rawOrderId, 'orderId');
    const requested = readReturnLines(rawLines);
    const reason = readReason(rawReason, true)!;
    const created = await ctx.em.transactional(async (tx) => {
      const order = await lockOrder(tx, orderId);
      if (!order || (order.userId !== viewer.id && viewer.role !== 'ADMIN')) throw notFound('Order', orderId);
      if (order.userId !== viewer.id) throw forbidden('Only the customer who placed an order can return goods from it');
      if (order.status !== OrderStatus.FULFILLED) throw conflict(`Order ${orderId} is ${order.status}; only delivered (FULFILLED) orders take returns`);
      const ordered = new Map((await orderLines(tx, orderId)).map((line) => [line.productId, line] as const));
      const returned = await this.returnedUnits(tx, orderId);
      const lines: ReturnLineData[] = requested.map(({ productId, quantity }) => {
        const line = ordered.get(productId);
        if (!line) throw badInput(`Product ${productId} is not part of order ${orderId}`, 'lines.productId');
        if (line.kind !== ProductKind.GOOD) throw badInput(`Product ${productId} is digital and cannot be returned`, 'lines.productId');
        const left = line.quantity - (returned.get(productId) ?? 0);
        if (quantity > left) throw badInput(`Only ${left} units of product ${productId} can still be returned`, 'lines.quantity');
        return { productId, quantity, unitAmount: line.unitAmount };
      });
      const entity = tx.create(OrderReturnEntity, {
        orderId,
        userId: order.userId,
        status: ReturnStatus.REQUESTED,
        reason,
        lines,
        refundAmount: lines.reduce((sum, line) => sum + line.unitAmount * line.quantity, 0),
        currency: order.currency,
        createdAt: new Date(),
      });
      tx.persist(entity);
      order.updatedAt = new Date();
      appendHistory(tx, order, `RETURN_REQUESTED: return ${entity.id}`);
      return entity;
    });
    return toOrderReturn(created);
  }

  /** ADMIN: approves a REQUESTED return and emits ReturnApproved; CONFLICT once decided. */
  async approve(ctx: RequestContext, rawId: string): Promise<OrderReturn> {
    const admin = requireRole(ctx.viewer, 'ADMIN');
    const id = requireUuid(rawId);
    return toOrderReturn(
      await this.decide(ctx, id, async (tx, order, entity) => {
        entity.status = ReturnStatus.APPROVED;
        entity.decidedBy = admin.id;
        appendHistory(tx, order, `RETURN_APPROVED: return ${entity.id}`);
        const kinds = new Map((await orderLines(tx, order.id)).map((line: OrderLineEntity) => [line.productId, line.kind] as const));
        const data: ReturnApprovedData = {
          orderId: order.id,
          returnId: entity.id,
          userId: order.userId,
          paymentId: order.paymentId,
          lines: entity.lines.map((line) => ({ productId: line.productId, kind: kinds.get(line.productId) ?? ProductKind.GOOD, quantity: line.quantity })),
          amount: entity.refundAmount,
          currency: entity.currency,
        };
        recordEvent(tx, ORDERS_EVENT_SOURCE, RETURN_APPROVED, order.id, { ...data });
      }),
    );
  }

  /** ADMIN: rejects a REQUESTED return with an optional note for the customer; CONFLICT once decided. */
  async reject(ctx: RequestContext, rawId: string, rawNote: string | null | undefined): Promise<OrderReturn> {
    const admin = requireRole(ctx.viewer, 'ADMIN');
    const id = requireUuid(rawId);
    const note = readReason(rawNote, false);
    return toOrderReturn(
      await this.decide(ctx, id, async (tx, order, entity) => {
        entity.status = ReturnStatus.REJECTED;
        entity.decidedBy = admin.id;
        entity.decisionNote = note;
        appendHistory(tx, order, `RETURN_REJECTED: return ${entity.id}`);
      }),
    );
  }

  /** ADMIN: returns by status, oldest first. */
  async list(ctx: RequestContext, status: ReturnStatus | null | undefined, first: number | null | undefined): Promise<OrderReturn[]> {
    requireRole(ctx.viewer, 'ADMIN');
    const limit = first ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw badInput('first must be between 1 and 100', 'first');
    const rows = await ctx.em.find(OrderReturnEntity, status ? { status } : {}, { orderBy: { createdAt: QueryOrder.ASC, id: QueryOrder.ASC }, limit });
    return rows.map(toOrderReturn);
  }

  /** `Order.returns`, batched; only reached through an order the viewer may see. */
  ofOrder(ctx: RequestContext, orderId: string): Promise<OrderReturn[]> {
    return ctx.loaders
      .get<string, OrderReturn[]>('order.returns', async (ids) => {
        const rows = await ctx.em.find(OrderReturnEntity, { orderId: { $in: [...ids] } }, { orderBy: { createdAt: QueryOrder.ASC, id: QueryOrder.ASC } });
        return groupedBy(ids, rows, (row) => row.orderId).map((group) => group.map(toOrderReturn));
      })
      .load(orderId);
  }

  private async decide(
    ctx: RequestContext,
    id: string,
    apply: (tx: EntityManager, order: OrderEntity, entity: OrderReturnEntity) => Promise<void>,
  ): Promise<OrderReturnEntity> {
    return ctx.em.transactional(async (tx) => {
      const found = await tx.findOne(OrderReturnEntity, { id });
      if (!found) throw notFound('Return', id);
      // The order first, then the return: the same lock order as `request`.
      const order = (await lockOrder(tx, found.orderId))!;
      const entity = await tx.findOneOrFail(OrderReturnEntity, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
      if (entity.status !== ReturnStatus.REQUESTED) throw conflict(`Return ${id} is already ${entity.status}`);
      entity.decidedAt = new Date();
      order.updatedAt = entity.decidedAt;
      await apply(tx, order, entity);
      return entity;
    });
  }

  private async returnedUnits(tx: EntityManager, orderId: string): Promise<Map<string, number>> {
    const returns = await tx.find(OrderReturnEntity, { orderId, status: { $in: OPEN_OR_APPROVED } });
    const units = new Map<string, number>();
    for (const entity of returns) for (const line of entity.lines) units.set(line.productId, (units.get(line.productId) ?? 0) + line.quantity);
    return units;
  }
}
