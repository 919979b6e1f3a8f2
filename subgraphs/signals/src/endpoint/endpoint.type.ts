import { Directive, Field, ID, Int, ObjectType } from 'type-graphql';
import type { WebhookEndpointEntity } from './endpoint.entity';

@ObjectType('WebhookDefaults', { description: 'What a signal takes when its alert does not say.' })
export class WebhookDefaults {
  @Field(() => String, { nullable: true, description: 'e.g. BINANCE.' })
  exchange!: string | null;

  @Field(() => String, { nullable: true, description: 'e.g. 15m.' })
  timeframe!: string | null;

  @Field(() => String, { nullable: true })
  indicator!: string | null;

  @Field(() => String, { nullable: true, description: 'A price ("68000.5") or a distance from the entry in percent ("2.5%").' })
  takeProfit!: string | null;

  @Field(() => String, { nullable: true, description: 'A price or a distance from the entry in percent.' })
  stopLoss!: string | null;
}

/** An endpoint as its owner sees it: never its token (shown once, by create and rotate). */
@ObjectType('WebhookEndpoint', { description: 'A URL TradingView alerts are posted to. Only its owner sees it.' })
@Directive('@key(fields: "id")')
export class WebhookEndpoint {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Boolean, { description: 'False once revoked: its URL answers 404.' })
  active!: boolean;

  @Field(() => Boolean, { description: 'Alerts must carry the passphrase (a "passphrase", "secret", "key" or "token" field).' })
  passphraseRequired!: boolean;

  @Field(() => Boolean, { description: 'Only requests from TradingView\'s published webhook addresses are accepted.' })
  tradingViewIpsOnly!: boolean;

  @Field(() => WebhookDefaults)
  defaults!: WebhookDefaults;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { description: 'When the current token was made.' })
  tokenRotatedAt!: Date;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;

  /** Not a field: the owner. */
  userId!: string;
}

@ObjectType('WebhookEndpointSecret', { description: 'The endpoint with its URL. The URL holds the token: it is shown this once and cannot be read again.' })
export class WebhookEndpointSecret {
  @Field(() => WebhookEndpoint)
  endpoint!: WebhookEndpoint;

  @Field(() => String, { description: 'Paste into the TradingView alert\'s Webhook URL: POST <publicBaseUrl>/webhook/u/<token>.' })
  url!: string;
}

@ObjectType('WebhookRefusal', { description: 'A delivery the webhook refused (audit log). The body is cut short and secrets are redacted.' })
export class WebhookRefusal {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { nullable: true, description: 'Null when the URL named no endpoint.' })
  endpointId!: string | null;

  @Field(() => Int, { description: 'The HTTP status answered.' })
  status!: number;

  @Field(() => String, { description: 'UNKNOWN_TOKEN, REVOKED, IP_NOT_ALLOWED, BODY_TOO_LARGE, RATE_LIMITED, BAD_ALERT, PASSPHRASE_MISMATCH or QUOTA_EXCEEDED.' })
  reason!: string;

  @Field(() => String, { nullable: true })
  detail!: string | null;

  @Field(() => String, { nullable: true })
  remoteIp!: string | null;

  @Field(() => String, { nullable: true })
  body!: string | null;

  @Field(() => Date)
  receivedAt!: Date;
}

export function toWebhookEndpoint(entity: WebhookEndpointEntity): WebhookEndpoint {
  return Object.assign(new WebhookEndpoint(), {
    id: entity.id,
    name: entity.name,
    active: entity.revokedAt === null,
    passphraseRequired: entity.passphraseHash !== null,
    tradingViewIpsOnly: entity.tradingViewIpsOnly,
    defaults: {
      exchange: entity.defaultExchange,
      timeframe: entity.defaultTimeframe,
      indicator: entity.defaultIndicator,
      takeProfit: entity.defaultTakeProfit,
      stopLoss: entity.defaultStopLoss,
    },
    createdAt: entity.createdAt,
    tokenRotatedAt: entity.tokenRotatedAt,
    revokedAt: entity.revokedAt,
    userId: entity.userId,
  });
}
