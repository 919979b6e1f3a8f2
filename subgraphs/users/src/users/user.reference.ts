import type { RequestContext } from '../../../kit/src';
import { systemClock } from '../clock';
import { UserService } from './user.service';

const users = new UserService({ clock: systemClock });

/** `__resolveReference` for `User @key(fields: "id")`, batched through the request's DataLoader. */
export const userReferences = {
  User: {
    __resolveReference: (reference: { id: string }, ctx: RequestContext) => users.byReference(ctx, reference.id),
  },
};
