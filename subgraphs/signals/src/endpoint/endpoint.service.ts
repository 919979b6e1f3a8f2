import { QueryOrder } from '@mikro-orm/core';
import { conflict, isUuid, notFound, type RequestContext, requireRole, requireUuid, requireViewer } from '../../../kit/src';
import { WebhookRefusalEntity } from '../ingest/refusal.entity';
import { WebhookEndpointEntity } from './endpoint.entity';
import type { CreateWebhookEndpointArgs, UpdateWebhookEndpointArgs, WebhookDefaultsInput, WebhookRefusalsArgs } from './endpoint.input';
import { hashPassphrase, hashWebhookToken, newWebhookToken, webhookUrl } from './endpoint.secrets';
import { toWebhookEndpoint, type WebhookEndpoint, type WebhookEndpointSecret, type WebhookRefusal } from './endpoint.type';

export interface EndpointServiceOptions {
  /** Where the webhook URLs point (PUBLIC_BASE_URL). */
  publicBaseUrl: string;
  /** Most live endpoints one user may have. */
  maxEndpointsPerUser: number;
}

const DEFAULT_REFUSALS_PAGE = 50;

/** Webhook endpoints of the viewer: made, listed, changed, given a new token, revoked. */
export class EndpointService {
  constructor(private readonly options: EndpointServiceOptions) {}

  /** A new endpoint and its URL; the token is not stored, only its SHA-256, so this is the one time it is shown. */
  async create(ctx: RequestContext, args: CreateWebhookEndpointArgs): Promise<WebhookEndpointSecret> {
    const viewer = requireViewer(ctx.viewer);
    const live = await ctx.em.count(WebhookEndpointEntity, { userId: viewer.id, revokedAt: null });
    if (live >= this.options.maxEndpointsPerUser) throw conflict(`At most ${this.options.maxEndpointsPerUser} webhook endpoints; revoke one first`);
    const token = newWebhookToken();
    const endpoint = ctx.em.create(WebhookEndpointEntity, {
      userId: viewer.id,
      name: args.name.trim(),
      tokenHash: hashWebhookToken(token),
      tradingViewIpsOnly: args.tradingViewIpsOnly ?? false,
      ...defaultsOf(args.defaults),
      ...passphraseOf(args.passphrase),
    });
    await ctx.em.flush();
    ctx.log.info({ endpointId: endpoint.id }, 'webhook endpoint created');
    return { endpoint: toWebhookEndpoint(endpoint), url: webhookUrl(this.options.publicBaseUrl, token) };
  }

  /** A new token for a live endpoint: the old URL answers 404 from now on. */
  async rotate(ctx: RequestContext, rawId: string): Promise<WebhookEndpointSecret> {
    const endpoint = await this.owned(ctx, rawId);
    if (endpoint.revokedAt) throw conflict(`Webhook endpoint ${endpoint.id} is revoked; create a new one`);
    const token = newWebhookToken();
    endpoint.tokenHash = hashWebhookToken(token);
    endpoint.tokenRotatedAt = new Date();
    await ctx.em.flush();
    ctx.log.info({ endpointId: endpoint.id }, 'webhook token rotated');
    return { endpoint: toWebhookEndpoint(endpoint), url: webhookUrl(this.options.publicBaseUrl, token) };
  }

  /** Its URL answers 404 from now on; its signals stay. Revoking twice changes nothing. */
  async revoke(ctx: RequestContext, rawId: string): Promise<WebhookEndpoint> {
    const endpoint = await this.owned(ctx, rawId);
    if (!endpoint.revokedAt) {
      endpoint.revokedAt = new Date();
      await ctx.em.flush();
      ctx.log.info({ endpointId: endpoint.id }, 'webhook endpoint revoked');
    }
    return toWebhookEndpoint(endpoint);
  }

  async update(ctx: RequestContext, args: UpdateWebhookEndpointArgs): Promise<WebhookEndpoint> {
    const endpoint = await this.owned(ctx, args.id);
    if (endpoint.revokedAt) throw conflict(`Webhook endpoint ${endpoint.id} is revoked`);
    if (args.name !== null && args.name !== undefined) endpoint.name = args.name.trim();
    if (args.defaults !== null && args.defaults !== undefined) Object.assign(endpoint, defaultsOf(args.defaults));
    if (args.passphrase !== null && args.passphrase !== undefined) Object.assign(endpoint, passphraseOf(args.passphrase));
    if (args.tradingViewIpsOnly !== null && args.tradingViewIpsOnly !== undefined) endpoint.tradingViewIpsOnly = args.tradingViewIpsOnly;
    await ctx.em.flush();
    return toWebhookEndpoint(endpoint);
  }

