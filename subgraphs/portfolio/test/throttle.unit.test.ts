import { Throttle, type Clock } from '../src/portfolio/throttle';

/** A clock the test moves by hand. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = 1_000;
  const timers = new Map<number, { at: number; run: () => void }>();
  let next = 0;
  return {
    now: () => now,
    setTimeout(run, ms) {
      next += 1;
      timers.set(next, { at: now + ms, run });
      return next;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      now += ms;
      for (const [id, timer] of [...timers].sort((a, b) => a[1].at - b[1].at)) {
        if (timer.at > now) continue;
        timers.delete(id);
        timer.run();
      }
    },
  };
}

describe('Throttle', () => {
  it('fires at once after a quiet interval, then merges a burst into one trailing call', () => {
    const clock = manualClock();
    const fired: number[] = [];
    const throttle = new Throttle(500, () => fired.push(clock.now()), clock);
    throttle.signal();
    expect(fired).toEqual([1_000]);
    for (let step = 0; step < 10; step += 1) {
      clock.advance(20);
      throttle.signal();
    }
    expect(fired).toEqual([1_000]);
    clock.advance(300);
    expect(fired).toEqual([1_000, 1_500]);
    // Nothing new: nothing more.
    clock.advance(2_000);
    expect(fired).toEqual([1_000, 1_500]);
    throttle.signal();
    expect(fired).toEqual([1_000, 1_500, 3_500]);
  });

  it('counts a call made elsewhere, and fires nothing once closed', () => {
    const clock = manualClock();
    const fired: number[] = [];
    const throttle = new Throttle(500, () => fired.push(clock.now()), clock);
    throttle.fired();
    throttle.signal();
    expect(fired).toEqual([]);
    clock.advance(500);
    expect(fired).toEqual([1_500]);
    throttle.signal();
    throttle.close();
    clock.advance(1_000);
    throttle.signal();
    expect(fired).toEqual([1_500]);
  });
});
