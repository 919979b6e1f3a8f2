import { OutboxEvent } from '../../kit/src';
import { CartEntity, CartLineEntity } from './cart/cart.entity';
import { Migration0001Init } from './migrations/Migration0001Init';
import { Migration0002OutboxWake } from './migrations/Migration0002OutboxWake';
import { Migration0003ProductNames } from './migrations/Migration0003ProductNames';
import { Migration0004OutboxTrace } from './migrations/Migration0004OutboxTrace';
import { Migration0005OutboxPending } from './migrations/Migration0005OutboxPending';
import { OrderEntity, OrderHistoryEntity, OrderLineEntity } from './order/order.entity';
import { ProductSnapshotEntity } from './product/product-snapshot.entity';
import { OrderReturnEntity } from './return/return.entity';

export const ordersEntities = [ProductSnapshotEntity, CartEntity, CartLineEntity, OrderEntity, OrderLineEntity, OrderHistoryEntity, OrderReturnEntity, OutboxEvent];

export const ordersMigrations = [
  { name: 'Migration0001Init', class: Migration0001Init },
  { name: 'Migration0002OutboxWake', class: Migration0002OutboxWake },
  { name: 'Migration0003ProductNames', class: Migration0003ProductNames },
  { name: 'Migration0004OutboxTrace', class: Migration0004OutboxTrace },
  { name: 'Migration0005OutboxPending', class: Migration0005OutboxPending },
];
