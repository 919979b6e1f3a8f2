import { createHash } from 'node:crypto';
import { buildOperationContext } from '@apollo/gateway';
import { operationFromDocument, Supergraph, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type SubscriptionNode } from '@apollo/query-planner';
import { GraphQLError, Kind, type DocumentNode, type GraphQLSchema, type SelectionSetNode } from 'graphql';

/** The gateway's parsed operation (schema, operation, fragments); the type is not exported by name. */
export type OperationContext = ReturnType<typeof buildOperationContext>;

/** One subscription operation, planned against one supergraph. */
export interface PlannedSubscription {
  /** `primary`: the subscription on the owning subgraph; `rest`: what other subgraphs add to each event. */
  node: SubscriptionNode;
  operationContext: OperationContext;
  /** The (single) root field the operation subscribes to, by name (not alias). */
  rootField: string;
}

/**
 * Plans subscriptions with @apollo/query-planner against one supergraph (the one the gateway
 * serves when the planner is built). ApolloGateway keeps its planner private and refuses to
 * execute subscriptions, so the router builds its own from the same composed SDL, lazily, on the
 * first subscription after each supergraph change. Plans are cached per document and operation name.
 */
export class SubscriptionPlanner {
  /** sha256 of the supergraph SDL (first 16 hex digits). */
  readonly id: string;
  /** The supergraph with its join directives: inputs of entity fetches are read against it. */
  readonly supergraphSchema: GraphQLSchema;
  /** The API schema as federation-internals models it (planning, result shaping). */
  readonly apiSchema: Schema;
  private readonly planner: QueryPlanner;
  private readonly plans = new Map<string, PlannedSubscription>();

  /**
   * @param schema The API schema the gateway serves for the same SDL (validation, introspection).
   */
  constructor(
    supergraphSdl: string,
    readonly schema: GraphQLSchema,
    private readonly cacheSize = 1_000,
  ) {
    this.id = createHash('sha256').update(supergraphSdl).digest('hex').slice(0, 16);
    const supergraph = Supergraph.build(supergraphSdl, { validateSupergraph: true });
    this.supergraphSchema = supergraph.schema.toGraphQLJSSchema();
    this.apiSchema = supergraph.apiSchema();
    this.planner = new QueryPlanner(supergraph);
  }

  /** Plans a validated subscription document. Throws a GraphQLError when it cannot be planned. */
  plan(document: DocumentNode, source: string, operationName: string | undefined): PlannedSubscription {
    const key = `${operationName ?? ''}\n${source}`;
    const cached = this.plans.get(key);
    if (cached) {
      // Most recently used last.
      this.plans.delete(key);
      this.plans.set(key, cached);
      return cached;
    }
    const operationContext = buildOperationContext({ schema: this.schema, operationDocument: document, operationName });
    if (operationContext.operation.operation !== 'subscription') throw new GraphQLError('Not a subscription operation');
    const operation = operationFromDocument(this.apiSchema, document, { operationName });
    const plan = this.planner.buildQueryPlan(operation);
    if (plan.node?.kind !== 'Subscription') throw new GraphQLError('The subscription could not be planned');
    const rootFields = rootFieldNames(operationContext.operation.selectionSet, operationContext);
    if (rootFields.size !== 1) throw new GraphQLError('A subscription must select exactly one root field');
    const planned: PlannedSubscription = { node: plan.node, operationContext, rootField: [...rootFields][0]! };
    if (this.plans.size >= this.cacheSize) this.plans.delete(this.plans.keys().next().value!);
    this.plans.set(key, planned);
    return planned;
  }
}

/** Field names selected at the root, through fragments (`__typename` aside). */
function rootFieldNames(selectionSet: SelectionSetNode, context: OperationContext, names = new Set<string>(), seen = new Set<string>()): Set<string> {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value !== '__typename') names.add(selection.name.value);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      rootFieldNames(selection.selectionSet, context, names, seen);
    } else {
      const name = selection.name.value;
      const fragment = context.fragments[name];
      if (fragment && !seen.has(name)) {
        seen.add(name);
        rootFieldNames(fragment.selectionSet, context, names, seen);
      }
    }
  }
  return names;
}
