import type { GraphQLSchema } from 'graphql';

/** Every subgraph this repository builds, with the code that produces its schema. */
export const SUBGRAPH_SCHEMAS: Record<string, () => Promise<GraphQLSchema>> = {
  users: async () => (await import('../subgraphs/users/src/schema')).buildUsersSchema(),
  catalog: async () => (await import('../subgraphs/catalog/src/schema')).buildCatalogSchema(),
  inventory: async () => (await import('../subgraphs/inventory/src/schema')).buildInventorySchema(),
};
