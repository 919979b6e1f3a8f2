/** Account lockout after consecutive failed logins; pure, so the rules are unit-tested. */
export interface LockoutPolicy {
  maxFailures: number;
  lockoutSeconds: number;
}

export interface LockoutState {
  failedLoginCount: number;
  lockedUntil: Date | null;
}

/** The instant the lock ends, or null when the account is not locked at `now`. */
export function activeLock(state: LockoutState, now: Date): Date | null {
  return state.lockedUntil && state.lockedUntil.getTime() > now.getTime() ? state.lockedUntil : null;
}

/**
 * The state after one more failed login. Reaching `maxFailures` locks the account and starts
 * the count again, so after the lock expires the user has the full number of attempts.
 */
export function afterFailedLogin(state: LockoutState, policy: LockoutPolicy, now: Date): LockoutState & { lockedNow: boolean } {
  const failures = state.failedLoginCount + 1;
  if (failures >= policy.maxFailures) {
    return { failedLoginCount: 0, lockedUntil: new Date(now.getTime() + policy.lockoutSeconds * 1000), lockedNow: true };
  }
  return { failedLoginCount: failures, lockedUntil: activeLock(state, now), lockedNow: false };
}

export const afterSuccessfulLogin = (): LockoutState => ({ failedLoginCount: 0, lockedUntil: null });
