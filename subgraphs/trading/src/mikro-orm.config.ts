import { InboxRecord, OutboxEvent } from '../../kit/src';
import { ExchangeAccountEntity, PaperBalanceEntity } from './accounts/account.entity';
import { CandleEntity } from './market/candle.entity';
import { InstrumentEntity } from './market/instrument.entity';
import { Migration0001Init } from './migrations/Migration0001Init';
import { Migration0002Trading } from './migrations/Migration0002Trading';
import { Migration0003OrderWrites } from './migrations/Migration0003OrderWrites';
import { Migration0004OutboxWake } from './migrations/Migration0004OutboxWake';
import { Migration0005TrailingActivation } from './migrations/Migration0005TrailingActivation';
import { Migration0006UserErasure } from './migrations/Migration0006UserErasure';
import { Migration0007OutboxTrace } from './migrations/Migration0007OutboxTrace';
import { Migration0008ChangeTrace } from './migrations/Migration0008ChangeTrace';
import { Migration0009OutboxPending } from './migrations/Migration0009OutboxPending';
import { FillEntity, TradeOrderEntity, TradeOrderHistoryEntity } from './orders/trade-order.entity';

export const tradingEntities = [
  InstrumentEntity,
  CandleEntity,
  OutboxEvent,
  InboxRecord,
  ExchangeAccountEntity,
  PaperBalanceEntity,
  TradeOrderEntity,
  FillEntity,
  TradeOrderHistoryEntity,
];

export const tradingMigrations = [
  { name: 'Migration0001Init', class: Migration0001Init },
  { name: 'Migration0002Trading', class: Migration0002Trading },
  { name: 'Migration0003OrderWrites', class: Migration0003OrderWrites },
  { name: 'Migration0004OutboxWake', class: Migration0004OutboxWake },
  { name: 'Migration0005TrailingActivation', class: Migration0005TrailingActivation },
  { name: 'Migration0006UserErasure', class: Migration0006UserErasure },
  { name: 'Migration0007OutboxTrace', class: Migration0007OutboxTrace },
  { name: 'Migration0008ChangeTrace', class: Migration0008ChangeTrace },
  { name: 'Migration0009OutboxPending', class: Migration0009OutboxPending },
];
