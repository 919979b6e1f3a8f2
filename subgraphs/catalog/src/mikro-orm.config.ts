import { OutboxEvent } from '../../kit/src';
import { CategoryEntity } from './category/category.entity';
import { Migration0001Init } from './migrations/Migration0001Init';
import { Migration0002OutboxNotify } from './migrations/Migration0002OutboxNotify';
import { Migration0003OutboxWake } from './migrations/Migration0003OutboxWake';
import { Migration0004Inbox } from './migrations/Migration0004Inbox';
import { Migration0005OutboxTrace } from './migrations/Migration0005OutboxTrace';
import { Migration0006OutboxPending } from './migrations/Migration0006OutboxPending';
import { ProductCategoryEntity, ProductEntity } from './product/product.entity';
import { ReviewEntity } from './review/review.entity';

export const catalogEntities = [CategoryEntity, ProductEntity, ProductCategoryEntity, ReviewEntity, OutboxEvent];

export const catalogMigrations = [
  { name: 'Migration0001Init', class: Migration0001Init },
  { name: 'Migration0002OutboxNotify', class: Migration0002OutboxNotify },
  { name: 'Migration0003OutboxWake', class: Migration0003OutboxWake },
  { name: 'Migration0004Inbox', class: Migration0004Inbox },
  { name: 'Migration0005OutboxTrace', class: Migration0005OutboxTrace },
  { name: 'Migration0006OutboxPending', class: Migration0006OutboxPending },
];
