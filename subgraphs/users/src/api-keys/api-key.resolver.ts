import { Arg, Ctx, ID, Mutation, Query, Resolver, UseMiddleware, type MiddlewareFn } from 'type-graphql';
import type { RequestContext } from '../../../kit/src';
import type { UsersServices } from '../services';
import { CreateApiKeyInput } from './api-key.input';
import { MAX_ACTIVE_API_KEYS, requireKeyManager } from './api-key.service';
import { ApiKey, CreatedApiKey } from './api-key.type';

/** Checks who is calling before arguments are validated, so a caller who may not manage keys learns nothing about inputs. */
const keyManager: MiddlewareFn<RequestContext> = ({ context }, next) => {
  requireKeyManager(context.viewer);
  return next();
};

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  constructor(private readonly services: UsersServices) {}

  @Query(() => [ApiKey], { description: 'The viewer\'s own API keys, newest first, revoked and expired ones too. PARTNER or ADMIN.' })
  @UseMiddleware(keyManager)
  apiKeys(@Ctx() ctx: RequestContext): Promise<ApiKey[]> {
    return this.services.apiKeys.list(ctx);
  }

  @Mutation(() => CreatedApiKey, { description: `A new key for \`POST /api-keys/token\`; the key is in this answer only. PARTNER or ADMIN with a verified email, at most ${MAX_ACTIVE_API_KEYS} active.` })
  @UseMiddleware(keyManager)
  createApiKey(@Arg('input', () => CreateApiKeyInput) input: CreateApiKeyInput, @Ctx() ctx: RequestContext): Promise<CreatedApiKey> {
    return this.services.apiKeys.create(ctx, input);
  }

  @Mutation(() => ApiKey, { description: 'The key stops exchanging at once; tokens already issued for it run out within minutes. Revoking twice changes nothing.' })
  @UseMiddleware(keyManager)
  revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<ApiKey> {
    return this.services.apiKeys.revoke(ctx, id);
  }
}
