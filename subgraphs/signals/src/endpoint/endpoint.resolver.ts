import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, UseMiddleware, type MiddlewareFn } from 'type-graphql';
import { requireViewer, type RequestContext } from '../../../kit/src';
import { User } from '../user/user.type';
import { CreateWebhookEndpointArgs, UpdateWebhookEndpointArgs, WebhookRefusalsArgs } from './endpoint.input';
import type { EndpointService } from './endpoint.service';
import { WebhookEndpoint, WebhookEndpointSecret, WebhookRefusal } from './endpoint.type';

/** Checks sign-in before arguments are validated, so an anonymous caller learns nothing about inputs. */
const signedIn: MiddlewareFn<RequestContext> = ({ context }, next) => {
  requireViewer(context.viewer);
  return next();
};

@Resolver(() => WebhookEndpoint)
export class EndpointResolver {
  constructor(private readonly service: EndpointService) {}

  @Query(() => [WebhookEndpoint], { description: 'The viewer\'s webhook endpoints, newest first, revoked ones too.' })
  @UseMiddleware(signedIn)
  webhookEndpoints(@Ctx() ctx: RequestContext): Promise<WebhookEndpoint[]> {
    return this.service.list(ctx);
  }

  @Query(() => WebhookEndpoint, { description: 'One of the viewer\'s endpoints; NOT_FOUND for anyone else\'s.' })
  @UseMiddleware(signedIn)
  webhookEndpoint(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<WebhookEndpoint> {
    return this.service.one(ctx, id);
  }

  @Query(() => [WebhookRefusal], { description: 'Deliveries the webhook refused, newest first: of one of the viewer\'s endpoints, or every one for an ADMIN.' })
  @UseMiddleware(signedIn)
  webhookRefusals(@Args(() => WebhookRefusalsArgs) args: WebhookRefusalsArgs, @Ctx() ctx: RequestContext): Promise<WebhookRefusal[]> {
    return this.service.refusals(ctx, args);
  }

  @Mutation(() => WebhookEndpointSecret, { description: 'A new endpoint. Its URL (holding the token) is in this answer only: store it in the TradingView alert.' })
  @UseMiddleware(signedIn)
  createWebhookEndpoint(@Args(() => CreateWebhookEndpointArgs) args: CreateWebhookEndpointArgs, @Ctx() ctx: RequestContext): Promise<WebhookEndpointSecret> {
    return this.service.create(ctx, args);
  }

  @Mutation(() => WebhookEndpointSecret, { description: 'A new token (and URL) for the endpoint; the old URL answers 404 at once. CONFLICT when revoked.' })
  @UseMiddleware(signedIn)
  rotateWebhookToken(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<WebhookEndpointSecret> {
    return this.service.rotate(ctx, id);
  }

  @Mutation(() => WebhookEndpoint, { description: 'The URL answers 404 from now on; the signals stay.' })
  @UseMiddleware(signedIn)
  revokeWebhookEndpoint(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<WebhookEndpoint> {
    return this.service.revoke(ctx, id);
  }

  @Mutation(() => WebhookEndpoint, { description: 'Changes the name, defaults, passphrase or address check; what is omitted stays.' })
  @UseMiddleware(signedIn)
  updateWebhookEndpoint(@Args(() => UpdateWebhookEndpointArgs) args: UpdateWebhookEndpointArgs, @Ctx() ctx: RequestContext): Promise<WebhookEndpoint> {
    return this.service.update(ctx, args);
  }

  @FieldResolver(() => User)
  user(@Root() endpoint: WebhookEndpoint): User {
    return { id: endpoint.userId };
  }
}
