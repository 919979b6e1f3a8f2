import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { composeServices } from '@apollo/composition';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { parse } from 'graphql';

const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@external", "@requires", "@provides"])';

/** A subgraph SDL with the Federation 2 link prepended. */
export const federated = (sdl: string): string => `${FEDERATION_LINK}\n${sdl}`;

export interface RecordedRequest {
  headers: IncomingHttpHeaders;
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

export interface TestSubgraph {
  name: string;
  /** The routing URL (`…/graphql`). */
  url: string;
  /** The SDL it serves (with the federation link), for composition. */
  sdl: string;
  /** Every GraphQL request it received, in order. */
  requests: RecordedRequest[];
  /** Resolves once `count` GraphQL requests have arrived in total. */
  waitForRequests(count: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A small real subgraph (buildSubgraphSchema + Apollo Server on a bare node http server, port 0)
 * that records what the router sends it. `/health` answers 200.
 */
export async function startTestSubgraph(options: { name: string; typeDefs: string; resolvers: GraphQLResolverMap<unknown> }): Promise<TestSubgraph> {
  const sdl = federated(options.typeDefs);
  const schema = buildSubgraphSchema({ typeDefs: parse(sdl), resolvers: options.resolvers });
  const apollo = new ApolloServer({ schema, logger: silentLogger, includeStacktraceInErrorResponses: false });
  await apollo.start();

  const requests: RecordedRequest[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const record = (request: RecordedRequest) => {
    requests.push(request);
    for (const waiter of [...waiters]) {
      if (requests.length >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };

  const server = http.createServer(async (req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
    record({ headers: req.headers, query: body?.query, variables: body?.variables, operationName: body?.operationName });
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(key, value);
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'POST', headers, search: '', body },
      context: async () => ({}),
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    res.end(response.body.kind === 'complete' ? response.body.string : '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  let closed = false;
  return {
    name: options.name,
    url: `http://127.0.0.1:${port}/graphql`,
    sdl,
    requests,
    waitForRequests(count) {
      if (requests.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    async close() {
      if (closed) return;
      closed = true;
      await apollo.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Composes subgraphs (name, routing URL, SDL) into a supergraph SDL; throws on composition errors. */
export function composeSupergraph(subgraphs: { name: string; url: string; sdl: string }[]): string {
  const result = composeServices(subgraphs.map(({ name, url, sdl }) => ({ name, url, typeDefs: parse(sdl) })));
  if (result.errors) throw new Error(`composition failed:\n${result.errors.map((error) => error.message).join('\n')}`);
  return result.supergraphSdl;
}

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** A promise with its resolve exposed: a gate a resolver waits on until the test opens it. */
export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}
