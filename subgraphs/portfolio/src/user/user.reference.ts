import type { User } from './user.type';

/** Portfolio stores nothing about users: a User reference is its id; `portfolio` checks who asks. */
export const userReferences = {
  User: {
    __resolveReference: (reference: { id: string }): User => ({ id: reference.id }),
  },
};
