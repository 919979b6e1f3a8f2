import { OutboxEvent } from '../../kit/src';
import { CandleEntity } from './market/candle.entity';
import { InstrumentEntity } from './market/instrument.entity';
import { Migration0001Init } from './migrations/Migration0001Init';

export const tradingEntities = [InstrumentEntity, CandleEntity, OutboxEvent];

export const tradingMigrations = [{ name: 'Migration0001Init', class: Migration0001Init }];
