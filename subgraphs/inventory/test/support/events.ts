import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '../../../kit/src/events';

/** Queues the inventory server touches under a test prefix: its own, and those its relay publishes to (the expiry queue goes with the prefix scan). */
export const INVENTORY_TEST_QUEUES = ['inventory', 'orders', 'analytics'] as const;

/**
 * Polls `check` until it returns a value other than undefined/false, at most `timeoutMs`:
 * for conditions no event announces (a row the relay marks published).
 */
export async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function envelope(type: string, data: Record<string, unknown>, source = 'orders'): EventEnvelope {
  const subject = typeof data.orderId === 'string' ? data.orderId : randomUUID();
  return { id: randomUUID(), type, version: 1, occurredAt: new Date().toISOString(), source, subject, data };
}

export interface TestLine {
  productId: string;
  kind: 'INDICATOR' | 'PLAN' | 'GOOD';
  quantity: number;
}

export const good = (productId: string, quantity: number): TestLine => ({ productId, kind: 'GOOD', quantity });
export const orderPlaced = (orderId: string, lines: TestLine[], userId = 'user-1') =>
  envelope('OrderPlaced', { orderId, userId, lines, total: { amount: 1000, currency: 'USD' } });
export const orderConfirmed = (orderId: string, lines: TestLine[] = [], userId = 'user-1') => envelope('OrderConfirmed', { orderId, userId, lines });
export const orderCancelled = (orderId: string, reason = 'CUSTOMER', lines: TestLine[] = []) => envelope('OrderCancelled', { orderId, reason, lines });
/** A ReturnApproved as orders emits it (payments' fields included; inventory reads the order, the return and the lines). */
export const returnApproved = (orderId: string, returnId: string, lines: TestLine[], userId = 'user-1') =>
  envelope('ReturnApproved', { orderId, returnId, userId, paymentId: randomUUID(), lines, amount: 1000, currency: 'USD' });
