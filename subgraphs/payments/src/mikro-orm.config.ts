import { OutboxEvent } from '../../kit/src';
import { InboxRecord } from '../../kit/src/events';
import { Migration0001Init } from './migrations/Migration0001Init';
import { Migration0002OrderEvents } from './migrations/Migration0002OrderEvents';
import { Migration0003OutboxWake } from './migrations/Migration0003OutboxWake';
import { Migration0004StalledCharges } from './migrations/Migration0004StalledCharges';
import { Migration0005UnsentRefunds } from './migrations/Migration0005UnsentRefunds';
import { Migration0006OwedCancellations } from './migrations/Migration0006OwedCancellations';
import { Migration0007OutboxTrace } from './migrations/Migration0007OutboxTrace';
import { Migration0008OutboxPending } from './migrations/Migration0008OutboxPending';
import { OrderCancellationEntity } from './payment/order-cancellation.entity';
import { PaymentEntity } from './payment/payment.entity';
import { RefundEntity } from './payment/refund.entity';
import { StripeEventEntity } from './payment/stripe-event.entity';

export const paymentsEntities = [PaymentEntity, RefundEntity, StripeEventEntity, OrderCancellationEntity, OutboxEvent, InboxRecord];

export const paymentsMigrations = [
  { name: 'Migration0001Init', class: Migration0001Init },
  { name: 'Migration0002OrderEvents', class: Migration0002OrderEvents },
  { name: 'Migration0003OutboxWake', class: Migration0003OutboxWake },
  { name: 'Migration0004StalledCharges', class: Migration0004StalledCharges },
  { name: 'Migration0005UnsentRefunds', class: Migration0005UnsentRefunds },
  { name: 'Migration0006OwedCancellations', class: Migration0006OwedCancellations },
  { name: 'Migration0007OutboxTrace', class: Migration0007OutboxTrace },
  { name: 'Migration0008OutboxPending', class: Migration0008OutboxPending },
];
