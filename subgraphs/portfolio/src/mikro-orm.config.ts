import { InboxRecord } from '../../kit/src/events';
import { FillEntity } from './holding/fill.entity';
import { HoldingEntity } from './holding/holding.entity';
import { Migration0001Init } from './migrations/Migration0001Init';
import { Migration0002ErasedUsers } from './migrations/Migration0002ErasedUsers';
import { PortfolioEntity } from './portfolio/portfolio.entity';
import { LastPriceEntity } from './price/last-price.entity';
import { SnapshotEntity } from './snapshot/snapshot.entity';
import { TargetAllocationEntity } from './target/target.entity';

export const portfolioEntities = [PortfolioEntity, HoldingEntity, FillEntity, LastPriceEntity, SnapshotEntity, TargetAllocationEntity, InboxRecord];

export const portfolioMigrations = [
  { name: 'Migration0001Init', class: Migration0001Init },
  { name: 'Migration0002ErasedUsers', class: Migration0002ErasedUsers },
];
