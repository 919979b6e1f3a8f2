import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, createTokenVerifier, type Logger } from '../../../kit/src';
import type { EventEnvelope } from '../../../kit/src/events';
import { applyEvent, cleanupRedis, testPrefix } from '../../../kit/src/events/testing';
import { graphqlRequest, testDatabaseUrl, TestIssuer, type GraphQLResponse } from '../../../kit/src/testing';
import { readSignalsConfig } from '../../src/config';
import { createSignalsServer, type SignalsServer } from '../../src/server';

export const FIXTURES = path.resolve(__dirname, '../fixtures/tradingview');

/** A fixture body as TradingView would send it: JSON when it parses, else text/plain. */
export function fixture(name: string): { body: Buffer; contentType: string } {
  const body = readFileSync(path.join(FIXTURES, name));
  let json = false;
  try {
    JSON.parse(body.toString('utf8'));
    json = true;
  } catch {
    json = false;
  }
  return { body, contentType: json ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8' };
}

export const ENDPOINT_FIELDS = 'id name active passphraseRequired tradingViewIpsOnly createdAt tokenRotatedAt revokedAt defaults { exchange timeframe indicator takeProfit stopLoss }';
export const CREATE_ENDPOINT = `mutation($name: String!, $defaults: WebhookDefaultsInput, $passphrase: String, $tradingViewIpsOnly: Boolean) {
  createWebhookEndpoint(name: $name, defaults: $defaults, passphrase: $passphrase, tradingViewIpsOnly: $tradingViewIpsOnly) { url endpoint { ${ENDPOINT_FIELDS} } }
}`;
export const SIGNAL_FIELDS = `id indicator ticker exchange symbol price signalType action timeframe chartId takeProfit stopLoss quantity alertTime message receivedAt
  screenshot { status url error } result exitPrice profitLoss notes resolvedAt endpoint { id } user { id }`;
export const SIGNALS = `query($filter: SignalFilter, $first: Int, $after: String) {
  signals(filter: $filter, first: $first, after: $after) { edges { cursor node { ${SIGNAL_FIELDS} } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } }
}`;
export const SIGNAL = `query($id: ID!) { signal(id: $id) { ${SIGNAL_FIELDS} } }`;

export interface Delivery {
  status: number;
  body: Record<string, any>;
  headers: Headers;
}

export interface CreatedEndpoint {
  id: string;
  url: string;
  token: string;
}

/** One signals server on port 0 over a fresh database, with tokens for three users. */
export interface SignalsHarness {
  server: SignalsServer;
  url: string;
  baseUrl: string;
  screenshotDir: string;
  issuer: TestIssuer;
  prefix: string;
  request<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResponse<T>>;
  token(userId: string, role?: 'CUSTOMER' | 'TRADER' | 'ADMIN'): Promise<string>;
  /** Creates an endpoint for the token's user; returns its id, URL and token. */
  endpoint(token: string, variables?: Record<string, unknown>): Promise<CreatedEndpoint>;
  /** Posts a body to a webhook token (the token, not the URL). */
  deliver(webhookToken: string, body: Buffer | string, options?: { contentType?: string; headers?: Record<string, string> }): Promise<Delivery>;
  /** Applies an event as the consumer does: inside a transaction, then its after-commit work. */
  apply(envelope: EventEnvelope): Promise<void>;
  envelope(type: string, data: Record<string, unknown>, occurredAt?: Date): EventEnvelope;
  sql<T = Record<string, any>>(query: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  /** Run the relay, consumer, outcome watcher and sweep (default false). */
  workers?: boolean;
  /** Serve GraphQL and the webhook (default true; false is a `--workers-only` process). */
  api?: boolean;
  /** Share a database with another harness (a second replica); the first one drops it. */
  databaseUrl?: string;
  issuer?: TestIssuer;
  /** Share queues and pub/sub channels with another harness (a second replica); the first one cleans up. */
  prefix?: string;
  /** The server's logger (default silent). */
  log?: Logger;
}

export async function startSignals(options: HarnessOptions = {}): Promise<SignalsHarness> {
  const database = options.databaseUrl ? null : testDatabaseUrl('signals');
  const issuer = options.issuer ?? (await TestIssuer.create());
  const prefix = options.prefix ?? testPrefix('signals');
  const screenshotDir = mkdtempSync(path.join(tmpdir(), 'signals-test-'));
  const config = readSignalsConfig({
    DATABASE_URL: options.databaseUrl ?? database!.url,
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    EVENTS_ENABLED: options.workers ? 'true' : 'false',
    EVENTS_PREFIX: prefix,
    // Channels of its own, so parallel test files never hear each other.
    PUBSUB_PREFIX: `${prefix}:pubsub:`,
    PUBLIC_BASE_URL: 'https://signals.example.test',
    SCREENSHOT_QUEUE_PREFIX: prefix,
    SCREENSHOT_DIR: screenshotDir,
    // The allowance is counted in Redis by source address, which every test file shares (127.0.0.1).
    AUDIT_REFUSALS_PER_MINUTE: '1000000',
    ...options.env,
  });
  let server: SignalsServer;
  try {
    server = await createSignalsServer({ config, log: options.log ?? createLogger('signals-test', 'silent'), verifyToken: createTokenVerifier(issuer.keys), workers: options.workers ?? false, api: options.api });
  } catch (error) {
    await database?.drop();
    throw error;
  }
  const url = await server.listen(0);
  const baseUrl = url.replace(/\/graphql$/, '');
  const request = <T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string) => graphqlRequest<T>(url, query, { variables, token });
  const sql = <T = Record<string, any>>(query: string, params: unknown[] = []): Promise<T[]> => server.orm.em.fork().getConnection().execute(query, params);

  return {
    server,
    url,
    baseUrl,
    screenshotDir,
    issuer,
    prefix,
    request,
    token: (userId, role = 'CUSTOMER') => issuer.sign(userId, role),
    async endpoint(token, variables = {}) {
      const created = await request(CREATE_ENDPOINT, { name: 'TradingView', ...variables }, token);
      if (created.errors) throw new Error(`createWebhookEndpoint failed: ${JSON.stringify(created.errors)}`);
      const { url: webhookUrl, endpoint } = created.data!.createWebhookEndpoint;
      return { id: endpoint.id, url: webhookUrl, token: webhookUrl.split('/').pop()! };
    },
    async deliver(webhookToken, body, deliveryOptions = {}) {
      const response = await fetch(`${baseUrl}/webhook/u/${webhookToken}`, {
        method: 'POST',
        headers: { 'content-type': deliveryOptions.contentType ?? 'application/json', ...deliveryOptions.headers },
        body: typeof body === 'string' ? body : new Uint8Array(body),
      });
      const text = await response.text();
      return { status: response.status, body: JSON.parse(text) as Record<string, any>, headers: response.headers };
    },
    async apply(envelope) {
      const handler = server.eventHandlers[envelope.type];
      if (!handler) throw new Error(`no handler for ${envelope.type}`);
      await applyEvent(server.orm.em, handler, envelope);
    },
    envelope(type, data, occurredAt = new Date()) {
      return { id: randomUUID(), type, version: 1, occurredAt: occurredAt.toISOString(), source: 'orders', subject: String(data.userId ?? ''), data };
    },
    sql,
    async close() {
      try {
        await server.close();
      } finally {
        await database?.drop();
        if (!options.prefix) await cleanupRedis(prefix, ['signals', 'analytics']);
        rmSync(screenshotDir, { recursive: true, force: true });
      }
    },
  };
}

/** The extension code of the first error. */
export const errorCode = (response: GraphQLResponse): unknown => response.errors?.[0]?.extensions?.code;

/** A signal-ready JSON alert (BUY BTC/USDT at `price`), unique by `id` so it is not a retry of another. */
export const buyAlert = (fields: Record<string, unknown> = {}): string =>
  JSON.stringify({ ticker: 'BINANCE:BTCUSDT', action: 'buy', price: '67000.5', interval: '15', id: randomUUID(), ...fields });
