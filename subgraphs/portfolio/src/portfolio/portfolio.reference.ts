import type { RequestContext } from '../../../kit/src';
import type { PortfolioService } from './portfolio.service';

/** `_entities` for Portfolio: the viewer's own, or any for an ADMIN; null for anyone else's. */
export const portfolioReferences = (service: PortfolioService) => ({
  Portfolio: {
    __resolveReference: (reference: { id: string }, ctx: RequestContext) => service.reference(ctx, reference.id),
  },
});
