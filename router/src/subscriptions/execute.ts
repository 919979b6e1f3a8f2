import { executeQueryPlan, type GraphQLDataSource, type ServiceMap } from '@apollo/gateway';
import type { FetchNode, QueryPlan } from '@apollo/query-planner';
import { GraphQLError, type DocumentNode, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import type { RouterContext } from '../plugins/types';
import type { PlannedSubscription, SubscriptionPlanner } from './planner';

/** One event of the primary (upstream) subscription, as the subgraph sent it. */
export interface UpstreamEvent {
  data?: Record<string, unknown> | null;
  errors?: readonly GraphQLFormattedError[];
}

/** What a subscription needs to turn upstream events into client results. */
export interface EventExecution {
  planner: SubscriptionPlanner;
  planned: PlannedSubscription;
  document: DocumentNode;
  source: string;
  operationName: string | undefined;
  /** The client's variables (the rest of the plan may use some the primary fetch does not). */
  variables: Record<string, unknown>;
  /** Authorization and request id forwarded on the rest of the plan's fetches. */
  context: RouterContext;
  /** The current subgraph clients (the gateway's data sources). */
  dataSources(): ServiceMap;
}

/** Name of the in-memory "subgraph" that answers the seed fetch with the event. */
const EVENT_SOURCE = '__subscription_event__';

/**
 * A subgraph error as the gateway reports a downstream one: its message, path and extensions
 * (the code the subgraph chose, e.g. FORBIDDEN) plus `serviceName`.
 */
export function subgraphError(error: GraphQLFormattedError, serviceName: string): GraphQLError {
  return new GraphQLError(error.message || `Error from subgraph ${serviceName}`, {
    path: error.path,
    extensions: { ...error.extensions, serviceName },
  });
}

/**
 * Runs the `rest` of a subscription plan for one event with @apollo/gateway's executeQueryPlan.
 *
 * executeQueryPlan always starts from empty data and refuses a `Subscription` node, so the event is
 * put in front of `rest` as a seed fetch: a copy of the primary FetchNode pointed at an in-memory
 * data source that answers with the event's data. The executor merges it at the root exactly as it
 * would the primary fetch's response (output rewrites included), runs `rest` (entity fetches with
 * the client's Authorization through the gateway's own data sources), then shapes the result to the
 * client's selection (aliases, `__typename`, fields the planner added for keys removed, nulls
 * propagated). Errors the subgraph sent with the event come first, tagged with its `serviceName`.
 */
export async function executeEvent(execution: EventExecution, event: UpstreamEvent): Promise<ExecutionResult> {
  const { planned, planner, context } = execution;
  const primary = planned.node.primary;
  const upstreamErrors = (event.errors ?? []).map((error) => subgraphError(error, primary.serviceName));
  if (event.data === null || event.data === undefined) {
    return { data: null, errors: upstreamErrors.length > 0 ? upstreamErrors : [subgraphError({ message: 'The subgraph sent an event without data' }, primary.serviceName)] };
  }

  const seed: FetchNode = {
    ...primary,
    serviceName: EVENT_SOURCE,
    variableUsages: [],
    requires: undefined,
    inputRewrites: undefined,
    contextRewrites: undefined,
  };
  const plan: QueryPlan = { kind: 'QueryPlan', node: planned.node.rest ? { kind: 'Sequence', nodes: [seed, planned.node.rest] } : seed };
  // Each execution merges into and mutates its own copy (an event may feed several operations).
  const data = structuredClone(event.data);
  const eventSource: GraphQLDataSource = { process: async () => ({ data }) };
  const serviceMap: ServiceMap = Object.assign(Object.create(null) as ServiceMap, execution.dataSources(), { [EVENT_SOURCE]: eventSource });

  const requestContext = {
    request: { query: execution.source, operationName: execution.operationName, variables: execution.variables },
    logger: context.log,
    schema: planner.schema,
    schemaHash: planner.id,
    context,
    cache: undefined,
    queryHash: '',
    document: execution.document,
    source: execution.source,
    operationName: execution.operationName ?? null,
    operation: planned.operationContext.operation,
    metrics: {},
    overallCachePolicy: undefined,
  } as unknown as Parameters<typeof executeQueryPlan>[2];

  const result = await executeQueryPlan(plan, serviceMap, requestContext, planned.operationContext, planner.supergraphSchema, planner.apiSchema);
  const errors = [...upstreamErrors, ...(result.errors ?? [])];
  return errors.length > 0 ? { data: result.data ?? null, errors } : { data: result.data ?? null };
}
