import { randomUUID } from 'node:crypto';
import { LockMode, QueryOrder } from '@mikro-orm/core';
import {
  AppError,
  badInput,
  outboxInsertSql,
  type OutboxInsert,
  conflict,
  groupedBy,
  notFound,
  orderedBy,
  requireRole,
  requireViewer,
  type EntityManager,
  type Logger,
  type RequestContext,
  type Viewer,
} from '../../../kit/src';
import type { EventHandlerHooks } from '../../../kit/src/events';
import { OrderCancellationEntity } from './order-cancellation.entity';
import { PaymentEntity } from './payment.entity';
import {
  cancellationRefundIdempotencyKey,
  cancellationRefundIdFor,
  parseOrderCancelled,
  parsePaymentRequested,
  parseReturnApproved,
  paymentCancelIdempotencyKey,
  paymentIdempotencyKey,
  paymentIdFor,
  PAYMENT_FAILED,
  PAYMENT_SUCCEEDED,
  PAYMENTS_EVENT_SOURCE,
  recordPaymentFailed,
  recordPaymentSucceeded,
  recordRefundFailed,
  recordRefundIssued,
  refundIdempotencyKey,
  RefundRefusedError,
  returnRefundIdempotencyKey,
  returnRefundIdFor,
  type PaymentFailedData,
  type PaymentRequestedData,
  type PaymentSucceededData,
} from './payment.events';
import { MAX_AMOUNT, MAX_REFUND_REASON_LENGTH } from './payment.input';
import type { PaymentMetrics } from './payment.metrics';
import { ProviderRejectedError, ProviderUnavailableError, type PaymentAttempt, type PaymentProvider, type ProviderRefund, type RefundAttempt } from './payment.provider';
import {
  CANCELLABLE_STATUSES,
  isPaid,
  paymentAdvances,
  PaymentStatus,
  REFUNDABLE_STATUSES,
  refundAdvances,
  RefundStatus,
  refundStatusFromStripe,
  statusAfterRefunds,
} from './payment-status';
import type { Payment, Refund } from './payment.type';
import { RefundEntity } from './refund.entity';
import type { StripeEventOutcome } from './stripe-event.entity';
import { StripeEventEntity } from './stripe-event.entity';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `requestedBy` of the refunds the order saga asks for (approved returns, cancelled orders). */
export const SAGA_REFUND_REQUESTER = 'orders';
/** `failureReason` of a payment stopped because its order was cancelled. */
export const ORDER_CANCELLED_REASON = 'order_cancelled';

/** What an OrderCancelled did to the order's payment. */
export type OrderCancelledOutcome = 'no_payment' | 'cancelled' | 'refunded' | 'already_refunded' | 'nothing_to_refund' | 'unchanged';

/** A refund the saga asks for: its id and idempotency key derive from what caused it. */
interface SagaRefund {
  refundId: string;
  returnId: string | null;
  amount: number;
  reason: string;
}

/** Provider calls a transaction owes, made once it has committed: refunds to send and PaymentIntents to cancel (by payment id). */
interface ProviderFollowUps {
  refunds: string[];
  cancels: string[];
}

const providerFollowUps = (): ProviderFollowUps => ({ refunds: [], cancels: [] });

/** The provider's idempotency key of a refund: from the return or the cancelled order it is for, else from its own id (admin refunds). */
const refundIdempotencyKeyOf = (refund: RefundEntity, payment: PaymentEntity): string => {
  if (refund.returnId !== null) return returnRefundIdempotencyKey(refund.returnId);
  if (refund.id === cancellationRefundIdFor(payment.orderId)) return cancellationRefundIdempotencyKey(payment.orderId);
  return refundIdempotencyKey(refund.id);
};

/** Runs `work` in the caller's transaction (flushing what it persisted) or, without one, in a new transaction. */
async function withinTransaction<T>(em: EntityManager, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  if (!em.isInTransaction()) return em.transactional(work);
  const result = await work(em);
  await em.flush();
  return result;
}

export const toPayment = (payment: PaymentEntity): Payment => ({
  id: payment.id,
  orderId: payment.orderId,
  status: payment.status,
  amount: { amount: payment.amount, currency: payment.currency },
  provider: payment.provider,
  createdAt: payment.createdAt,
  userId: payment.userId,
  secret: payment.clientSecret,
});

export const toRefund = (refund: RefundEntity): Refund => ({
  id: refund.id,
  amount: { amount: refund.amount, currency: refund.currency },
  status: refund.status,
  reason: refund.reason,
  createdAt: refund.createdAt,
});

/** Owner or admin; everyone else sees nothing (as if the payment did not exist). */
export const canRead = (viewer: Viewer, payment: { userId: string }): boolean => viewer.role === 'ADMIN' || viewer.id === payment.userId;

/** The minimal view of a Stripe event this service acts on (`Stripe.Event`, verified by the webhook route). */
export interface StripeEventLike {
  id: string;
  type: string;
  created?: number;
  data: { object: unknown };
}

export interface StripeEventResult {
  duplicate: boolean;
  outcome: StripeEventOutcome | 'duplicate';
  paymentId: string | null;
}

type Obj = Record<string, unknown>;
const asObject = (value: unknown): Obj => (typeof value === 'object' && value !== null ? (value as Obj) : {});
const asString = (value: unknown): string | null => (typeof value === 'string' && value.length > 0 ? value : null);
/** An id or an expanded object's id (`payment_intent: "pi_…"` or `{ id: "pi_…", … }`). */
const idOf = (value: unknown): string | null => asString(value) ?? asString(asObject(value).id);

export interface PaymentServiceDeps {
  provider: PaymentProvider;
  metrics: PaymentMetrics;
  /** For work that does not come from a request (events, webhooks). */
  log: Logger;
}

/** Payments, refunds and provider outcomes. Request methods take the request context first. */
export class PaymentService {
  constructor(private readonly deps: PaymentServiceDeps) {}

  get providerName(): string {
    return this.deps.provider.name;
  }

  // ---------------------------------------------------------------- the saga: PaymentRequested

