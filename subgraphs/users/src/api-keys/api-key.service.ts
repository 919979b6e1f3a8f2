import { LockMode, QueryOrder } from '@mikro-orm/core';
import { AppError, conflict, forbidden, notFound, requireRole, requireUuid, unauthenticated, type EntityManager, type RequestContext, type Role, type Viewer } from '../../../kit/src';
import type { SigningKeys } from '../auth/signing-keys';
import type { Clock } from '../clock';
import { UserEntity } from '../users/user.entity';
import { ApiKeyEntity } from './api-key.entity';
import type { CreateApiKeyInput } from './api-key.input';
import { apiKeyPrefix, generateApiKey, hashApiKey, looksLikeApiKey } from './api-key.secrets';
import { isActiveApiKey, toApiKey, type ApiKey, type ApiKeyScope, type CreatedApiKey } from './api-key.type';

/** Most keys one user may have that are neither revoked nor expired. */
export const MAX_ACTIVE_API_KEYS = 20;

const DAY_MS = 24 * 3600 * 1000;

/** `last_used_at` moves at most this often per key: a partner exchanging in a loop does not write on every call. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** The roles that may hold keys; a key stops exchanging as soon as its owner has none of them. */
const KEY_HOLDER_ROLES: readonly Role[] = ['PARTNER', 'ADMIN'];

/** A PARTNER or ADMIN in person: a token obtained from an API key may not mint or revoke keys. */
export function requireKeyManager(viewer: Viewer | null): Viewer {
  const signedIn = requireRole(viewer, ...KEY_HOLDER_ROLES);
  if (signedIn.apiKeyId) throw forbidden('API keys cannot be managed with a token obtained from an API key');
  return signedIn;
}

/** The 200 body of `POST /api-keys/token`. */
export interface ApiKeyToken {
  accessToken: string;
  expiresAt: string;
  scopes: ApiKeyScope[];
}

/** Why an exchange was refused: for the log only, the caller gets the same answer for each. */
export type ApiKeyRefusal = 'MALFORMED' | 'UNKNOWN' | 'REVOKED' | 'EXPIRED' | 'OWNER_NOT_ALLOWED';

export type ApiKeyExchange = { ok: true; token: ApiKeyToken } | { ok: false; reason: ApiKeyRefusal; apiKeyId?: string };

export class ApiKeyService {
  constructor(private readonly deps: { clock: Clock; keys: SigningKeys; tokenTtlSeconds: number }) {}

  /** The viewer's keys, newest first, revoked and expired ones too. */
  async list(ctx: RequestContext): Promise<ApiKey[]> {
    const viewer = requireKeyManager(ctx.viewer);
    const rows = await ctx.em.find(ApiKeyEntity, { user: viewer.id }, { orderBy: [{ createdAt: QueryOrder.DESC }, { id: QueryOrder.DESC }] });
    const now = this.deps.clock();
    return rows.map((row) => toApiKey(row, now));
  }

  /**
   * A new key for the viewer. The key is not stored, only its SHA-256, so this is the one time it is
   * shown. The owner's row is locked while the active keys are counted, so concurrent creations
   * cannot pass the limit together.
   */
  async create(ctx: RequestContext, input: CreateApiKeyInput): Promise<CreatedApiKey> {
    const viewer = requireKeyManager(ctx.viewer);
    const now = this.deps.clock();
    const key = generateApiKey();
    const entity = await ctx.em.transactional(async (tx) => {
      const owner = await tx.findOne(UserEntity, { id: viewer.id, deletedAt: null }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!owner) throw unauthenticated('The signed-in account no longer exists');
      // A key outlives every session; its owner must be reachable about it.
      if (!owner.emailVerifiedAt) throw new AppError('FORBIDDEN', 'Verify your email address before creating API keys', { reason: 'EMAIL_NOT_VERIFIED' });
      const active = await tx.count(ApiKeyEntity, { user: owner, revokedAt: null, $or: [{ expiresAt: null }, { expiresAt: { $gt: now } }] });
      if (active >= MAX_ACTIVE_API_KEYS) throw conflict(`At most ${MAX_ACTIVE_API_KEYS} active API keys; revoke one first`);
      return tx.create(ApiKeyEntity, {
        user: owner,
        name: input.name.trim(),
        prefix: apiKeyPrefix(key),
        keyHash: hashApiKey(key),
        scopes: input.scopes,
        createdAt: now,
        expiresAt: input.expiresInDays === null || input.expiresInDays === undefined ? null : new Date(now.getTime() + input.expiresInDays * DAY_MS),
      });
    });
    ctx.log.info({ apiKeyId: entity.id, userId: viewer.id, scopes: entity.scopes }, 'API key created');
    return { apiKey: toApiKey(entity, now), key };
  }

  /**
   * Exchanges stop at once; access tokens already issued for the key live out their few minutes.
   * Another user's key answers like an unknown one, and revoking twice changes nothing.
   */
  async revoke(ctx: RequestContext, rawId: string): Promise<ApiKey> {
    const viewer = requireKeyManager(ctx.viewer);
    const id = requireUuid(rawId);
    const entity = await ctx.em.findOne(ApiKeyEntity, { id, user: viewer.id });
    if (!entity) throw notFound('API key', id);
    const now = this.deps.clock();
    if (!entity.revokedAt) {
      entity.revokedAt = now;
      await ctx.em.flush();
      ctx.log.info({ apiKeyId: entity.id, userId: viewer.id }, 'API key revoked');
    }
    return toApiKey(entity, now);
  }

  /**
   * An access token for the key's owner with the owner's current role, the key's scopes and its id
   * (`akid`). Refused for a malformed, unknown, revoked or expired key and for an owner who is no
   * longer PARTNER or ADMIN.
   */
  async exchange(em: EntityManager, key: string): Promise<ApiKeyExchange> {
    if (!looksLikeApiKey(key)) return { ok: false, reason: 'MALFORMED' };
    const entity = await em.findOne(ApiKeyEntity, { keyHash: hashApiKey(key) }, { populate: ['user'] });
    if (!entity) return { ok: false, reason: 'UNKNOWN' };
    const now = this.deps.clock();
    if (entity.revokedAt) return { ok: false, reason: 'REVOKED', apiKeyId: entity.id };
    if (!isActiveApiKey(entity, now)) return { ok: false, reason: 'EXPIRED', apiKeyId: entity.id };
    if (!KEY_HOLDER_ROLES.includes(entity.user.role)) return { ok: false, reason: 'OWNER_NOT_ALLOWED', apiKeyId: entity.id };

    // One conditional UPDATE: concurrent exchanges cannot move it twice within the minute.
    await em.nativeUpdate(
      ApiKeyEntity,
      { id: entity.id, $or: [{ lastUsedAt: null }, { lastUsedAt: { $lte: new Date(now.getTime() - LAST_USED_RESOLUTION_MS) } }] },
      { lastUsedAt: now },
    );
    const access = await this.deps.keys.signAccessToken(entity.user, this.deps.tokenTtlSeconds, { scopes: entity.scopes, apiKeyId: entity.id });
    return { ok: true, token: { accessToken: access.token, expiresAt: access.expiresAt.toISOString(), scopes: entity.scopes } };
  }
}
