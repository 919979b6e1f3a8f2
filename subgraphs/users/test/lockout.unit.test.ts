import { activeLock, afterFailedLogin, afterSuccessfulLogin } from '../src/auth/lockout';

describe('lockout rules', () => {
  const policy = { maxFailures: 5, lockoutSeconds: 900 };
  const now = new Date('2030-01-01T00:00:00Z');

  it('counts failures and locks on the fifth, starting the count again', () => {
    let state = { failedLoginCount: 0, lockedUntil: null as Date | null };
    for (let i = 1; i <= 4; i += 1) {
      const next = afterFailedLogin(state, policy, now);
      expect(next).toEqual({ failedLoginCount: i, lockedUntil: null, lockedNow: false });
      state = next;
    }
    expect(afterFailedLogin(state, policy, now)).toEqual({ failedLoginCount: 0, lockedUntil: new Date('2030-01-01T00:15:00Z'), lockedNow: true });
  });

  it('treats a lock as active strictly before its end', () => {
    const lockedUntil = new Date('2030-01-01T00:15:00Z');
    expect(activeLock({ failedLoginCount: 0, lockedUntil }, new Date('2030-01-01T00:14:59.999Z'))).toEqual(lockedUntil);
    expect(activeLock({ failedLoginCount: 0, lockedUntil }, lockedUntil)).toBeNull();
    expect(activeLock({ failedLoginCount: 0, lockedUntil: null }, now)).toBeNull();
  });

  it('drops an expired lock on the next failure and clears everything on success', () => {
    const expired = { failedLoginCount: 0, lockedUntil: new Date('2029-12-31T23:00:00Z') };
    expect(afterFailedLogin(expired, policy, now)).toEqual({ failedLoginCount: 1, lockedUntil: null, lockedNow: false });
    expect(afterSuccessfulLogin()).toEqual({ failedLoginCount: 0, lockedUntil: null });
  });

  it('honours a configured threshold and duration', () => {
    expect(afterFailedLogin({ failedLoginCount: 0, lockedUntil: null }, { maxFailures: 1, lockoutSeconds: 60 }, now).lockedUntil).toEqual(new Date('2030-01-01T00:01:00Z'));
  });
});
