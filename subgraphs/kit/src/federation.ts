import { buildSubgraphSchema, printSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { parse, type GraphQLSchema } from 'graphql';
import { validateOrReject, type ValidationError, type ValidatorOptions } from 'class-validator';
import { ArgumentValidationError, buildSchema, createResolversMap, type BuildSchemaOptions } from 'type-graphql';

const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@external", "@requires", "@provides", "@tag", "@inaccessible", "@override"])';

const VALIDATOR_OPTIONS: ValidatorOptions = { skipMissingProperties: true, forbidUnknownValues: false };

const isValidated = (value: unknown): value is object => value !== null && typeof value === 'object';

/**
 * type-graphql's own argument validation (class-validator on input objects, BAD_USER_INPUT with
 * the validation errors), with class-validator imported once: its default requires the module for
 * every argument of every request, a module resolution each time.
 */
export async function validateArgument(value: unknown): Promise<void> {
  if (!isValidated(value)) return;
  try {
    if (Array.isArray(value)) await Promise.all(value.filter(isValidated).map((item) => validateOrReject(item, VALIDATOR_OPTIONS)));
    else await validateOrReject(value, VALIDATOR_OPTIONS);
  } catch (error) {
    throw new ArgumentValidationError(error as ValidationError[]);
  }
}

/**
 * Builds a Federation 2 subgraph schema from type-graphql resolvers. type-graphql keeps
 * directives such as `@key` on the AST, so printing with directives and rebuilding through
 * @apollo/subgraph adds `_entities`/`_service` while keeping type-graphql's resolvers.
 */
export async function buildFederatedSchema(
  options: Omit<BuildSchemaOptions, 'skipCheck'>,
  referenceResolvers: GraphQLResolverMap<unknown> = {},
): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    validateFn: validateArgument,
    ...options,
    skipCheck: true,
  });
  const resolvers = createResolversMap(schema) as GraphQLResolverMap<unknown>;
  for (const [typeName, fields] of Object.entries(referenceResolvers)) {
    resolvers[typeName] = { ...(resolvers[typeName] as object), ...(fields as object) } as GraphQLResolverMap<unknown>[string];
  }
  return buildSubgraphSchema({
    typeDefs: parse(`${FEDERATION_LINK}\n${printSchemaWithDirectives(schema)}`),
    resolvers,
  });
}

/** The SDL the router composes: the subgraph's own schema with federation directives. */
export const printFederatedSdl = (schema: GraphQLSchema): string => printSubgraphSchema(schema);
