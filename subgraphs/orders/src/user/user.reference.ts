import type { User } from './user.type';

/** Orders stores nothing about users: a User reference is its id; `orders` and `cart` check who asks. */
export const userReferences = {
  User: {
    __resolveReference: (reference: { id: string }): User => ({ id: reference.id }),
  },
};
