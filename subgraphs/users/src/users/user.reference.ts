import type { RequestContext } from '../../../kit/src';
import { UserService } from './user.service';

const users = new UserService();

/** `__resolveReference` for `User @key(fields: "id")`, batched through the request's DataLoader. */
export const userReferences = {
  User: {
    __resolveReference: (reference: { id: string }, ctx: RequestContext) => users.byReference(ctx, reference.id),
  },
};
