import { InboxRecord, OutboxEvent } from '../../kit/src';
import { WebhookEndpointEntity } from './endpoint/endpoint.entity';
import { WebhookRefusalEntity } from './ingest/refusal.entity';
import { Migration0001Init } from './migrations/Migration0001Init';
import { Migration0002TradingViewSession } from './migrations/Migration0002TradingViewSession';
import { Migration0003IngestBatch } from './migrations/Migration0003IngestBatch';
import { Migration0004ErasedUser } from './migrations/Migration0004ErasedUser';
import { Migration0005OutboxTrace } from './migrations/Migration0005OutboxTrace';
import { Migration0006EndpointState } from './migrations/Migration0006EndpointState';
import { Migration0007OutboxPending } from './migrations/Migration0007OutboxPending';
import { SignalUsageEntity, UserPlanEntity } from './plan/plan.entity';
import { SignalEntity } from './signal/signal.entity';
import { TradingViewSessionEntity } from './tradingview/session.entity';

export const signalsEntities = [WebhookEndpointEntity, SignalEntity, UserPlanEntity, SignalUsageEntity, WebhookRefusalEntity, TradingViewSessionEntity, OutboxEvent, InboxRecord];

export const signalsMigrations = [
  { name: 'Migration0001Init', class: Migration0001Init },
  { name: 'Migration0002TradingViewSession', class: Migration0002TradingViewSession },
  { name: 'Migration0003IngestBatch', class: Migration0003IngestBatch },
  { name: 'Migration0004ErasedUser', class: Migration0004ErasedUser },
  { name: 'Migration0005OutboxTrace', class: Migration0005OutboxTrace },
  { name: 'Migration0006EndpointState', class: Migration0006EndpointState },
  { name: 'Migration0007OutboxPending', class: Migration0007OutboxPending },
];
