import type { RequestContext } from '../../../kit/src';
import type { AccountService } from './account.service';

/** `_entities` for ExchangeAccount: batched; null for accounts the viewer does not own. */
export const accountReferences = (service: AccountService) => ({
  ExchangeAccount: {
    __resolveReference: (reference: { id: string }, ctx: RequestContext) => service.reference(ctx, reference.id),
  },
});
