import { formatMoney, orderCancelledMail, orderConfirmedMail } from '../src/notifications/order-mail';

describe('order mails', () => {
  it('formats minor units with the currency\'s own digits, without floats', () => {
    expect(formatMoney(20700, 'USD')).toBe('207.00 USD');
    expect(formatMoney(5, 'EUR')).toBe('0.05 EUR');
    expect(formatMoney(0, 'USD')).toBe('0.00 USD');
    expect(formatMoney(1500, 'JPY')).toBe('1500 JPY');
    expect(formatMoney(1234, 'KWD')).toBe('1.234 KWD');
    expect(formatMoney(-250, 'GBP')).toBe('-2.50 GBP');
    expect(formatMoney(900719925474099, 'USD')).toBe('9007199254740.99 USD');
    // A code Intl does not know keeps two digits.
    expect(formatMoney(1999, 'ZZZ')).toBe('19.99 ZZZ');
  });

  it('tells a buyer of digital products that they are in the account, and names each cancel reason', () => {
    const order = { orderId: '0f1e2d3c-0000-4000-8000-000000000000', totalAmount: 1900, currency: 'USD', lines: [{ sku: 'PLAN-PRO', name: 'Pro plan', kind: 'PLAN', quantity: 1, unitAmount: 1900 }] };
    const receipt = orderConfirmedMail('a@example.com', 'Ann', order);
    expect(receipt.subject).toBe('Your Mercado order 0F1E2D3C is confirmed');
    expect(receipt.text).toContain('1 × Pro plan (PLAN-PRO): 19.00 USD');
    expect(receipt.text).toContain('Your indicators and plans are in your account now.');
    expect(receipt.text).not.toContain('ship');
    expect(orderCancelledMail('a@example.com', 'Ann', order.orderId, 'OUT_OF_STOCK').text).toContain('Some of its items are out of stock.');
    expect(orderCancelledMail('a@example.com', 'Ann', order.orderId, 'EXPIRED').text).toContain('The payment was not completed in time.');
    expect(orderCancelledMail('a@example.com', 'Ann', order.orderId, 'CUSTOMER').text).toContain('You cancelled it.');
  });
});
