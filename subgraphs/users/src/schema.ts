import type { GraphQLSchema } from 'graphql';
import type { ContainerType } from 'type-graphql';
import { buildFederatedSchema } from '../../kit/src';
import { ApiKeyResolver } from './api-keys/api-key.resolver';
import { AuthResolver } from './auth/auth.resolver';
import { EmailResolver } from './email/email.resolver';
import type { UsersServices } from './services';
import { TotpResolver } from './totp/totp.resolver';
import { UserResolver } from './users/user.resolver';
import { userReferences } from './users/user.reference';

const RESOLVERS = [UserResolver, AuthResolver, EmailResolver, TotpResolver, ApiKeyResolver] as const;

/**
 * The users subgraph schema. Resolvers receive `services` through type-graphql's container;
 * without services the schema still prints its SDL (composition, codegen) but cannot execute.
 */
export function buildUsersSchema(services?: UsersServices): Promise<GraphQLSchema> {
  const instances = new Map<Function, unknown>();
  const container: ContainerType = {
    get(target: new (services: UsersServices) => unknown) {
      if (!services) throw new Error('buildUsersSchema() was called without services: this schema can print SDL but not execute');
      let instance = instances.get(target);
      if (!instance) {
        instance = new target(services);
        instances.set(target, instance);
      }
      return instance;
    },
  };
  return buildFederatedSchema({ resolvers: [...RESOLVERS], container }, userReferences);
}
