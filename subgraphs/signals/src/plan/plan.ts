/** Signal quotas are per plan; the plan comes from orders' PlanChanged events (unknown users are free). */
export const PLANS = ['free', 'pro', 'premium'] as const;
export type Plan = (typeof PLANS)[number];

/**
 * The quota plan of a plan code from PlanChanged (`FREE`, `PRO`, `PREMIUM`, `PRO-YEAR`, …): the
 * billing period suffix does not change the quota; a code we do not know grants nothing beyond free.
 */
export function planOfCode(code: string): Plan {
  const upper = code.trim().toUpperCase();
  if (upper === 'PREMIUM' || upper.startsWith('PREMIUM-')) return 'premium';
  if (upper === 'PRO' || upper.startsWith('PRO-')) return 'pro';
  return 'free';
}

/** The calendar month (UTC) a moment counts against, and when its quota resets. */
export function quotaMonth(at: Date): { month: string; resetsAt: Date } {
  const start = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1);
  return {
    month: new Date(start).toISOString().slice(0, 10),
    resetsAt: new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1)),
  };
}
