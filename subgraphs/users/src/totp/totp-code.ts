import { authenticator } from 'otplib';

export const TOTP_STEP_SECONDS = 30;

export const generateTotpSecret = (): string => authenticator.generateSecret(20);

export const totpKeyUri = (account: string, issuer: string, secret: string): string => authenticator.keyuri(account, issuer, secret);

/**
 * Checks a 6-digit code at `now`, accepting one step of clock drift either way. Returns the
 * time step the code belongs to, or null when it is wrong or that step (or a later one) was
 * already used: each code works once.
 */
export function verifyTotpCode(secret: string, code: string, now: Date, lastStep: number | null): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = authenticator.clone({ epoch: now.getTime(), window: 1 }).checkDelta(code, secret);
  if (delta === null) return null;
  const step = Math.floor(now.getTime() / 1000 / TOTP_STEP_SECONDS) + delta;
  if (lastStep !== null && step <= lastStep) return null;
  return step;
}
