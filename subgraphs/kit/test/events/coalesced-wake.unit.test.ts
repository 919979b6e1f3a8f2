import { coalescedWake } from '../../src/events/coalesced-wake';

describe('coalescedWake', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('wakes once for a burst of requests, delayMs after the first', () => {
    const wake = jest.fn();
    const waker = coalescedWake(wake, 20);
    waker.request();
    jest.advanceTimersByTime(10);
    waker.request();
    waker.request();
    expect(wake).not.toHaveBeenCalled();
    jest.advanceTimersByTime(10);
    expect(wake).toHaveBeenCalledTimes(1);
    // A request after the wake starts the next round.
    waker.request();
    jest.advanceTimersByTime(20);
    expect(wake).toHaveBeenCalledTimes(2);
  });

  it('drops a pending wake when cancelled', () => {
    const wake = jest.fn();
    const waker = coalescedWake(wake, 20);
    waker.request();
    waker.cancel();
    jest.advanceTimersByTime(100);
    expect(wake).not.toHaveBeenCalled();
  });
});
