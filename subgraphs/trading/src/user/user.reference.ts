import type { User } from './user.type';

/** Trading stores nothing about users: a User reference is its id; `tradeOrders` checks who asks. */
export const userReferences = {
  User: {
    __resolveReference: (reference: { id: string }): User => ({ id: reference.id }),
  },
};
