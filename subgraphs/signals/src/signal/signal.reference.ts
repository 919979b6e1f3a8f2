import type { RequestContext } from '../../../kit/src';
import type { EndpointService } from '../endpoint/endpoint.service';
import type { WebhookEndpoint } from '../endpoint/endpoint.type';
import type { SignalService } from './signal.service';
import type { Signal } from './signal.type';

/** `_entities` for Signal and WebhookEndpoint: batched, and only the viewer's own (null for anyone else's). */
export const signalReferences = (signals: SignalService, endpoints: EndpointService) => ({
  Signal: {
    __resolveReference: (reference: { id: string }, ctx: RequestContext): Promise<Signal | null> => signals.reference(ctx, reference.id),
  },
  WebhookEndpoint: {
    __resolveReference: (reference: { id: string }, ctx: RequestContext): Promise<WebhookEndpoint | null> => endpoints.forViewer(ctx, reference.id),
  },
});
