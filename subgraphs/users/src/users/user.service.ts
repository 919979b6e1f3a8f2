import { LockMode, QueryOrder, type FilterQuery } from '@mikro-orm/core';
import { badInput, conflict, decodeCursor, encodeCursor, isUuid, notFound, orderedBy, requireRole, requireViewer, unauthenticated, type RequestContext, type Role } from '../../../kit/src';
import type { Clock } from '../clock';
import { UserEntity } from './user.entity';
import { eraseAccount } from './user.erasure';
import { DEFAULT_USERS_PAGE, type UpdateProfileInput, type UsersArgs } from './user.input';
import { toUser, type User, type UserConnection } from './user.type';

/** Email as stored and looked up: trimmed and lowercased. */
export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

/** Loads users by id, batched per request: one query however many references a request resolves. */
export function loadUser(ctx: RequestContext, id: string): Promise<UserEntity | null> {
  return ctx.loaders
    .get<string, UserEntity | null>('users.byId', async (ids) => {
      const valid = ids.filter(isUuid);
      const rows = valid.length > 0 ? await ctx.em.find(UserEntity, { id: { $in: [...new Set(valid)] } }) : [];
      return orderedBy(ids, rows, (row) => row.id);
    })
    .load(id);
}

/** `%`, `_` and `\` match themselves in a search. */
const likePattern = (text: string): string => `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;

export class UserService {
  constructor(private readonly deps: { clock: Clock }) {}

  async me(ctx: RequestContext): Promise<User | null> {
    if (!ctx.viewer) return null;
    const entity = await loadUser(ctx, ctx.viewer.id);
    // A deleted account's access token is still valid for a few minutes; it is nobody.
    return entity && !entity.deletedAt ? toUser(entity, { viewer: ctx.viewer }) : null;
  }

  /** Entity reference from the router: private fields only for the user and ADMINs. */
  async byReference(ctx: RequestContext, id: string): Promise<User | null> {
    const entity = await loadUser(ctx, id);
    return entity ? toUser(entity, { viewer: ctx.viewer }) : null;
  }

  /** The signed-in user's own name. */
  async updateProfile(ctx: RequestContext, input: UpdateProfileInput): Promise<User> {
    const viewer = requireViewer(ctx.viewer);
    const user = await ctx.em.findOne(UserEntity, { id: viewer.id, deletedAt: null });
    if (!user) throw unauthenticated('The signed-in account no longer exists');
    user.name = input.name.trim();
    await ctx.em.flush();
    return toUser(user, { viewer });
  }

  /** ADMIN only: accounts newest first, live or deleted, by role and by part of the email or name. */
  async list(ctx: RequestContext, args: UsersArgs): Promise<UserConnection> {
    const viewer = requireRole(ctx.viewer, 'ADMIN');
    const size = args.first ?? DEFAULT_USERS_PAGE;
    const filter = args.filter ?? {};
    const where: FilterQuery<UserEntity> = { deletedAt: filter.deleted ? { $ne: null } : null };
    if (filter.role) where.role = filter.role;
    if (filter.search) {
      const pattern = likePattern(filter.search.trim().toLowerCase());
      where.$and = [{ $or: [{ email: { $like: pattern } }, { name: { $ilike: pattern } }] }];
    }
    if (args.after) {
      const position = decodeCursor(args.after);
      where.$or = [{ createdAt: { $lt: position.at } }, { createdAt: position.at, id: { $lt: position.id } }];
    }
    const rows = await ctx.em.find(UserEntity, where, { orderBy: [{ createdAt: QueryOrder.DESC }, { id: QueryOrder.DESC }], limit: size + 1 });
    const edges = rows.slice(0, size).map((row) => ({ cursor: encodeCursor({ at: row.createdAt, id: row.id }), node: toUser(row, { viewer }) }));
    return {
      edges,
      pageInfo: { hasNextPage: rows.length > size, hasPreviousPage: Boolean(args.after), startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
    };
  }

  /**
   * ADMIN only: deletes another account as `deleteAccount` does (a request that reached support,
   * say). Not the ADMIN's own (deleteAccount asks for the password) and not another ADMIN's (demote first).
   */
  async deleteUser(ctx: RequestContext, userId: string): Promise<User> {
    const viewer = requireRole(ctx.viewer, 'ADMIN');
    if (!isUuid(userId)) throw badInput('userId must be a UUID', 'userId');
    if (userId === viewer.id) throw badInput('An ADMIN deletes their own account with deleteAccount', 'userId');
    const now = this.deps.clock();
    const user = await ctx.em.transactional(async (tx) => {
      const found = await tx.findOne(UserEntity, { id: userId, deletedAt: null }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!found) throw notFound('User', userId);
      if (found.role === 'ADMIN') throw conflict('An ADMIN account cannot be deleted; change its role first');
      await eraseAccount(tx, found, now);
      return found;
    });
    ctx.log.info({ userId, by: viewer.id }, 'account deleted by an ADMIN');
    return toUser(user, { viewer });
  }

  async setUserRole(ctx: RequestContext, userId: string, role: Role): Promise<User> {
    const viewer = requireRole(ctx.viewer, 'ADMIN');
    if (!isUuid(userId)) throw badInput('userId must be a UUID', 'userId');
    const user = await ctx.em.findOne(UserEntity, { id: userId, deletedAt: null });
    if (!user) throw notFound('User', userId);
    if (user.role !== role) {
      user.role = role;
      await ctx.em.flush();
      ctx.log.info({ userId, role, by: viewer.id }, 'user role changed');
    }
    return toUser(user, { viewer });
  }
}
