import { Entity, PrimaryKey, PrimaryKeyProp, Property } from '@mikro-orm/core';
import type { Timeframe } from './timeframes';

/**
 * One OHLCV candle of one instrument and timeframe; the key is (symbol, timeframe, open_time), so a
 * candle written twice is updated in place. One-minute candles come from the feed; longer ones are
 * rolled up from them in SQL (see MarketRecorder).
 */
@Entity({ tableName: 'candle' })
export class CandleEntity {
  [PrimaryKeyProp]?: ['symbol', 'timeframe', 'openTime'];

  @PrimaryKey({ type: 'string', length: 40 })
  symbol!: string;

  @PrimaryKey({ type: 'string', length: 3 })
  timeframe!: Timeframe;

  @PrimaryKey({ type: 'datetime' })
  openTime!: Date;

  /** Exclusive end: openTime plus the timeframe. */
  @Property({ type: 'datetime' })
  closeTime!: Date;

  @Property({ type: 'decimal', columnType: 'numeric' })
  open!: string;

  @Property({ type: 'decimal', columnType: 'numeric' })
  high!: string;

  @Property({ type: 'decimal', columnType: 'numeric' })
  low!: string;

  @Property({ type: 'decimal', columnType: 'numeric' })
  close!: string;

  @Property({ type: 'decimal', columnType: 'numeric' })
  volume!: string;
}
