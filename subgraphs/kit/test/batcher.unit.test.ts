import { createBatcher } from '../src/batcher';

/** A batch function that records its batches and answers when the test releases them. */
function recorder() {
  const batches: number[][] = [];
  const pending: (() => void)[] = [];
  const run = (items: readonly number[]) => {
    batches.push([...items]);
    return new Promise<(number | Error)[]>((resolve) => {
      pending.push(() => resolve(items.map((item) => (item < 0 ? new Error(`negative: ${item}`) : item * 10))));
    });
  };
  const releaseAll = () => {
    for (const release of pending.splice(0)) release();
  };
  const nextBatch = (count: number) =>
    new Promise<void>((resolve) => {
      const check = () => (batches.length >= count ? resolve() : setImmediate(check));
      check();
    });
  return { batches, run, releaseAll, nextBatch };
}

describe('createBatcher', () => {
  it('sends the items that arrive together as one batch and answers each with its own result', async () => {
    const { batches, run, releaseAll, nextBatch } = recorder();
    const batcher = createBatcher(run, { maxBatchSize: 10, maxInFlight: 2 });
    const answers = Promise.all([1, 2, 3].map((item) => batcher.load(item)));
    await nextBatch(1);
    releaseAll();
    expect(await answers).toEqual([10, 20, 30]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('gathers items into the next batch while maxInFlight batches run', async () => {
    const { batches, run, releaseAll, nextBatch } = recorder();
    const batcher = createBatcher(run, { maxBatchSize: 10, maxInFlight: 1 });
    const first = batcher.load(1);
    await nextBatch(1);
    // The first batch is still running: these wait, together.
    const later = [2, 3, 4].map((item) => batcher.load(item));
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([[1]]);
    releaseAll();
    expect(await first).toBe(10);
    await nextBatch(2);
    releaseAll();
    expect(await Promise.all(later)).toEqual([20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('splits at maxBatchSize', async () => {
    const { batches, run, releaseAll, nextBatch } = recorder();
    const batcher = createBatcher(run, { maxBatchSize: 2, maxInFlight: 4 });
    const answers = Promise.all([1, 2, 3, 4, 5].map((item) => batcher.load(item)));
    await nextBatch(3);
    releaseAll();
    expect(await answers).toEqual([10, 20, 30, 40, 50]);
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('fails only the items the batch answered with an Error, and every item when the batch throws', async () => {
    const { run, releaseAll, nextBatch } = recorder();
    const batcher = createBatcher(run, { maxBatchSize: 10, maxInFlight: 2 });
    const answers = Promise.allSettled([1, -2, 3].map((item) => batcher.load(item)));
    await nextBatch(1);
    releaseAll();
    expect((await answers).map((answer) => answer.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);

    const failing = createBatcher<number, number>(() => Promise.reject(new Error('database down')), { maxBatchSize: 10, maxInFlight: 1 });
    const failed = await Promise.allSettled([1, 2].map((item) => failing.load(item)));
    expect(failed.map((answer) => (answer.status === 'rejected' ? (answer.reason as Error).message : 'fulfilled'))).toEqual(['database down', 'database down']);
    // The slot is free again after a failure (with maxInFlight 1, a leaked slot would leave this unanswered).
    await expect(failing.load(3)).rejects.toThrow('database down');
  });

  it('waits windowMs before a batch leaves, gathering what arrives meanwhile', async () => {
    const { batches, run, releaseAll, nextBatch } = recorder();
    const batcher = createBatcher(run, { maxBatchSize: 10, maxInFlight: 1, windowMs: 30 });
    const first = batcher.load(1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = batcher.load(2);
    await nextBatch(1);
    releaseAll();
    expect(await Promise.all([first, second])).toEqual([10, 20]);
    expect(batches).toEqual([[1, 2]]);
  });
});
