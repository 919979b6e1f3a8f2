import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * A user's TradingView session: the sessionid and sessionid_sign cookies, sealed (AES-256-GCM under
 * SECRETS_KEYS, bound to the user id), so screenshots can show the user's own chart. Only the cookie
 * names and the optional default chart are stored in the clear.
 */
@Entity({ tableName: 'tradingview_session' })
export class TradingViewSessionEntity {
  [OptionalProps]?: 'defaultChartId' | 'createdAt' | 'updatedAt';

  @PrimaryKey({ type: 'string', length: 100 })
  userId!: string;

  /** sealCredentials output ("v1.<keyId>.<iv>.<tag>.<ciphertext>"); never returned nor logged. */
  @Property({ type: 'text' })
  sealedCookies!: string;

  @Property({ type: 'json' })
  cookieNames!: string[];

  /** The chart shot when an alert names none. */
  @Property({ type: 'string', length: 64, nullable: true })
  defaultChartId: string | null = null;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', length: 3 })
  updatedAt: Date = new Date();
}
