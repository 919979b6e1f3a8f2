import type { EntityManager } from '../../../kit/src';
import type { RollupHandler, RollupHandlers } from '../shared/consume';
import { payloadReader } from '../shared/payload';
import { dayOf, type Day } from '../shared/time';

/** Results that count; a signal reopened to PENDING emits no event. */
const RESULT_COLUMNS = { WIN: 'wins', LOSS: 'losses', SKIP: 'skips' } as const;
type Result = keyof typeof RESULT_COLUMNS;
type SignalCount = 'received' | 'screenshots' | (typeof RESULT_COLUMNS)[Result];

/** SignalResolved (signals): `{ signalId, userId, result, exitPrice, profitLoss, manual, resolvedAt }`. */
export interface SignalResolution {
  signalId: string;
  result: Result;
  resolvedAt: Date;
}

async function addSignalCount(em: EntityManager, day: Day, count: SignalCount, delta: 1 | -1): Promise<void> {
  await em.execute(
    `insert into "signal_stats" ("day", "${count}") values (?::date, ?) on conflict ("day") do update set "${count}" = "signal_stats"."${count}" + excluded."${count}"`,
    [day, delta],
    'run',
  );
}

/** SignalReceived and SignalScreenshotReady each add one on the day they occurred; nothing in the payload is required. */
const counted = (count: 'received' | 'screenshots'): RollupHandler<Day> => ({
  parse: (envelope) => dayOf(payloadReader(envelope).occurredAt),
  apply: (em, day) => addSignalCount(em, day, count, 1),
});

/**
 * A signal's latest result counts, on the day it was resolved: the owner may mark it again (WIN
 * then LOSS), so the previous result is taken back. The row is created first and then locked, so
 * two resolutions of one signal apply one after the other; an older one arriving late changes nothing.
 */
const signalResolved: RollupHandler<SignalResolution> = {
  parse(envelope) {
    const read = payloadReader(envelope);
    return { signalId: read.id('signalId'), result: read.label('result', /^(WIN|LOSS|SKIP)$/) as Result, resolvedAt: read.timeOr('resolvedAt') };
  },
  async apply(em, resolution) {
    await em.execute(`insert into "signal_outcome" ("signal_id") values (?) on conflict ("signal_id") do nothing`, [resolution.signalId], 'run');
    const [previous]: { result: Result | null; day: string | null; resolved_at: string | Date | null }[] = await em.execute(
      `select "result", to_char("day", 'YYYY-MM-DD') as "day", "resolved_at" from "signal_outcome" where "signal_id" = ? for update`,
      [resolution.signalId],
    );
    if (previous?.resolved_at && new Date(previous.resolved_at).getTime() >= resolution.resolvedAt.getTime()) return;
    const day = dayOf(resolution.resolvedAt);
    if (previous?.result && previous.day) await addSignalCount(em, previous.day, RESULT_COLUMNS[previous.result], -1);
    await addSignalCount(em, day, RESULT_COLUMNS[resolution.result], 1);
    await em.execute(`update "signal_outcome" set "result" = ?, "day" = ?::date, "resolved_at" = ? where "signal_id" = ?`, [resolution.result, day, resolution.resolvedAt, resolution.signalId], 'run');
  },
};

export const signalHandlers: RollupHandlers = {
  SignalReceived: counted('received'),
  SignalScreenshotReady: counted('screenshots'),
  SignalResolved: signalResolved,
};
