import { randomUUID } from 'node:crypto';
import {
  AddToCartDocument,
  CancelOrderDocument,
  ApproveReturnDocument,
  CheckoutDocument,
  MarkDeliveredDocument,
  MyEmailDocument,
  OrderDocument,
  RegisterDocument,
  RequestReturnDocument,
  ShipOrderDocument,
  VerifyEmailDocument,
} from '../../../schema/generated/operations';
import { DEMO_PRODUCTS } from '../../../scripts/demo-data';
import { linkToken, SmtpInbox } from '../../../subgraphs/users/test/smtp-inbox';
import { eventually, startStack, type Stack } from './stack';

const VERIFY_PAGE = 'https://shop.example.com/verify-email';
const wallet = DEMO_PRODUCTS.find((product) => product.sku === 'GOOD-HW-WALLET')!;

describe('mail to a customer through the router: verification, receipt, shipping and cancellation (real SMTP server)', () => {
  const inbox = new SmtpInbox();
  let stack: Stack;
  let admin: string;

  beforeAll(async () => {
    const smtpUrl = await inbox.start();
    stack = await startStack({ env: { users: { SMTP_URL: smtpUrl, EMAIL_VERIFICATION_URL: VERIFY_PAGE } } });
    admin = await stack.mintToken(randomUUID(), 'ADMIN');
  });

  afterAll(async () => {
    await stack?.close();
    await inbox.close();
  });

  async function order(token: string) {
    const added = await stack.request(AddToCartDocument, { productId: wallet.id, quantity: 1 }, token);
    expect(added.errors).toBeUndefined();
    const checkout = await stack.request(CheckoutDocument, { input: { idempotencyKey: randomUUID(), paymentMethod: 'dev-card' } }, token);
    expect(checkout.errors).toBeUndefined();
    return checkout.data!.checkout.id;
  }
  const numbered = (orderId: string) => orderId.slice(0, 8).toUpperCase();

  it('verifies the address from the welcome mail, mails the receipt with the product\'s name, the tracking number and a return\'s refund', async () => {
    const email = `${randomUUID()}@example.com`;
    const welcomed = inbox.take(email, 'Confirm your Mercado email address');
    const registered = await stack.request(RegisterDocument, { input: { email, password: 'a-long-password-1', name: 'Mia Mailbox' } });
    const token = registered.data!.register.accessToken;
    expect((await stack.request(MyEmailDocument, {}, token)).data!.me).toMatchObject({ email, emailVerified: false });

    const verified = await stack.request(VerifyEmailDocument, { token: linkToken(await welcomed, VERIFY_PAGE) });
    expect(verified.errors).toBeUndefined();
    expect((await stack.request(MyEmailDocument, {}, token)).data!.me).toMatchObject({ email, emailVerified: true });

    stack.resetCalls();
    const orderId = await order(token);
    // Catalog's name reached orders (ProductChanged), the order line and OrderConfirmed, and users mailed it.
    const receipt = await inbox.take(email, `Your Mercado order ${numbered(orderId)} is confirmed`);
    expect(receipt.text).toContain(`1 × ${wallet.name} (GOOD-HW-WALLET): `);
    expect(receipt.text).toContain('We will write again when your goods ship.');
    // The checkout never asked users: the mail came through events.
    expect(stack.calls.users).toBe(0);

    const paid = await eventually(() => stack.request(OrderDocument, { id: orderId }, token).then((result) => result.data!.order!), (found) => found.status === 'PAID', `order ${orderId} paid`);
    expect(paid.status).toBe('PAID');
    expect((await stack.request(ShipOrderDocument, { id: orderId, trackingNumber: 'TRK-E2E-1' }, admin)).errors).toBeUndefined();
    expect((await inbox.take(email, `Your Mercado order ${numbered(orderId)} has shipped`)).text).toContain('Tracking number: TRK-E2E-1');

    expect((await stack.request(MarkDeliveredDocument, { id: orderId }, admin)).errors).toBeUndefined();
    const requested = await stack.request(RequestReturnDocument, { orderId, lines: [{ productId: wallet.id, quantity: 1 }], reason: 'Arrived scratched' }, token);
    expect(requested.errors).toBeUndefined();
    expect((await stack.request(ApproveReturnDocument, { id: requested.data!.requestReturn.id }, admin)).errors).toBeUndefined();
    // Payments refunds and says so (RefundIssued); users mails the amount.
    const refund = await inbox.take(email, `Your refund for Mercado order ${numbered(orderId)}`);
    expect(refund.text).toContain(`we refunded ${receipt.text.match(/Total: ([0-9.]+ USD)/)![1]} for your order ${orderId}`);
  });

  it('tells the buyer why an order was cancelled when the payment is declined', async () => {
    const email = `${randomUUID()}@example.com`;
    const registered = await stack.request(RegisterDocument, { input: { email, password: 'a-long-password-1', name: 'Carl Cancel' } });
    const token = registered.data!.register.accessToken;
    // The development provider declines this method: nothing is charged, and the saga cancels the order.
    const added = await stack.request(AddToCartDocument, { productId: wallet.id, quantity: 1 }, token);
    expect(added.errors).toBeUndefined();
    const checkout = await stack.request(CheckoutDocument, { input: { idempotencyKey: randomUUID(), paymentMethod: 'dev-decline' } }, token);
    const orderId = checkout.data!.checkout.id;
    const cancelled = await inbox.take(email, `Your Mercado order ${numbered(orderId)} was cancelled`);
    expect(cancelled.text).toContain('The payment did not go through.');
    expect(cancelled.text).toContain('Hello Carl Cancel,');
    expect((await stack.request(CancelOrderDocument, { id: orderId }, token)).errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });
});
