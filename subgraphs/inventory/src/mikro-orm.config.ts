import { InboxRecord, OutboxEvent } from '../../kit/src';
import { Migration0001Init } from './migrations/Migration0001Init';
import { Migration0002Reservations } from './migrations/Migration0002Reservations';
import { ReservationEntity } from './reservation/reservation.entity';
import { StockLevelEntity } from './stock/stock-level.entity';
import { StockMovementEntity } from './stock/stock-movement.entity';

export const inventoryEntities = [StockLevelEntity, StockMovementEntity, ReservationEntity, OutboxEvent, InboxRecord];

export const inventoryMigrations = [
  { name: 'Migration0001Init', class: Migration0001Init },
  { name: 'Migration0002Reservations', class: Migration0002Reservations },
];
