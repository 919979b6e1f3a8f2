import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '../../kit/src/events';
import { testEnvelope } from '../../kit/src/events/testing';

/** Queues the analytics server touches under a test prefix. */
export const ANALYTICS_TEST_QUEUES = ['analytics'] as const;

/** An envelope as a producer's relay publishes it. */
export const envelope = (type: string, source: string, data: Record<string, unknown>, occurredAt: Date = new Date(), subject: string = randomUUID()): EventEnvelope =>
  testEnvelope(type, source, subject, data, occurredAt);

// Real-shaped payloads, field for field what each producer writes.

export const productChanged = (productId: string, priceAmount: number, at = new Date(), currency = 'USD') =>
  envelope('ProductChanged', 'catalog', { productId, sku: `SKU-${productId.slice(0, 8)}`, kind: 'GOOD', priceAmount, currency, active: true }, at, productId);

export const paymentSucceeded = (orderId: string, amount: number, at = new Date(), currency = 'USD') =>
  envelope('PaymentSucceeded', 'payments', { orderId, paymentId: randomUUID(), amount, currency }, at, orderId);

export const paymentFailed = (orderId: string, at = new Date()) => envelope('PaymentFailed', 'payments', { orderId, paymentId: randomUUID(), reason: 'card_declined' }, at, orderId);

export const orderConfirmed = (orderId: string, lines: { productId: string; quantity: number; kind?: string; unitAmount?: number }[], at = new Date(), userId = randomUUID()) =>
  envelope('OrderConfirmed', 'orders', { orderId, userId, lines: lines.map((line) => ({ kind: 'GOOD', ...line })) }, at, orderId);

export const orderCancelled = (orderId: string, at = new Date()) => envelope('OrderCancelled', 'orders', { orderId, reason: 'CUSTOMER', lines: [] }, at, orderId);

export const refundIssued = (orderId: string, refundId: string, amount: number, at = new Date(), currency = 'USD') =>
  envelope('RefundIssued', 'payments', { orderId, paymentId: randomUUID(), refundId, amount, currency }, at, orderId);

export const refundFailed = (orderId: string, refundId: string, amount: number, at = new Date(), currency = 'USD') =>
  envelope('RefundFailed', 'payments', { orderId, paymentId: randomUUID(), refundId, amount, currency, reason: 'expired_or_canceled_card', previouslyIssued: true }, at, orderId);

export const returnApproved = (orderId: string, lines: { productId: string; quantity: number }[], amount: number, at = new Date()) =>
  envelope('ReturnApproved', 'orders', { orderId, returnId: randomUUID(), userId: randomUUID(), paymentId: randomUUID(), lines: lines.map((line) => ({ kind: 'GOOD', ...line })), amount, currency: 'USD' }, at, orderId);

export const reservationExpired = (orderId: string, at = new Date()) => envelope('ReservationExpired', 'inventory', { orderId, reservationId: randomUUID() }, at, orderId);

export const lowStock = (productId: string, available: number, at = new Date()) =>
  envelope('LowStock', 'inventory', { productId, onHand: available + 1, reserved: 1, available, previousAvailable: available + 3, lowStockThreshold: 5 }, at, productId);

export const userRegistered = (at = new Date(), userId = randomUUID()) =>
  envelope('UserRegistered', 'users', { userId, email: `${userId}@example.com`, name: 'Someone', role: 'CUSTOMER', registeredAt: at.toISOString() }, at, userId);

export const userDeleted = (userId: string, at = new Date()) => envelope('UserDeleted', 'users', { userId, deletedAt: at.toISOString() }, at, userId);

export const planChanged = (userId: string, plan = 'PRO', at = new Date()) => envelope('PlanChanged', 'orders', { userId, productId: randomUUID(), sku: `PLAN-${plan}`, plan }, at, userId);

export interface TestFill {
  userId: string;
  symbol?: string;
  side?: 'BUY' | 'SELL';
  quantity: string;
  price: string;
  fee?: string;
  feeCurrency?: string;
  executedAt?: Date;
}

export function fillExecuted(fill: TestFill) {
  const symbol = fill.symbol ?? 'BTC/USDT';
  const [base, quote] = symbol.split('/') as [string, string];
  const orderId = randomUUID();
  const executedAt = fill.executedAt ?? new Date();
  return envelope(
    'FillExecuted',
    'trading',
    {
      fillId: randomUUID(),
      orderId,
      accountId: randomUUID(),
      userId: fill.userId,
      symbol,
      base,
      quote,
      side: fill.side ?? 'BUY',
      quantity: fill.quantity,
      price: fill.price,
      fee: fill.fee ?? '0',
      feeCurrency: fill.feeCurrency ?? quote,
      executedAt: executedAt.toISOString(),
    },
    executedAt,
    orderId,
  );
}

export const tradeOrderUpdated = (orderId: string, userId: string, status: string, updatedAt = new Date()) =>
  envelope(
    'TradeOrderUpdated',
    'trading',
    { orderId, userId, accountId: randomUUID(), clientOrderId: randomUUID(), symbol: 'BTC/USDT', side: 'BUY', type: 'LIMIT', status, quantity: '1', filledQuantity: '0', averagePrice: null, reason: null, updatedAt: updatedAt.toISOString() },
    updatedAt,
    orderId,
  );

export const signalReceived = (userId: string, at = new Date(), signalId = randomUUID()) =>
  envelope(
    'SignalReceived',
    'signals',
    { signalId, userId, endpointId: randomUUID(), symbol: 'BTC/USDT', ticker: 'BTCUSDT', exchange: 'BINANCE', action: 'BUY', price: '67000', timeframe: '1h', indicator: 'RSI', receivedAt: at.toISOString() },
    at,
    signalId,
  );

export const signalScreenshotReady = (signalId: string, userId: string, at = new Date()) =>
  envelope('SignalScreenshotReady', 'signals', { signalId, userId, file: `${signalId}.png` }, at, signalId);

export const signalResolved = (signalId: string, userId: string, result: 'WIN' | 'LOSS' | 'SKIP', at = new Date(), manual = false) =>
  envelope('SignalResolved', 'signals', { signalId, userId, result, exitPrice: null, profitLoss: null, manual, resolvedAt: at.toISOString() }, at, signalId);
