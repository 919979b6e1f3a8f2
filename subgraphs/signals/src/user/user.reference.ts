import type { User } from './user.type';

/** Signals stores nothing about users: a User reference is its id; `signals` checks who asks. */
export const userReferences = {
  User: {
    __resolveReference: (reference: { id: string }): User => ({ id: reference.id }),
  },
};
