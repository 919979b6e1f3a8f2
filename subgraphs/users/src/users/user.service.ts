import { badInput, notFound, orderedBy, requireRole, requireViewer, unauthenticated, type RequestContext, type Role } from '../../../kit/src';
import { UserEntity } from './user.entity';
import type { UpdateProfileInput } from './user.input';
import { toUser, type User } from './user.type';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => UUID.test(value);

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

export class UserService {
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
