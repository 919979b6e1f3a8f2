import { Field, ObjectType } from 'type-graphql';
import type { TradingViewSessionEntity } from './session.entity';

/** What the owner may know of their stored TradingView session: never a cookie value. */
@ObjectType('TradingViewSession', { description: 'The viewer\'s TradingView session, used to screenshot their own charts. Cookie values are stored sealed and never returned.' })
export class TradingViewSession {
  @Field(() => Boolean, { description: 'A session is stored: alerts naming a chart (or with a default chart) are shot on TradingView.' })
  connected!: boolean;

  @Field(() => Date, { nullable: true, description: 'When the cookies were last set; null when not connected.' })
  updatedAt!: Date | null;

  @Field(() => String, { nullable: true, description: 'The chart shot when an alert names none.' })
  defaultChartId!: string | null;

  @Field(() => [String], { description: 'Names of the stored cookies (sessionid, sessionid_sign); empty when not connected.' })
  cookieNames!: string[];
}

export const NOT_CONNECTED: TradingViewSession = { connected: false, updatedAt: null, defaultChartId: null, cookieNames: [] };

export function toTradingViewSession(entity: TradingViewSessionEntity | null): TradingViewSession {
  if (!entity) return { ...NOT_CONNECTED };
  return { connected: true, updatedAt: entity.updatedAt, defaultChartId: entity.defaultChartId, cookieNames: [...entity.cookieNames] };
}
