import { fireChunks } from '../src/orders/order-engine';

const fired = (accountId: string, n: number) => Array.from({ length: n }, (_, index) => ({ id: `${accountId}-${index}`, record: { accountId } }));

describe('fireChunks', () => {
  it('keeps a small tick in one statement', () => {
    const batch = [...fired('a', 3), ...fired('b', 5)];
    expect(fireChunks(batch)).toEqual([batch]);
  });

  it('splits a wide tick into statements of about 16 orders, never splitting an account', () => {
    const batch = ['a', 'b', 'c', 'd', 'e', 'f'].flatMap((account) => fired(account, 6));
    const chunks = fireChunks(batch);
    expect(chunks.map((chunk) => chunk.length)).toEqual([12, 12, 12]);
    for (const chunk of chunks) expect(new Set(chunk.map((order) => order.record.accountId)).size).toBe(2);
    expect(chunks.flat()).toHaveLength(batch.length);
  });

  it('keeps one account whole even when it alone is over the size', () => {
    const batch = [...fired('big', 40), ...fired('small', 2)];
    expect(fireChunks(batch).map((chunk) => chunk.length)).toEqual([40, 2]);
  });

  it('grows the statements when a tick fires more than four times 16 orders', () => {
    const batch = Array.from({ length: 200 }, (_, index) => fired(`acct-${index}`, 1)[0]!);
    const chunks = fireChunks(batch);
    expect(chunks.map((chunk) => chunk.length)).toEqual([50, 50, 50, 50]);
  });
});
