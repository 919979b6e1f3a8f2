import type { User } from './user.type';

/** A User reference is its id; `tradingStats` checks who asks. */
export const userReferences = {
  User: {
    __resolveReference: (reference: { id: string }): User => ({ id: reference.id }),
  },
};
