import { OutboxEvent } from '../../kit/src';
import { Migration0001Init } from './migrations/Migration0001Init';
import { StockLevelEntity } from './stock/stock-level.entity';
import { StockMovementEntity } from './stock/stock-movement.entity';

export const inventoryEntities = [StockLevelEntity, StockMovementEntity, OutboxEvent];

export const inventoryMigrations = [{ name: 'Migration0001Init', class: Migration0001Init }];