  /**
   * Handles a PaymentRequested: records the order's payment (one per order, PENDING) in the
   * caller's transaction, and asks the provider once that has committed (`charge`, through the
   * consumer's after-commit hook), so no transaction, lock or connection is held while the provider
   * answers. A request for an order that already has a decided payment changes nothing; a cancelled
   * order is never charged.
   */
  async requestPayment(em: EntityManager, data: unknown, meta: { eventId?: string } = {}, hooks?: EventHandlerHooks): Promise<PaymentEntity> {
    const request = parsePaymentRequested(data);
    const paymentId = paymentIdFor(request.orderId);
    const log = this.deps.log.child({ orderId: request.orderId, paymentId, eventId: meta.eventId });
    // In the caller's transaction when there is one (the event consumer's, with the inbox row): a
    // savepoint would add two statements and change nothing, as any failure rolls the whole event back.
    const { payment, charge } = await withinTransaction(em, async (tx) => {
      // Serialized with OrderCancelled for the same order, so one of the two always sees the other.
      await this.lockOrder(tx, request.orderId);
      const claimed = await this.claimPayment(tx, request, paymentId);
      if (claimed) {
        if (!claimed.orderCancelled) return { payment: claimed.payment, charge: true };
        this.cancelForOrder(claimed.payment, log);
        await this.writeDecision(tx, claimed.payment, null);
        return { payment: claimed.payment, charge: false };
      }

      // The order has a payment already (a redelivered or repeated request): the ORM path.
      const payment = await tx.findOneOrFail(PaymentEntity, { orderId: request.orderId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
      if (payment.status !== PaymentStatus.PENDING) {
        if (payment.amount !== request.amount || payment.currency !== request.currency) {
          log.warn({ existing: { amount: payment.amount, currency: payment.currency }, requested: request }, 'order already has a payment with another amount; nothing changed');
        } else {
          log.info({ status: payment.status }, 'payment already requested; nothing changed');
        }
        return { payment, charge: false };
      }
      if (await tx.findOne(OrderCancellationEntity, { orderId: request.orderId })) {
        this.cancelForOrder(payment, log);
        return { payment, charge: false };
      }
      // Still undecided: the first delivery's charge never finished (its process stopped, or the provider was away).
      return { payment, charge: true };
    });
    if (charge) await this.afterCommit(em, hooks, async () => void (await this.chargePending(em, payment)));
    return payment;
  }

  /** Charges payment `paymentId` if it is still PENDING (`chargePending`); returns it as it ends up. */
  async charge(em: EntityManager, paymentId: string): Promise<PaymentEntity | null> {
    const payment = await em.fork().findOne(PaymentEntity, { id: paymentId });
    return payment?.status === PaymentStatus.PENDING ? this.chargePending(em, payment) : payment;
  }

  /**
   * Asks the provider for a payment read PENDING, outside any transaction, then records the answer
   * in one statement that applies only while the payment is still PENDING (its row lock orders it
   * against OrderCancelled). A provider outage leaves the payment PENDING for `chargeStalled` to ask
   * again; the same idempotency key makes the provider answer with the same payment, so two charges
   * of one payment (a retry racing the first) take the money once and the second writes nothing.
   * An order cancelled while the provider answered is compensated: a payment the customer could
   * still complete is cancelled at the provider, money already taken is refunded.
   */
  private async chargePending(em: EntityManager, pending: PaymentEntity): Promise<PaymentEntity> {
    const log = this.deps.log.child({ orderId: pending.orderId, paymentId: pending.id });
    let attempt: PaymentAttempt;
    try {
      attempt = await this.attemptPayment(pending, log);
    } catch (error) {
      if (error instanceof ProviderUnavailableError) return pending;
      throw error;
    }
    const decided = { ...pending } as PaymentEntity;
    const event = this.applyAttempt(decided, attempt);
    if (await this.writeDecision(em.fork(), decided, event)) {
      this.deps.metrics.payments.inc({ provider: decided.provider, outcome: attempt.outcome });
      log.info({ status: decided.status, outcome: attempt.outcome }, 'payment requested');
      return decided;
    }
    // No longer PENDING: decided meanwhile (by another charge or a webhook, with the same provider
    // payment), or cancelled with its order.
    const owed = providerFollowUps();
    const payment = await em.fork().transactional(async (tx) => {
      await this.lockOrder(tx, pending.orderId);
      const payment = await tx.findOneOrFail(PaymentEntity, { id: pending.id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
      if (payment.status === PaymentStatus.CANCELLED && payment.failureReason === ORDER_CANCELLED_REASON && !payment.providerPaymentId) {
        await this.compensateCancelledCharge(tx, payment, attempt, log, owed);
      }
      return payment;
    });
    await this.sendOwed(em, owed);
    return payment;
  }

  /**
   * Asks the provider again for what a provider outage or a stopped process left undone
   * `olderThanSeconds` ago or more: charges (`chargeStalled`), refunds (`refundStalled`) and
   * PaymentIntent cancellations (`cancelStalled`). The server runs it periodically.
   */
  async retryStalled(em: EntityManager, olderThanSeconds: number): Promise<void> {
    const sweep = (name: string, run: Promise<number>) => run.catch((error: unknown) => this.deps.log.warn({ err: error, sweep: name }, 'stalled provider work sweep failed'));
    await Promise.all([
      sweep('charges', this.chargeStalled(em, olderThanSeconds)),
      sweep('refunds', this.refundStalled(em, olderThanSeconds)),
      sweep('cancellations', this.cancelStalled(em, olderThanSeconds)),
    ]);
  }

  /**
   * Claims up to `limit` rows of `table` matching `condition` whose clock (`updated_at`) is
   * `olderThanSeconds` old or more, moving it, so a row is claimed at most once per period; replicas
   * split the rows (`skip locked`). Answers their ids.
   */
  private async claimStalled(em: EntityManager, table: 'payment' | 'refund', condition: string, params: unknown[], olderThanSeconds: number, limit: number): Promise<string[]> {
    const rows = await em.fork().getConnection().execute<{ id: string }[]>(
      `update "${table}" set "updated_at" = now() where "id" in (
         select "id" from "${table}" where ${condition} and "updated_at" < now() - make_interval(secs => ?)
          order by "updated_at" limit ? for update skip locked)
       returning "id"`,
      [...params, olderThanSeconds, limit],
    );
    return rows.map((row) => row.id);
  }

  /** Asks the provider again for payments still PENDING after `olderThanSeconds`: their charge was lost. Returns how many. */
  async chargeStalled(em: EntityManager, olderThanSeconds: number, limit = 100): Promise<number> {
    const ids = await this.claimStalled(em, 'payment', `"status" = ?`, [PaymentStatus.PENDING], olderThanSeconds, limit);
    for (const id of ids) {
      await this.charge(em, id).catch((error: unknown) => this.deps.log.error({ err: error, paymentId: id }, 'charging a stalled payment failed'));
    }
    if (ids.length > 0) this.deps.log.info({ count: ids.length }, 'stalled payments asked for again');
    return ids.length;
  }

  /**
   * The order was cancelled while the provider answered (OrderCancelled found the payment PENDING
   * and marked it CANCELLED). Money taken is reported and refunded, as a late Stripe success is; a
   * payment waiting for the customer is cancelled at the provider (once committed); a refusal needs nothing.
   */
  private async compensateCancelledCharge(tx: EntityManager, payment: PaymentEntity, attempt: PaymentAttempt, log: Logger, owed: ProviderFollowUps): Promise<void> {
    payment.providerPaymentId = attempt.providerPaymentId;
    payment.updatedAt = new Date();
    if (attempt.outcome === 'succeeded') {
      await this.applySucceeded(tx, payment, true, log, owed);
      return;
    }
    if (attempt.outcome === 'requires_action') this.oweProviderCancel(payment, owed, log);
    log.info({ outcome: attempt.outcome }, 'order cancelled while the provider answered; payment stays cancelled');
  }

  /**
   * The first request of an order inserts its payment (PENDING) and gets it back, with whether the
   * order was cancelled already, in one statement (raw SQL: this is the hot path of checkout). Null
   * when the order has a payment already. Runs under `lockOrder`, so the cancellation it reads is
   * the one OrderCancelled would have written before.
   */
  private async claimPayment(tx: EntityManager, request: PaymentRequestedData, paymentId: string): Promise<{ payment: PaymentEntity; orderCancelled: boolean } | null> {
    const now = new Date();
    const payment = Object.assign(new PaymentEntity(), {
      id: paymentId,
      orderId: request.orderId,
      userId: request.userId,
      amount: request.amount,
      currency: request.currency,
      status: PaymentStatus.PENDING,
      provider: this.deps.provider.name,
      paymentMethod: request.paymentMethod,
      refundedAmount: 0,
      items: request.items ?? null,
      createdAt: now,
      updatedAt: now,
    });
    const rows: { cancelled: boolean }[] = await tx.execute(
      `insert into "payment" ("id", "order_id", "user_id", "amount", "currency", "status", "provider", "payment_method", "refunded_amount", "items", "created_at", "updated_at")
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?) on conflict ("order_id") do nothing
       returning exists (select 1 from "order_cancellation" c where c."order_id" = ?) as "cancelled"`,
      [
        payment.id,
        payment.orderId,
        payment.userId,
        payment.amount,
        payment.currency,
        payment.status,
        payment.provider,
        payment.paymentMethod,
        payment.refundedAmount,
        payment.items === null ? null : JSON.stringify(payment.items),
        now,
        now,
        request.orderId,
      ],
    );
    return rows.length === 0 ? null : { payment, orderCancelled: Boolean(rows[0]!.cancelled) };
  }

  /** OrderCancelled overtook this request (e.g. it waited for a retry): never charge a cancelled order. */
  private cancelForOrder(payment: PaymentEntity, log: Logger): void {
    payment.status = PaymentStatus.CANCELLED;
    payment.failureReason = ORDER_CANCELLED_REASON;
    payment.updatedAt = new Date();
    log.info('order already cancelled; payment not requested from the provider');
    this.deps.metrics.payments.inc({ provider: payment.provider, outcome: 'cancelled' });
  }

  /**
   * The decided fields of a payment (not managed by the ORM) and its event, in one statement that
   * applies only while the payment is PENDING; false when it no longer was.
   */
  private async writeDecision(em: EntityManager, payment: PaymentEntity, event: OutboxInsert | null): Promise<boolean> {
    let sql = `with "u" as (update "payment" set "status" = ?, "provider_payment_id" = ?, "client_secret" = ?, "failure_reason" = ?, "updated_at" = ? where "id" = ? and "status" = ? returning "id")`;
    const params: unknown[] = [payment.status, payment.providerPaymentId, payment.clientSecret, payment.failureReason, payment.updatedAt, payment.id, PaymentStatus.PENDING];
    if (event) {
      const outbox = outboxInsertSql(PAYMENTS_EVENT_SOURCE, [event], 'u');
      sql += `, "e" as (${outbox.sql})`;
      params.push(...outbox.params);
    }
    const [row] = await em.execute<{ n: number }[]>(`${sql} select count(*)::int as "n" from "u"`, params);
    return Number(row?.n) === 1;
  }

  private async attemptPayment(payment: PaymentEntity, log: Logger): Promise<PaymentAttempt> {
    try {
      return await this.deps.provider.createPayment({
        paymentId: payment.id,
        orderId: payment.orderId,
        amount: payment.amount,
        currency: payment.currency,
        paymentMethod: payment.paymentMethod,
        idempotencyKey: paymentIdempotencyKey(payment),
      });
    } catch (error) {
      if (error instanceof ProviderUnavailableError) {
        log.warn({ err: error }, 'payment provider unavailable; the payment stays PENDING and is asked for again');
        throw error;
      }
      // Refused for good or a provider bug: fail the payment (the order is cancelled) instead of retrying forever.
      log.error({ err: error }, 'payment provider error; payment failed');
      return { outcome: 'failed', reason: 'provider_error', message: (error as Error).message, providerPaymentId: null };
    }
  }

  /** Sets the payment's fields from the provider's answer; returns the event to record (none while the customer still has to act). */
  private applyAttempt(payment: PaymentEntity, attempt: PaymentAttempt): OutboxInsert | null {
    payment.updatedAt = new Date();
    payment.providerPaymentId = attempt.providerPaymentId;
    switch (attempt.outcome) {
      case 'succeeded': {
        payment.status = PaymentStatus.SUCCEEDED;
        const data: PaymentSucceededData = { orderId: payment.orderId, paymentId: payment.id, amount: payment.amount, currency: payment.currency };
        return { type: PAYMENT_SUCCEEDED, subject: payment.orderId, data };
      }
      case 'requires_action':
        payment.status = PaymentStatus.REQUIRES_ACTION;
        payment.clientSecret = attempt.clientSecret;
        return null;
      case 'failed': {
        payment.status = PaymentStatus.FAILED;
        payment.failureReason = attempt.reason.slice(0, 100);
        const data: PaymentFailedData = { orderId: payment.orderId, paymentId: payment.id, reason: payment.failureReason };
        return { type: PAYMENT_FAILED, subject: payment.orderId, data };
      }
    }
  }

  // ---------------------------------------------------------------- reads

  /** `payment(id)`: null for an unknown id and for a payment the viewer may not read. */
  async payment(ctx: RequestContext, id: string): Promise<Payment | null> {
    const viewer = requireViewer(ctx.viewer);
    if (!UUID.test(id)) return null;
    const payment = await this.byId(ctx).load(id.toLowerCase());
    return payment && canRead(viewer, payment) ? toPayment(payment) : null;
  }

  /** `Order.payment`: batched over all orders of one request; null when none or not the viewer's. */
  async paymentOfOrder(ctx: RequestContext, orderId: string): Promise<Payment | null> {
    const viewer = requireViewer(ctx.viewer);
    const payment = await this.byOrderId(ctx).load(orderId);
    return payment && canRead(viewer, payment) ? toPayment(payment) : null;
  }

  /** `Payment.refunds`, oldest first, batched over all payments of one request. */
  async refunds(ctx: RequestContext, paymentId: string): Promise<Refund[]> {
    const rows = await ctx.loaders
      .get<string, RefundEntity[]>('refundsByPayment', async (paymentIds) => {
        const refunds = await ctx.em.find(RefundEntity, { paymentId: { $in: [...paymentIds] } }, { orderBy: { createdAt: QueryOrder.ASC, id: QueryOrder.ASC } });
        return groupedBy(paymentIds, refunds, (refund) => refund.paymentId);
      })
      .load(paymentId);
    return rows.map(toRefund);
  }

  /** The client secret confirms the payment in the customer's browser: the owner's only, not even an admin's. */
  clientSecret(ctx: RequestContext, payment: Payment): string | null {
    return ctx.viewer !== null && ctx.viewer.id === payment.userId ? payment.secret : null;
  }

  private byId(ctx: RequestContext) {
    return ctx.loaders.get<string, PaymentEntity | null>('paymentById', async (ids) =>
      orderedBy(ids, await ctx.em.find(PaymentEntity, { id: { $in: [...ids] } }), (payment) => payment.id),
    );
  }

  private byOrderId(ctx: RequestContext) {
    return ctx.loaders.get<string, PaymentEntity | null>('paymentByOrderId', async (orderIds) =>
      orderedBy(orderIds, await ctx.em.find(PaymentEntity, { orderId: { $in: [...orderIds] } }), (payment) => payment.orderId),
    );
  }

  // ---------------------------------------------------------------- refunds

  /**
   * Admin: gives back part or all of a paid payment. Refunds still pending count against what is
   * refundable, so two concurrent refunds can never exceed the amount paid. The development
   * provider settles at once; Stripe's refunds stay PENDING until a webhook decides, and so does a
   * refund the provider could not be asked for now (it is asked again). A refusal is kept as a
   * FAILED refund and answered PAYMENT_FAILED.
   */
  async refund(ctx: RequestContext, input: { paymentId: string; amount: number; reason?: string | null }): Promise<Refund> {
    const viewer = requireRole(ctx.viewer, 'ADMIN');
    const reason = input.reason?.trim() || null;
    if (!UUID.test(input.paymentId)) throw badInput('paymentId must be a payment id (UUID)', 'paymentId');
    if (!Number.isInteger(input.amount) || input.amount < 1 || input.amount > MAX_AMOUNT) throw badInput('amount must be a positive integer (minor units)', 'amount');
    if (reason && reason.length > MAX_REFUND_REASON_LENGTH) throw badInput(`reason must be at most ${MAX_REFUND_REASON_LENGTH} characters`, 'reason');
    const paymentId = input.paymentId.toLowerCase();
    // Recorded before the provider is asked, under the payment's row lock: a lost answer or a
    // stopped process leaves it PENDING, and `refundStalled` asks again with the same idempotency
    // key, so the provider refunds once; no transaction waits on the provider.
    const refundId = await ctx.em.transactional(async (tx) => {
      const payment = await tx.findOne(PaymentEntity, { id: paymentId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!payment) throw notFound('Payment', paymentId);
      if (!REFUNDABLE_STATUSES.includes(payment.status)) throw conflict(`Payment ${payment.id} is ${payment.status}: only SUCCEEDED or PARTIALLY_REFUNDED payments can be refunded`);
      if (payment.provider !== this.deps.provider.name || !payment.providerPaymentId) {
        throw conflict(`Payment ${payment.id} was made with the ${payment.provider} provider, which this server does not use`);
      }
      const refundable = await this.refundableAmount(tx, payment);
      if (input.amount > refundable) {
        throw badInput(`Cannot refund ${input.amount}: only ${refundable} of ${payment.amount} ${payment.currency} is still refundable`, 'amount');
      }
      const now = new Date();
      const refund = tx.create(RefundEntity, {
        id: randomUUID(),
        paymentId: payment.id,
        amount: input.amount,
        currency: payment.currency,
        status: RefundStatus.PENDING,
        reason,
        providerRefundId: null,
        failureReason: null,
        requestedBy: viewer.id,
        createdAt: now,
        updatedAt: now,
      });
      return refund.id;
    });
    // An unexpected failure is logged and leaves the refund PENDING for the sweep, like an outage.
    await this.submitRefunds(ctx.em, [refundId]);
    const refund = await ctx.em.fork().findOneOrFail(RefundEntity, { id: refundId });
    ctx.log.info({ paymentId, refundId, amount: refund.amount, status: refund.status, by: viewer.id }, 'refund requested');
    if (refund.status === RefundStatus.FAILED) {
      throw new AppError('PAYMENT_FAILED', `The payment provider refused the refund: ${refund.failureReason}`, { refundId, reason: refund.failureReason });
    }
    return toRefund(refund);
  }

  /** What is still refundable: refunds still pending count as given, so concurrent refunds never exceed the amount paid. */
  private async refundableAmount(tx: EntityManager, payment: PaymentEntity): Promise<number> {
    const open = await tx.find(RefundEntity, { paymentId: payment.id, status: { $in: [RefundStatus.PENDING, RefundStatus.SUCCEEDED] } });
    return payment.amount - open.reduce((sum, refund) => sum + refund.amount, 0);
  }

  // ---------------------------------------------------------------- the saga: ReturnApproved, OrderCancelled

  /**
   * Handles a ReturnApproved: refunds `amount` of the order's payment, once per return: the refund
   * row's id derives from the return id (which is also unique on the row), and so does the
   * provider's idempotency key. The refund is recorded in the event's transaction and sent once it
   * has committed (`submitRefund`: an outage leaves it for the sweep, a refusal by the provider
   * fails it). Development refunds settle at once (RefundIssued); Stripe's stay PENDING until its
   * webhook decides (RefundIssued / RefundFailed then). A refund that can never be made (more than
   * is left, no or another payment) throws RefundRefusedError: logged and counted, nothing written,
   * the event left in the failed set.
   */
  async refundReturn(em: EntityManager, data: unknown, meta: { eventId?: string } = {}, hooks?: EventHandlerHooks): Promise<RefundEntity | null> {
    const event = parseReturnApproved(data);
    const log = this.deps.log.child({ orderId: event.orderId, returnId: event.returnId, eventId: meta.eventId });
    if (event.amount === 0) {
      log.info('return approved with nothing to refund');
      return null;
    }
    const refundId = returnRefundIdFor(event.returnId);
    const refund = await em.transactional(async (tx) => {
      const payment = await tx.findOne(PaymentEntity, { orderId: event.orderId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
      if (!payment) throw this.refused(log, 'no_payment', `order ${event.orderId} has no payment`, event);
      if (event.paymentId !== null && event.paymentId.toLowerCase() !== payment.id) {
        throw this.refused(log, 'payment_mismatch', `payment ${event.paymentId} is not the payment ${payment.id} of order ${event.orderId}`, event);
      }
      const existing = await tx.findOne(RefundEntity, { $or: [{ id: refundId }, { returnId: event.returnId }] });
      if (existing) {
        log.info({ refundId: existing.id, status: existing.status }, 'return already refunded; nothing changed');
        return null;
      }
      if (event.currency !== payment.currency) {
        throw this.refused(log, 'payment_mismatch', `return in ${event.currency} for a payment in ${payment.currency}`, event);
      }
      if (event.userId !== payment.userId) log.warn({ paymentUserId: payment.userId, eventUserId: event.userId }, 'return approved for another user than the payer; refunding the payment');
      return this.claimSagaRefund(tx, payment, { refundId, returnId: event.returnId, amount: event.amount, reason: `Return ${event.returnId} approved` }, log);
    });
    if (!refund) return null;
    log.info({ paymentId: refund.paymentId, refundId: refund.id, amount: refund.amount }, 'return refund recorded; asking the provider once committed');
    await this.afterCommit(em, hooks, () => this.submitRefunds(em, [refund.id]));
    return refund;
  }

  /**
   * Handles an OrderCancelled. The cancellation is remembered (a PaymentRequested still in flight is
   * then never charged, a success reported later is refunded). A payment that already SUCCEEDED (a
   * late payment: e.g. the reservation expired while the customer paid) is refunded in full, once
   * (recorded with the event, sent once it has committed);
   * one the customer could still complete (PENDING, REQUIRES_ACTION) is marked CANCELLED without
   * PaymentFailed (the order is cancelled already) and cancelled at the provider once committed; the
   * intent of a FAILED Stripe payment is cancelled too, so the customer cannot retry it. Anything
   * else: no-op.
   */
  async cancelOrderPayment(em: EntityManager, data: unknown, meta: { eventId?: string } = {}, hooks?: EventHandlerHooks): Promise<OrderCancelledOutcome> {
    const event = parseOrderCancelled(data);
    const log = this.deps.log.child({ orderId: event.orderId, eventId: meta.eventId });
    const owed = providerFollowUps();
    const outcome = await em.transactional(async (tx): Promise<OrderCancelledOutcome> => {
      await this.lockOrder(tx, event.orderId);
      await tx
        .createQueryBuilder(OrderCancellationEntity)
        .insert({ orderId: event.orderId, reason: event.reason, eventId: meta.eventId ?? null, createdAt: new Date() })
        .onConflict('orderId')
        .ignore()
        .execute('run');
      const payment = await tx.findOne(PaymentEntity, { orderId: event.orderId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
      if (!payment) return 'no_payment';
      if (REFUNDABLE_STATUSES.includes(payment.status)) return this.refundCancelledOrder(tx, payment, `Order cancelled (${event.reason}) after the payment succeeded`, log, owed);
      if (CANCELLABLE_STATUSES.includes(payment.status)) {
        this.oweProviderCancel(payment, owed, log);
        payment.status = PaymentStatus.CANCELLED;
        payment.failureReason = ORDER_CANCELLED_REASON;
        payment.clientSecret = null;
        payment.updatedAt = new Date();
        this.deps.metrics.payments.inc({ provider: payment.provider, outcome: 'cancelled' });
        return 'cancelled';
      }
      if (payment.status === PaymentStatus.FAILED && payment.provider === 'stripe') this.oweProviderCancel(payment, owed, log);
      return 'unchanged';
    });
    log.info({ outcome, reason: event.reason }, 'order cancelled');
    if (owed.refunds.length + owed.cancels.length > 0) await this.afterCommit(em, hooks, () => this.sendOwed(em, owed));
    return outcome;
  }

  /** Refunds what is left of a cancelled order's payment, once per order (the refund id derives from the order id). */
  private async refundCancelledOrder(tx: EntityManager, payment: PaymentEntity, reason: string, log: Logger, owed: ProviderFollowUps): Promise<OrderCancelledOutcome> {
    const refundId = cancellationRefundIdFor(payment.orderId);
    if (await tx.findOne(RefundEntity, { id: refundId })) return 'already_refunded';
    const amount = await this.refundableAmount(tx, payment);
    if (amount <= 0) return 'nothing_to_refund';
    const refund = await this.claimSagaRefund(tx, payment, { refundId, returnId: null, amount, reason }, log);
    owed.refunds.push(refund.id);
    log.warn({ paymentId: payment.id, refundId: refund.id, amount }, 'payment of a cancelled order: refund recorded, the provider is asked once committed');
    return 'refunded';
  }

  /**
   * Records a refund the saga wants (PENDING, not yet sent) in the caller's transaction, with the
   * payment row locked: from then on it counts against what is refundable. The caller asks the
   * provider once that has committed (`submitRefunds`), so no transaction or lock waits on it.
   * Refuses for good (RefundRefusedError) what can never succeed.
   */
  private async claimSagaRefund(tx: EntityManager, payment: PaymentEntity, spec: SagaRefund, log: Logger): Promise<RefundEntity> {
    const context = { paymentId: payment.id, refundId: spec.refundId, amount: spec.amount };
    if (!REFUNDABLE_STATUSES.includes(payment.status)) {
      if (payment.status === PaymentStatus.REFUNDED) throw this.refused(log, 'over_refund', `cannot refund ${spec.amount}: payment ${payment.id} is refunded in full`, context);
      throw this.refused(log, 'not_paid', `payment ${payment.id} is ${payment.status}: nothing was paid to refund`, context);
    }
    if (payment.provider !== this.deps.provider.name || !payment.providerPaymentId) {
      throw this.refused(log, 'provider_mismatch', `payment ${payment.id} was made with the ${payment.provider} provider, which this server does not use`, context);
    }
    const refundable = await this.refundableAmount(tx, payment);
    if (spec.amount > refundable) {
      throw this.refused(log, 'over_refund', `cannot refund ${spec.amount}: only ${refundable} of ${payment.amount} ${payment.currency} is still refundable`, context);
    }
    const now = new Date();
    return tx.create(RefundEntity, {
      id: spec.refundId,
      paymentId: payment.id,
      amount: spec.amount,
      currency: payment.currency,
      status: RefundStatus.PENDING,
      reason: spec.reason.slice(0, MAX_REFUND_REASON_LENGTH),
      providerRefundId: null,
      failureReason: null,
      returnId: spec.returnId,
      requestedBy: SAGA_REFUND_REQUESTER,
      createdAt: now,
      updatedAt: now,
    });
  }

  /** Runs `work` once the caller's transaction has committed: by the consumer's hook, or now when `em` holds no transaction. */
  private async afterCommit(em: EntityManager, hooks: EventHandlerHooks | undefined, work: () => Promise<void>): Promise<void> {
    if (hooks) return hooks.afterCommit(work);
    if (em.isInTransaction()) throw new Error('work after the commit needs the after-commit hook inside a transaction');
    await work();
  }

  /** Sends recorded refunds to the provider, one after another (`submitRefund`). */
  private async submitRefunds(em: EntityManager, refundIds: readonly string[]): Promise<void> {
    for (const refundId of refundIds) {
      await this.submitRefund(em, refundId).catch((error: unknown) => this.deps.log.error({ err: error, refundId }, 'sending a refund failed; asked again later'));
    }
  }

  /**
   * Asks the provider for a refund recorded but not sent yet, with no transaction open, then records
   * its answer (`recordRefund`). An outage leaves it unsent for `refundStalled` to send again; the
   * idempotency key derives from what caused the refund, so the provider makes it once however
   * often it is asked. A refusal by the provider fails the refund (RefundFailed).
   */
  private async submitRefund(em: EntityManager, refundId: string): Promise<void> {
    const read = em.fork();
    const refund = await read.findOne(RefundEntity, { id: refundId });
    if (!refund || refund.status !== RefundStatus.PENDING || refund.providerRefundId !== null) return;
    const payment = await read.findOneOrFail(PaymentEntity, { id: refund.paymentId });
    const log = this.deps.log.child({ orderId: payment.orderId, paymentId: payment.id, refundId });
    let answer: RefundAttempt | ProviderRejectedError;
    try {
      answer = await this.deps.provider.createRefund({
        refundId,
        paymentId: payment.id,
        orderId: payment.orderId,
        providerPaymentId: payment.providerPaymentId!,
        amount: refund.amount,
        currency: refund.currency,
        idempotencyKey: refundIdempotencyKeyOf(refund, payment),
      });
    } catch (error) {
      if (error instanceof ProviderUnavailableError) {
        log.warn({ err: error }, 'refund provider unavailable; the refund is sent again later');
        return;
      }
      if (!(error instanceof ProviderRejectedError)) throw error;
      answer = error;
    }
    await this.recordRefund(em, payment.id, refundId, answer, log);
  }

  /** Writes the provider's answer to a sent refund, under the payment's row lock; nothing when another answer was written first. */
  private async recordRefund(em: EntityManager, paymentId: string, refundId: string, answer: RefundAttempt | ProviderRejectedError, log: Logger): Promise<void> {
    await em.fork().transactional(async (tx) => {
      const payment = await tx.findOneOrFail(PaymentEntity, { id: paymentId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      const refund = await tx.findOneOrFail(RefundEntity, { id: refundId });
      if (answer instanceof ProviderRejectedError) {
        if (refund.status !== RefundStatus.PENDING || refund.providerRefundId !== null) return;
        this.refused(log, 'provider_rejected', `the provider refused the refund (${answer.code}): ${answer.message}`, { paymentId: payment.id, refundId, amount: refund.amount });
        this.applyRefundStatus(tx, payment, refund, RefundStatus.FAILED, `provider_rejected: ${answer.code}`);
        return;
      }
      if (refund.providerRefundId === null) {
        // A webhook recorded this provider refund meanwhile as one made outside Mercado: that record stays.
        const known = await tx.findOne(RefundEntity, { providerRefundId: answer.providerRefundId });
        if (known) {
          tx.remove(refund);
          await tx.flush();
          if (known.returnId === null && refund.returnId !== null) known.returnId = refund.returnId;
          log.warn({ knownRefundId: known.id }, 'provider refund already recorded; adopted');
          return;
        }
        refund.providerRefundId = answer.providerRefundId;
      }
      this.applyRefundStatus(tx, payment, refund, answer.status, answer.failureReason);
      this.deps.metrics.refunds.inc({ provider: payment.provider, outcome: refund.status.toLowerCase() });
      log.info({ status: refund.status, providerRefundId: refund.providerRefundId }, 'refund sent');
    });
  }

  /** Sends again the refunds recorded `olderThanSeconds` ago or more and still unsent (the provider was away, or the process stopped). Returns how many. */
  async refundStalled(em: EntityManager, olderThanSeconds: number, limit = 100): Promise<number> {
    const ids = await this.claimStalled(em, 'refund', `"status" = ? and "provider_refund_id" is null`, [RefundStatus.PENDING], olderThanSeconds, limit);
    await this.submitRefunds(em, ids);
    if (ids.length > 0) this.deps.log.info({ count: ids.length }, 'unsent refunds sent again');
    return ids.length;
  }

  /** Logs and counts a refund refused for good; the caller throws the error (the event goes to the failed set). */
  private refused(log: Logger, code: RefundRefusedError['code'], message: string, context: object): RefundRefusedError {
    const error = new RefundRefusedError(code, message);
    log.error({ ...context, code }, `refund refused: ${message}`);
    this.deps.metrics.refunds.inc({ provider: this.deps.provider.name, outcome: 'refused' });
    return error;
  }

  /**
   * Notes, in the caller's transaction, that the payment's PaymentIntent must be stopped at the
   * provider (the customer must not complete it); `cancelAtProvider` does it once that has committed.
   */
  private oweProviderCancel(payment: PaymentEntity, owed: ProviderFollowUps, log: Logger): void {
    if (!payment.providerPaymentId) return;
    if (payment.provider !== this.deps.provider.name) {
      log.warn({ paymentId: payment.id, provider: payment.provider }, 'payment made with a provider this server does not use; not cancelled there');
      return;
    }
    payment.providerCancelPending = true;
    payment.updatedAt = new Date();
    owed.cancels.push(payment.id);
  }

  /** Makes the provider calls a committed transaction owes, one after another. */
  private async sendOwed(em: EntityManager, owed: ProviderFollowUps): Promise<void> {
    await this.submitRefunds(em, owed.refunds);
    for (const paymentId of owed.cancels) {
      await this.cancelAtProvider(em, paymentId).catch((error: unknown) => this.deps.log.error({ err: error, paymentId }, 'cancelling a payment at the provider failed; asked again later'));
    }
  }

  /**
   * Stops at the provider a payment whose order was cancelled, with no transaction open. Too late
   * (it succeeded or is processing): the webhook reports the outcome and a success is refunded. An
   * outage leaves the cancellation owed for `cancelStalled`; a refusal is logged, and the payment is
   * still treated as cancelled here.
   */
  private async cancelAtProvider(em: EntityManager, paymentId: string): Promise<void> {
    const read = em.fork();
    const payment = await read.findOne(PaymentEntity, { id: paymentId });
    if (!payment?.providerCancelPending || !payment.providerPaymentId) return;
    const log = this.deps.log.child({ orderId: payment.orderId, paymentId });
    const cancellation = await read.findOne(OrderCancellationEntity, { orderId: payment.orderId });
    try {
      const result = await this.deps.provider.cancelPayment({
        paymentId,
        providerPaymentId: payment.providerPaymentId,
        reason: (cancellation?.reason ?? 'CUSTOMER') === 'CUSTOMER' ? 'requested_by_customer' : 'abandoned',
        idempotencyKey: paymentCancelIdempotencyKey(paymentId),
      });
      if (result.outcome === 'not_cancelable') {
        log.warn({ providerStatus: result.providerStatus }, 'too late to cancel the payment at the provider; a success reported later is refunded');
      }
    } catch (error) {
      if (error instanceof ProviderUnavailableError) {
        log.warn({ err: error }, 'payment provider unavailable; the cancellation is sent again later');
        return;
      }
      log.error({ err: error }, 'the provider refused to cancel the payment; treated as cancelled here');
    }
    await em.fork().getConnection().execute(`update "payment" set "provider_cancel_pending" = false where "id" = ?`, [paymentId]);
  }

  /** Sends again the PaymentIntent cancellations owed `olderThanSeconds` ago or more (the provider was away, or the process stopped). Returns how many. */
  async cancelStalled(em: EntityManager, olderThanSeconds: number, limit = 100): Promise<number> {
    const ids = await this.claimStalled(em, 'payment', `"provider_cancel_pending"`, [], olderThanSeconds, limit);
    await this.sendOwed(em, { refunds: [], cancels: ids });
    if (ids.length > 0) this.deps.log.info({ count: ids.length }, 'owed payment cancellations sent again');
    return ids.length;
  }

  /** Serializes the saga's work on one order (PaymentRequested against OrderCancelled) until the transaction ends. */
  private async lockOrder(tx: EntityManager, orderId: string): Promise<void> {
    await tx.execute('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`payments:order:${orderId}`]);
  }

  /**
   * Moves a refund forward (PENDING → SUCCEEDED → FAILED, never back), keeps the payment's refunded
   * total and status in step and records RefundIssued / RefundFailed. Returns false for stale news.
   */
  private applyRefundStatus(tx: EntityManager, payment: PaymentEntity, refund: RefundEntity, next: RefundStatus, failureReason: string | null): boolean {
    if (!refundAdvances(refund.status, next)) return false;
    const wasIssued = refund.status === RefundStatus.SUCCEEDED;
    refund.status = next;
    refund.updatedAt = new Date();
    const event = { orderId: payment.orderId, userId: payment.userId, paymentId: payment.id, refundId: refund.id, amount: refund.amount, currency: refund.currency };
    if (next === RefundStatus.SUCCEEDED) {
      payment.refundedAmount += refund.amount;
      recordRefundIssued(tx, event);
    } else if (next === RefundStatus.FAILED) {
      refund.failureReason = (failureReason ?? 'failed').slice(0, 100);
      if (wasIssued) payment.refundedAmount -= refund.amount;
      recordRefundFailed(tx, { ...event, reason: refund.failureReason, previouslyIssued: wasIssued });
    }
    if (isPaid(payment.status)) payment.status = statusAfterRefunds(payment.amount, payment.refundedAmount);
    payment.updatedAt = new Date();
    return true;
  }

  // ---------------------------------------------------------------- Stripe webhooks

  /**
   * Applies one verified Stripe event exactly once: its id is claimed in `stripe_event` in the same
   * transaction as the effect, so a redelivery (even a concurrent one) changes nothing. States only
   * move forward, so deliveries may arrive in any order.
   */
  async handleStripeEvent(em: EntityManager, event: StripeEventLike, log: Logger = this.deps.log): Promise<StripeEventResult> {
    const owed = providerFollowUps();
    const result = await em.transactional(async (tx): Promise<StripeEventResult> => {
      const claim = await tx
        .createQueryBuilder(StripeEventEntity)
        .insert({
          id: event.id,
          type: event.type.slice(0, 100),
          outcome: 'ignored',
          paymentId: null,
          createdAtStripe: typeof event.created === 'number' ? new Date(event.created * 1000) : null,
          receivedAt: new Date(),
        })
        .onConflict('id')
        .ignore()
        .execute('run');
      if (claim.affectedRows === 0) return { duplicate: true, outcome: 'duplicate', paymentId: null };
      const { outcome, paymentId } = await this.applyStripeEvent(tx, event, log, owed);
      await tx.createQueryBuilder(StripeEventEntity).update({ outcome, paymentId }).where({ id: event.id }).execute();
      return { duplicate: false, outcome, paymentId };
    });
    this.deps.metrics.webhooks.inc({ type: event.type, outcome: result.outcome });
    log.info({ stripeEventId: event.id, type: event.type, outcome: result.outcome, paymentId: result.paymentId }, 'stripe event');
    await this.sendOwed(em, owed);
    return result;
  }

  private async applyStripeEvent(tx: EntityManager, event: StripeEventLike, log: Logger, owed: ProviderFollowUps): Promise<{ outcome: StripeEventOutcome; paymentId: string | null }> {
    const object = asObject(event.data?.object);
    switch (event.type) {
      case 'payment_intent.succeeded':
        return this.onIntentSucceeded(tx, object, log, owed);
      case 'payment_intent.payment_failed':
        return this.onIntentFailed(tx, object);
      case 'charge.refunded':
        return this.onChargeRefunded(tx, object, log);
      case 'charge.refund.updated':
      case 'refund.created':
      case 'refund.updated':
      case 'refund.failed': {
        const payment = await this.findStripePayment(tx, idOf(object.payment_intent), null);
        if (!payment) return { outcome: 'unmatched', paymentId: null };
        const outcome = await this.applyProviderRefund(tx, payment, this.refundFromEvent(object), log);
        return { outcome, paymentId: payment.id };
      }
      default:
        return { outcome: 'ignored', paymentId: null };
    }
  }

  /** The payment a PaymentIntent belongs to, locked: by its `pi_…` id, else by the `paymentId` we put in its metadata. */
  private async findStripePayment(tx: EntityManager, intentId: string | null, metadata: Obj | null): Promise<PaymentEntity | null> {
    if (intentId) {
      const byIntent = await tx.findOne(PaymentEntity, { providerPaymentId: intentId, provider: 'stripe' }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (byIntent) return byIntent;
    }
    const paymentId = asString(metadata?.paymentId);
    if (!paymentId || !UUID.test(paymentId)) return null;
    const byMetadata = await tx.findOne(PaymentEntity, { id: paymentId.toLowerCase(), provider: 'stripe' }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!byMetadata) return null;
    // Our row may lack the intent id if the create response was lost; never re-point it to another intent.
    if (byMetadata.providerPaymentId === null && intentId) byMetadata.providerPaymentId = intentId;
    return byMetadata.providerPaymentId === intentId ? byMetadata : null;
  }

  private async onIntentSucceeded(tx: EntityManager, intent: Obj, log: Logger, owed: ProviderFollowUps): Promise<{ outcome: StripeEventOutcome; paymentId: string | null }> {
    const payment = await this.findStripePayment(tx, idOf(intent.id), asObject(intent.metadata));
    if (!payment) return { outcome: 'unmatched', paymentId: null };
    if (!paymentAdvances(payment.status, PaymentStatus.SUCCEEDED)) return { outcome: 'stale', paymentId: payment.id };
    const received = typeof intent.amount_received === 'number' ? intent.amount_received : intent.amount;
    const currency = asString(intent.currency)?.toUpperCase();
    if ((typeof received === 'number' && received !== payment.amount) || (currency && currency !== payment.currency)) {
      log.warn({ paymentId: payment.id, expected: { amount: payment.amount, currency: payment.currency }, received: { amount: received, currency } }, 'PaymentIntent amount differs from the payment');
    }
    if (payment.status === PaymentStatus.FAILED) log.warn({ paymentId: payment.id, orderId: payment.orderId }, 'payment succeeded after it was reported failed (customer retried)');
    const orderCancelled = payment.status === PaymentStatus.CANCELLED || (await tx.count(OrderCancellationEntity, { orderId: payment.orderId })) > 0;
    await this.applySucceeded(tx, payment, orderCancelled, log, owed);
    return { outcome: 'applied', paymentId: payment.id };
  }

  /** The provider took the money: SUCCEEDED and PaymentSucceeded, and for a cancelled order the refund (to send once committed). */
  private async applySucceeded(tx: EntityManager, payment: PaymentEntity, orderCancelled: boolean, log: Logger, owed: ProviderFollowUps): Promise<void> {
    // Refunds reported before this (out of order) already count.
    payment.status = statusAfterRefunds(payment.amount, payment.refundedAmount);
    payment.failureReason = null;
    payment.updatedAt = new Date();
    // The money moved: reported even for a cancelled order (orders notes the late payment; the refund follows).
    recordPaymentSucceeded(tx, { orderId: payment.orderId, paymentId: payment.id, amount: payment.amount, currency: payment.currency });
    this.deps.metrics.payments.inc({ provider: payment.provider, outcome: 'succeeded' });
    if (orderCancelled) await this.refundLatePayment(tx, payment, log, owed);
  }

  /**
   * A payment that succeeded although its order was cancelled is refunded: the refund is recorded
   * with the success and sent once that has committed (an outage leaves it for `refundStalled`). A
   * refusal is logged and counted, the success stays recorded, and an admin must refund by hand.
   */
  private async refundLatePayment(tx: EntityManager, payment: PaymentEntity, log: Logger, owed: ProviderFollowUps): Promise<void> {
    log.warn({ paymentId: payment.id, orderId: payment.orderId }, 'payment succeeded after its order was cancelled; refunding');
    try {
      await this.refundCancelledOrder(tx, payment, 'Order cancelled before the payment succeeded', log, owed);
    } catch (error) {
      if (!(error instanceof RefundRefusedError)) throw error;
    }
  }

  private async onIntentFailed(tx: EntityManager, intent: Obj): Promise<{ outcome: StripeEventOutcome; paymentId: string | null }> {
    const payment = await this.findStripePayment(tx, idOf(intent.id), asObject(intent.metadata));
    if (!payment) return { outcome: 'unmatched', paymentId: null };
    // Never downgrades a paid payment; a second failure reports nothing new.
    if (!paymentAdvances(payment.status, PaymentStatus.FAILED)) return { outcome: 'stale', paymentId: payment.id };
    const error = asObject(intent.last_payment_error);
    const reason = (asString(error.code) ?? asString(error.decline_code) ?? 'payment_failed').slice(0, 100);
    payment.status = PaymentStatus.FAILED;
    payment.failureReason = reason;
    payment.updatedAt = new Date();
    recordPaymentFailed(tx, { orderId: payment.orderId, paymentId: payment.id, reason });
    this.deps.metrics.payments.inc({ provider: payment.provider, outcome: 'failed' });
    return { outcome: 'applied', paymentId: payment.id };
  }

  /**
   * `charge.refunded`: the refunds listed on the charge, or, on API versions that no longer embed
   * them, the payment's refunds fetched from Stripe.
   */
  private async onChargeRefunded(tx: EntityManager, charge: Obj, log: Logger): Promise<{ outcome: StripeEventOutcome; paymentId: string | null }> {
    const payment = await this.findStripePayment(tx, idOf(charge.payment_intent), null);
    if (!payment || !payment.providerPaymentId) return { outcome: 'unmatched', paymentId: null };
    const embedded = asObject(charge.refunds).data;
    const refunds = Array.isArray(embedded) ? embedded.map((refund) => this.refundFromEvent(asObject(refund))) : await this.deps.provider.listRefunds(payment.providerPaymentId);
    let applied = false;
    for (const refund of refunds) {
      if ((await this.applyProviderRefund(tx, payment, refund, log)) === 'applied') applied = true;
    }
    return { outcome: applied ? 'applied' : 'stale', paymentId: payment.id };
  }

  private refundFromEvent(refund: Obj): ProviderRefund {
    return {
      id: asString(refund.id) ?? '',
      status: asString(refund.status),
      amount: typeof refund.amount === 'number' ? refund.amount : null,
      currency: asString(refund.currency),
      reason: asString(refund.reason),
      failureReason: asString(refund.failure_reason),
      metadata: asObject(refund.metadata),
    };
  }

  /**
   * One refund as Stripe reports it: matched by `re_…` id or our `refundId` metadata. A refund
   * made outside Mercado (dashboard) is recorded, so the refunded total stays true.
   */
  private async applyProviderRefund(tx: EntityManager, payment: PaymentEntity, reported: ProviderRefund, log: Logger): Promise<StripeEventOutcome> {
    if (!reported.id) return 'ignored';
    let refund = await tx.findOne(RefundEntity, { providerRefundId: reported.id });
    if (!refund) {
      const refundId = asString(reported.metadata.refundId);
      if (refundId && UUID.test(refundId)) {
        const byMetadata = await tx.findOne(RefundEntity, { id: refundId.toLowerCase() });
        if (byMetadata && byMetadata.providerRefundId === null) byMetadata.providerRefundId = reported.id;
        if (byMetadata && byMetadata.providerRefundId === reported.id) refund = byMetadata;
      }
    }
    if (refund && refund.paymentId !== payment.id) {
      log.warn({ refundId: refund.id, paymentId: payment.id }, 'Stripe refund belongs to another payment; ignored');
      return 'ignored';
    }
    const next = refundStatusFromStripe(reported.status);
    if (!refund) {
      if (reported.amount === null || !Number.isInteger(reported.amount) || reported.amount < 1) return 'unmatched';
      if (next === RefundStatus.SUCCEEDED && payment.refundedAmount + reported.amount > payment.amount) {
        log.error({ paymentId: payment.id, stripeRefundId: reported.id }, 'Stripe refund would exceed the amount paid; ignored');
        return 'ignored';
      }
      const now = new Date();
      refund = tx.create(RefundEntity, {
        id: randomUUID(),
        paymentId: payment.id,
        amount: reported.amount,
        currency: payment.currency,
        status: RefundStatus.PENDING,
        reason: reported.reason,
        providerRefundId: reported.id,
        failureReason: null,
        requestedBy: 'stripe',
        createdAt: now,
        updatedAt: now,
      });
      log.info({ paymentId: payment.id, stripeRefundId: reported.id }, 'recorded a refund made outside Mercado');
      if (next === RefundStatus.PENDING) return 'applied';
    }
    const changed = this.applyRefundStatus(tx, payment, refund, next, reported.failureReason);
    if (changed) this.deps.metrics.refunds.inc({ provider: 'stripe', outcome: next.toLowerCase() });
    return changed ? 'applied' : 'stale';
  }
}
