import { randomUUID } from 'node:crypto';
import { Entity, Index, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';

/**
 * Where one user's TradingView alerts arrive: `POST /webhook/u/<token>`. Only the SHA-256 of the
 * token is stored (the token is shown once, by create and rotate); the optional passphrase is kept
 * as an HMAC under a salt of its own.
 */
@Entity({ tableName: 'webhook_endpoint' })
@Index({ properties: ['userId', 'createdAt'] })
export class WebhookEndpointEntity {
  [OptionalProps]?: 'id' | 'passphraseSalt' | 'passphraseHash' | 'tradingViewIpsOnly' | 'defaultExchange' | 'defaultTimeframe' | 'defaultIndicator' | 'defaultTakeProfit' | 'defaultStopLoss' | 'createdAt' | 'tokenRotatedAt' | 'revokedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'string', length: 100 })
  userId!: string;

  @Property({ type: 'string', length: 100 })
  name!: string;

  @Property({ type: 'blob' })
  @Unique({ name: 'webhook_endpoint_token_hash_unique' })
  tokenHash!: Buffer;

  @Property({ type: 'blob', nullable: true })
  passphraseSalt: Buffer | null = null;

  @Property({ type: 'blob', nullable: true })
  passphraseHash: Buffer | null = null;

  @Property({ type: 'boolean', fieldName: 'tradingview_ips_only' })
  tradingViewIpsOnly: boolean = false;

  @Property({ type: 'string', length: 50, nullable: true })
  defaultExchange: string | null = null;

  @Property({ type: 'string', length: 10, nullable: true })
  defaultTimeframe: string | null = null;

  @Property({ type: 'string', length: 100, nullable: true })
  defaultIndicator: string | null = null;

  /** A price (`68000.5`) or a distance from the entry in percent (`2.5%`). */
  @Property({ type: 'string', length: 40, nullable: true })
  defaultTakeProfit: string | null = null;

  @Property({ type: 'string', length: 40, nullable: true })
  defaultStopLoss: string | null = null;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', length: 3 })
  tokenRotatedAt: Date = new Date();

  @Property({ type: 'datetime', length: 3, nullable: true })
  revokedAt: Date | null = null;
}
