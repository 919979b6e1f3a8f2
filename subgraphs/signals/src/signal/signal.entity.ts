import { Entity, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import type { SignalAction } from '../ingest/normalize';

export const SIGNAL_RESULTS = ['PENDING', 'WIN', 'LOSS', 'SKIP'] as const;
export type SignalResultValue = (typeof SIGNAL_RESULTS)[number];
export const SCREENSHOT_STATUSES = ['PENDING', 'READY', 'FAILED'] as const;
export type ScreenshotStatusValue = (typeof SCREENSHOT_STATUSES)[number];

/**
 * One alert that became a signal. Written by the webhook in raw SQL (`signals_ingest`); the ORM
 * reads it and applies the later changes (screenshot, result). Prices are Postgres numerics, read
 * as decimal strings.
 */
@Entity({ tableName: 'signal' })
@Index({ properties: ['userId', 'receivedAt', 'id'] })
export class SignalEntity {
  [OptionalProps]?: 'screenshotStatus' | 'screenshotFile' | 'screenshotError' | 'result' | 'exitPrice' | 'profitLoss' | 'notes' | 'resolvedAt';

  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'string', length: 100 })
  userId!: string;

  @Property({ type: 'uuid' })
  endpointId!: string;

  @Property({ type: 'string', length: 200, nullable: true })
  indicator!: string | null;

  @Property({ type: 'string', length: 100 })
  ticker!: string;

  @Property({ type: 'string', length: 50, nullable: true })
  exchange!: string | null;

  @Property({ type: 'string', length: 100 })
  symbol!: string;

  @Property({ type: 'decimal', nullable: true })
  price!: string | null;

  @Property({ type: 'string', length: 50, nullable: true })
  signalType!: string | null;

  @Property({ type: 'string', length: 10 })
  action!: SignalAction;

  @Property({ type: 'string', length: 10, nullable: true })
  timeframe!: string | null;

  @Property({ type: 'string', length: 100, nullable: true })
  chartId!: string | null;

  @Property({ type: 'decimal', nullable: true })
  takeProfit!: string | null;

  @Property({ type: 'decimal', nullable: true })
  stopLoss!: string | null;

  @Property({ type: 'string', length: 50, nullable: true })
  quantity!: string | null;

  @Property({ type: 'datetime', length: 3, nullable: true })
  alertTime!: Date | null;

  @Property({ type: 'json', nullable: true })
  extra!: Record<string, unknown> | null;

  @Property({ type: 'text', nullable: true })
  message!: string | null;

  @Property({ type: 'datetime', length: 3 })
  receivedAt!: Date;

  @Property({ type: 'string', length: 10 })
  screenshotStatus: ScreenshotStatusValue = 'PENDING';

  @Property({ type: 'string', length: 300, nullable: true })
  screenshotFile: string | null = null;

  @Property({ type: 'string', length: 500, nullable: true })
  screenshotError: string | null = null;

  @Property({ type: 'string', length: 10 })
  result: SignalResultValue = 'PENDING';

  @Property({ type: 'decimal', nullable: true })
  exitPrice: string | null = null;

  /** Percent of the entry price won (positive) or lost (negative). */
  @Property({ type: 'decimal', nullable: true })
  profitLoss: string | null = null;

  @Property({ type: 'text', nullable: true })
  notes: string | null = null;

  @Property({ type: 'datetime', length: 3, nullable: true })
  resolvedAt: Date | null = null;
}
