import type { MailMessage } from '../mail/mail.queue';

/** What the order mails read of `OrderConfirmed`. */
export interface ConfirmedOrder {
  orderId: string;
  totalAmount: number;
  currency: string;
  lines: { sku: string; name: string | null; kind: string; quantity: number; unitAmount: number }[];
}

export type CancelReason = 'OUT_OF_STOCK' | 'PAYMENT_FAILED' | 'EXPIRED' | 'CUSTOMER';

const CANCEL_REASONS: Record<CancelReason, string> = {
  OUT_OF_STOCK: 'Some of its items are out of stock.',
  PAYMENT_FAILED: 'The payment did not go through.',
  EXPIRED: 'The payment was not completed in time.',
  CUSTOMER: 'You cancelled it.',
};

export const isCancelReason = (value: unknown): value is CancelReason => typeof value === 'string' && value in CANCEL_REASONS;

/** Digits after the point in `currency`'s minor units (ISO 4217 as Intl knows it; 2 for a code it does not). */
function minorDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** `12345` USD → `123.45 USD`, by string arithmetic: money never passes through a float. */
export function formatMoney(minorUnits: number, currency: string): string {
  const digits = minorDigits(currency);
  const sign = minorUnits < 0 ? '-' : '';
  const padded = String(Math.abs(minorUnits)).padStart(digits + 1, '0');
  const major = digits === 0 ? padded : `${padded.slice(0, -digits)}.${padded.slice(-digits)}`;
  return `${sign}${major} ${currency}`;
}

/** How an order is named to its buyer: the first 8 characters of its id, as the apps show it. */
const orderNumber = (orderId: string): string => orderId.slice(0, 8).toUpperCase();

const greeting = (name: string): string => `Hello ${name},\n\n`;

export function orderConfirmedMail(to: string, name: string, order: ConfirmedOrder): MailMessage {
  const lines = order.lines.map((line) => {
    const product = line.name ? `${line.name} (${line.sku})` : line.sku;
    const each = line.quantity > 1 ? ` at ${formatMoney(line.unitAmount, order.currency)} each` : '';
    return `  ${line.quantity} × ${product}${each}: ${formatMoney(line.unitAmount * line.quantity, order.currency)}`;
  });
  const next = order.lines.some((line) => line.kind === 'GOOD')
    ? 'We will write again when your goods ship.'
    : 'Your indicators and plans are in your account now.';
  return {
    to,
    subject: `Your Mercado order ${orderNumber(order.orderId)} is confirmed`,
    text: `${greeting(name)}thank you for your order ${order.orderId}. Your payment was received.\n\n${lines.join('\n')}\n\nTotal: ${formatMoney(order.totalAmount, order.currency)}\n\n${next}\n`,
  };
}

export function orderShippedMail(to: string, name: string, orderId: string, trackingNumber: string): MailMessage {
  return {
    to,
    subject: `Your Mercado order ${orderNumber(orderId)} has shipped`,
    text: `${greeting(name)}the goods of your order ${orderId} are on their way.\n\nTracking number: ${trackingNumber}\n`,
  };
}

export function refundIssuedMail(to: string, name: string, orderId: string, amount: number, currency: string): MailMessage {
  return {
    to,
    subject: `Your refund for Mercado order ${orderNumber(orderId)}`,
    text: `${greeting(name)}we refunded ${formatMoney(amount, currency)} for your order ${orderId} to the card it was paid with. Banks take a few days to show it.\n`,
  };
}

/** Orders are cancelled only before payment; a payment that arrives late anyway is refunded. */
export function orderCancelledMail(to: string, name: string, orderId: string, reason: CancelReason): MailMessage {
  return {
    to,
    subject: `Your Mercado order ${orderNumber(orderId)} was cancelled`,
    text: `${greeting(name)}your order ${orderId} was cancelled. ${CANCEL_REASONS[reason]}\n\nNothing was charged; should a payment reach us after all, it is refunded.\n`,
  };
}
