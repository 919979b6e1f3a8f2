import type { RequestContext } from '../../../kit/src';
import { isUuid, normalizeId } from '../shared/ids';
import { categoryById } from './category.loaders';

export const categoryReferences = {
  Category: {
    __resolveReference: (reference: { id: string }, ctx: RequestContext) => {
      const id = normalizeId(String(reference.id));
      return isUuid(id) ? categoryById(ctx).load(id) : null;
    },
  },
};
