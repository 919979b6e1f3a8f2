import { randomUUID } from 'node:crypto';
import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/** One refused webhook delivery, kept for the endpoint's owner (and admins) to see why. */
@Entity({ tableName: 'webhook_refusal' })
@Index({ properties: ['endpointId', 'receivedAt'] })
export class WebhookRefusalEntity {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** Null when the token named no endpoint. */
  @Property({ type: 'uuid', nullable: true })
  endpointId!: string | null;

  @Property({ type: 'string', length: 100, nullable: true })
  userId!: string | null;

  /** The HTTP status answered. */
  @Property({ type: 'smallint' })
  status!: number;

  @Property({ type: 'string', length: 40 })
  reason!: string;

  @Property({ type: 'string', length: 500, nullable: true })
  detail!: string | null;

  @Property({ type: 'string', length: 64, nullable: true })
  remoteIp!: string | null;

  @Property({ type: 'string', length: 100, nullable: true })
  contentType!: string | null;

  /** The start of the body, secrets redacted. */
  @Property({ type: 'text', nullable: true })
  body!: string | null;

  @Property({ type: 'datetime', length: 3 })
  receivedAt: Date = new Date();
}