  /** The viewer's endpoints, newest first (revoked ones too). */
  async list(ctx: RequestContext): Promise<WebhookEndpoint[]> {
    const viewer = requireViewer(ctx.viewer);
    const rows = await ctx.em.find(WebhookEndpointEntity, { userId: viewer.id }, { orderBy: [{ createdAt: QueryOrder.DESC }, { id: QueryOrder.DESC }] });
    return rows.map(toWebhookEndpoint);
  }

  /** One of the viewer's endpoints; NOT_FOUND for an unknown id and another user's alike. */
  async one(ctx: RequestContext, rawId: string): Promise<WebhookEndpoint> {
    return toWebhookEndpoint(await this.owned(ctx, rawId));
  }

  /** For `Signal.endpoint` and `_entities`: the viewer's own endpoints, batched; null for anyone else's. */
  async forViewer(ctx: RequestContext, id: string): Promise<WebhookEndpoint | null> {
    if (!ctx.viewer || !isUuid(id)) return null;
    const viewerId = ctx.viewer.id;
    const loader = ctx.loaders.get<string, WebhookEndpoint | null>('endpointById', async (ids) => {
      const rows = await ctx.em.find(WebhookEndpointEntity, { id: { $in: [...ids] } });
      const byId = new Map(rows.map((row) => [row.id, toWebhookEndpoint(row)]));
      return ids.map((key) => byId.get(key) ?? null);
    });
    const endpoint = await loader.load(id);
    return endpoint && endpoint.userId === viewerId ? endpoint : null;
  }

  /** Refused deliveries, newest first: of one of the viewer's endpoints, or (ADMIN) all of them. */
  async refusals(ctx: RequestContext, args: WebhookRefusalsArgs): Promise<WebhookRefusal[]> {
    const limit = args.first ?? DEFAULT_REFUSALS_PAGE;
    let where: { endpointId?: string } = {};
    if (args.endpointId) {
      const endpoint = await this.owned(ctx, args.endpointId, true);
      where = { endpointId: endpoint.id };
    } else {
      requireRole(ctx.viewer, 'ADMIN');
    }
    const rows = await ctx.em.find(WebhookRefusalEntity, where, { orderBy: [{ receivedAt: QueryOrder.DESC }, { id: QueryOrder.DESC }], limit });
    return rows.map((row) => ({
      id: row.id,
      endpointId: row.endpointId,
      status: row.status,
      reason: row.reason,
      detail: row.detail,
      remoteIp: row.remoteIp,
      body: row.body,
      receivedAt: row.receivedAt,
    }));
  }

  private async owned(ctx: RequestContext, rawId: string, adminToo = false): Promise<WebhookEndpointEntity> {
    const viewer = requireViewer(ctx.viewer);
    const id = requireUuid(rawId);
    const endpoint = await ctx.em.findOne(WebhookEndpointEntity, { id });
    if (endpoint && endpoint.userId !== viewer.id && adminToo && viewer.role === 'ADMIN') return endpoint;
    if (!endpoint || endpoint.userId !== viewer.id) throw notFound('Webhook endpoint', id);
    return endpoint;
  }
}

function defaultsOf(defaults: WebhookDefaultsInput | null | undefined): Partial<WebhookEndpointEntity> {
  const text = (value: string | null | undefined) => (value === null || value === undefined || value.trim() === '' ? null : value.trim());
  return {
    defaultExchange: text(defaults?.exchange)?.toUpperCase() ?? null,
    defaultTimeframe: text(defaults?.timeframe),
    defaultIndicator: text(defaults?.indicator),
    defaultTakeProfit: text(defaults?.takeProfit),
    defaultStopLoss: text(defaults?.stopLoss),
  };
}

function passphraseOf(passphrase: string | null | undefined): Partial<WebhookEndpointEntity> {
  if (passphrase === null || passphrase === undefined || passphrase === '') return { passphraseSalt: null, passphraseHash: null };
  const { salt, hash } = hashPassphrase(passphrase);
  return { passphraseSalt: salt, passphraseHash: hash };
}

