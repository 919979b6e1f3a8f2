/** Reports count in UTC days: a day is its ISO date, `YYYY-MM-DD`. */
export type Day = string;

const DAY_MS = 24 * 3600 * 1000;
const HOUR_MS = 3600 * 1000;

export const dayOf = (at: Date): Day => at.toISOString().slice(0, 10);

export const startOfDay = (day: Day): Date => new Date(`${day}T00:00:00.000Z`);

export const addDays = (day: Day, days: number): Day => dayOf(new Date(startOfDay(day).getTime() + days * DAY_MS));

/** Days from `from` to `to`, both included (empty when `to` is before `from`). */
export function daysBetween(from: Day, to: Day): Day[] {
  const days: Day[] = [];
  for (let day = from; day <= to; day = addDays(day, 1)) days.push(day);
  return days;
}

/** The start of the UTC hour `at` falls in (trading volume is kept per hour for the rolling 24 h). */
export const hourOf = (at: Date): Date => new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);

/** Start of the rolling 24 h window: the current hour and the 23 before it. */
export const last24HoursStart = (now: Date): Date => new Date(hourOf(now).getTime() - 23 * HOUR_MS);
