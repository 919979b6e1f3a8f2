import { ClientStream } from '../../src/subscriptions/stream';

const drain = async (stream: ClientStream<number>): Promise<number[]> => {
  const values: number[] = [];
  for await (const value of stream) values.push(value);
  return values;
};

describe('ClientStream', () => {
  it('conflates: a client that has not pulled keeps only the latest value', async () => {
    const stream = new ClientStream<number>({ policy: { kind: 'conflate' }, onReturn: () => undefined });
    stream.push(1);
    stream.push(2);
    stream.push(3);
    stream.end();

    expect(await drain(stream)).toEqual([3]);
    expect(stream.skipped).toBe(2);
  });

  it('hands a value straight to a waiting reader', async () => {
    const stream = new ClientStream<number>({ policy: { kind: 'conflate' }, onReturn: () => undefined });
    const next = stream.next();
    stream.push(1);
    stream.push(2);

    expect(await next).toEqual({ value: 1, done: false });
    expect(await stream.next()).toEqual({ value: 2, done: false });
    expect(stream.skipped).toBe(0);
  });

  it('queues every value in order, then ends with the overflow value when the client falls too far behind', async () => {
    const stream = new ClientStream<number>({ policy: { kind: 'queue', limit: 3 }, onReturn: () => undefined, overflow: () => -1 });
    stream.push(1);
    stream.push(2);
    stream.push(3);
    expect(stream.done).toBe(false);
    stream.push(4);

    expect(stream.done).toBe(true);
    expect(await drain(stream)).toEqual([-1]);
  });

  it('delivers what is buffered before the end, unless discarded', async () => {
    const kept = new ClientStream<number>({ policy: { kind: 'queue', limit: 10 }, onReturn: () => undefined });
    kept.push(1);
    kept.push(2);
    kept.end();
    expect(await drain(kept)).toEqual([1, 2]);

    const discarded = new ClientStream<number>({ policy: { kind: 'queue', limit: 10 }, onReturn: () => undefined });
    discarded.push(1);
    discarded.end(true);
    expect(await drain(discarded)).toEqual([]);
  });

  it('return() ends a reader waiting for a value at once and reports the unsubscribe once', async () => {
    let returned = 0;
    const stream = new ClientStream<number>({ policy: { kind: 'conflate' }, onReturn: () => (returned += 1) });
    const waiting = stream.next();

    await stream.return();
    await stream.return();

    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(returned).toBe(1);
    stream.push(1);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('does not report an unsubscribe for a stream the producer ended', async () => {
    let returned = 0;
    const stream = new ClientStream<number>({ policy: { kind: 'conflate' }, onReturn: () => (returned += 1) });
    stream.end();
    await stream.return();

    expect(returned).toBe(0);
  });
});
