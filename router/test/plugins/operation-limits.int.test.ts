import { buildSchema, getIntrospectionQuery, parse, validate } from 'graphql';
import { readRouterConfig } from '../../src/config';
import { operationLimitsPlugin } from '../../src/plugins/operation-limits';
import { readManifest } from '../../src/plugins/persisted-queries';
import type { Client } from 'graphql-ws';
import { post, startRouter, type StartedRouter } from '../support/fixtures';
import { ORDER_SUBSCRIPTION, PRICE_SUBSCRIPTION, record, startLiveStack, wsClient, type LiveStack } from '../support/live';
import { composeSupergraph, startTestSubgraph, type TestSubgraph } from '../support/subgraph';

const CATEGORIES = `
type Query {
  category(id: ID!): Category
}
type Category @key(fields: "id") {
  id: ID!
  name: String!
  parent: Category
}
`;

/** `category { parent { parent … { name } } }` with `depth` levels of selection in all. */
const nested = (depth: number): string => `{ category(id: "c1") ${'{ parent '.repeat(depth - 2)}{ name }${' }'.repeat(depth - 2)} }`;

describe('operation-limits plugin', () => {
  let categories: TestSubgraph;
  let started: StartedRouter;
  const LIMITS = { LIMIT_MAX_DEPTH: '5', LIMIT_MAX_ALIASES: '3', LIMIT_MAX_ROOT_FIELDS: '4', LIMIT_MAX_DIRECTIVES: '2', LIMIT_MAX_TOKENS: '200' };

  beforeAll(async () => {
    const parentOf = (id: string) => ({ id: `${id}p`, name: `parent of ${id}` });
    categories = await startTestSubgraph({
      name: 'categories',
      typeDefs: CATEGORIES,
      resolvers: {
        Query: { category: (_: unknown, { id }: { id: string }) => ({ id, name: `category ${id}` }) },
        Category: { parent: ({ id }: { id: string }) => parentOf(id) },
      },
    });
    started = await startRouter({ supergraphSdl: composeSupergraph([categories]), env: LIMITS });
  });

  afterAll(async () => {
    await started?.router.close();
    await categories?.close();
  });

  /** Posts an operation the router must refuse before planning: the subgraph hears nothing of it. */
  const refused = async (query: string) => {
    const before = categories.requests.length;
    const answer = await post(started.url, query);
    expect(categories.requests.length).toBe(before);
    return answer;
  };

  it('runs an operation at the depth limit and refuses one past it, with the figures', async () => {
    const atLimit = await post(started.url, nested(5));
    expect(atLimit.body.errors).toBeUndefined();
    expect(atLimit.body.data!.category.parent.parent.parent.name).toBe('parent of c1pp');

    const { status, body } = await refused(nested(6));
    expect(status).toBe(400);
    expect(body.errors).toEqual([{ message: 'Query depth 6 exceeds the limit of 5', extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit: 'maxDepth', value: 6, max: 5 } }]);
  });

  it('counts depth through named and inline fragments', async () => {
    const query = `query { category(id: "c1") { ...Up } }
      fragment Up on Category { parent { ... on Category { parent { ...Top } } } }
      fragment Top on Category { parent { parent { name } } }`;
    const { body } = await refused(query);
    expect(body.errors?.[0]?.extensions).toMatchObject({ limit: 'maxDepth', value: 6 });
  });

  it('refuses too many aliases, root fields or directives', async () => {
    const aliases = await refused('{ a: category(id: "1") { id } b: category(id: "2") { id } c: category(id: "3") { id } d: category(id: "4") { id } }');
    expect(aliases.body.errors?.map((error) => error.extensions)).toEqual([
      { code: 'GRAPHQL_VALIDATION_FAILED', limit: 'maxAliases', value: 4, max: 3 },
    ]);
    const wide = await refused('{ a: category(id: "1") { id } b: category(id: "2") { id } c: category(id: "3") { id } ...More } fragment More on Query { category(id: "4") { id } __typename }');
    expect(wide.body.errors?.map((error) => error.extensions?.limit)).toEqual(['maxRootFields']);
    const directives = await refused('{ category(id: "1") { id @include(if: true) name @include(if: true) parent @skip(if: false) { id } } }');
    expect(directives.body.errors?.[0]?.extensions).toMatchObject({ limit: 'maxDirectives', value: 3, max: 2 });
  });

  it('stops parsing a document past the token limit', async () => {
    const { status, body } = await refused(`{ category(id: "1") { ${'id '.repeat(200)} } }`);
    expect(status).toBe(400);
    expect(body.errors?.[0]).toMatchObject({ message: expect.stringMatching(/more th(at|an) 200 tokens/), extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
  });

  it('lets introspection through (its ofType chain is deep by design)', async () => {
    const roomy = await startRouter({ supergraphSdl: composeSupergraph([categories]), env: { ...LIMITS, LIMIT_MAX_TOKENS: '2000' } });
    try {
      const { body } = await post(roomy.url, getIntrospectionQuery());
      expect(body.errors).toBeUndefined();
      expect(body.data!.__schema.queryType).toMatchObject({ name: 'Query' });
    } finally {
      await roomy.router.close();
    }
  });
});

describe('operation-limits plugin over graphql-ws', () => {
  let stack: LiveStack;
  const clients: Client[] = [];

  beforeAll(async () => {
    stack = await startLiveStack({ LIMIT_MAX_DEPTH: '2', LIMIT_MAX_ALIASES: '1', LIMIT_MAX_TOKENS: '100' });
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await stack?.close();
  });

  const subscribe = async (query: string, variables: Record<string, unknown>) => {
    const client = wsClient(stack.wsUrl, { token: await stack.token('u1') });
    clients.push(client);
    return record(client, query, variables).ended();
  };

  it('refuses a subscription past a limit before any subgraph hears of it', async () => {
    const deep = await subscribe(ORDER_SUBSCRIPTION, { id: 'o1' });
    expect(deep).toEqual({ error: [expect.objectContaining({ message: 'Query depth 3 exceeds the limit of 2', extensions: expect.objectContaining({ limit: 'maxDepth' }) })] });
    const aliased = await subscribe('subscription($s: [String!]!) { priceUpdated(symbols: $s) { a: symbol b: price } }', { s: ['BTC'] });
    expect(aliased).toEqual({ error: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'maxAliases' }) })] });
    const long = await subscribe(PRICE_SUBSCRIPTION.replace('price\n', `price ${'__typename '.repeat(100)}\n`), { symbols: ['BTC'] });
    expect(long).toEqual({ error: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'GRAPHQL_PARSE_FAILED' }) })] });
    expect(stack.orders.requests).toHaveLength(0);
  });
});

describe('operation-limits defaults', () => {
  it('admit every operation of the persisted query manifest', () => {
    const { operationLimits, persistedQueriesPath } = readRouterConfig({ NODE_ENV: 'production' });
    const rules = operationLimitsPlugin(operationLimits).validationRules!;
    const schema = buildSchema('type Query { _: Boolean }');
    for (const operation of readManifest(persistedQueriesPath).operations) {
      const document = parse(operation.body, { maxTokens: operationLimits.maxTokens });
      expect({ operation: operation.name, errors: validate(schema, document, rules).map((error) => error.message) }).toEqual({ operation: operation.name, errors: [] });
    }
  });
});
