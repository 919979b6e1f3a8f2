import { InboxRecord, OutboxEvent } from '../../kit/src';
import { Migration0001Init } from './migrations/Migration0001Init';
import { Migration0002Reservations } from './migrations/Migration0002Reservations';
import { Migration0003Returns } from './migrations/Migration0003Returns';
import { Migration0004OutboxWake } from './migrations/Migration0004OutboxWake';
import { Migration0005OutboxTrace } from './migrations/Migration0005OutboxTrace';
import { Migration0006OutboxPending } from './migrations/Migration0006OutboxPending';
import { ReservationEntity } from './reservation/reservation.entity';
import { RestockEntity } from './returns/restock.entity';
import { StockLevelEntity } from './stock/stock-level.entity';
import { StockMovementEntity } from './stock/stock-movement.entity';

export const inventoryEntities = [StockLevelEntity, StockMovementEntity, ReservationEntity, RestockEntity, OutboxEvent, InboxRecord];

export const inventoryMigrations = [
  { name: 'Migration0001Init', class: Migration0001Init },
  { name: 'Migration0002Reservations', class: Migration0002Reservations },
  { name: 'Migration0003Returns', class: Migration0003Returns },
  { name: 'Migration0004OutboxWake', class: Migration0004OutboxWake },
  { name: 'Migration0005OutboxTrace', class: Migration0005OutboxTrace },
  { name: 'Migration0006OutboxPending', class: Migration0006OutboxPending },
];
