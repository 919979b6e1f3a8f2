import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import {
  CreateWebhookEndpointDocument,
  MySignalsDocument,
  RegisterDocument,
  SignalDocument,
  SignalReceivedDocument,
  SignalsDocument,
  SignalStatsDocument,
  SignalUpdatedDocument,
} from '../../../schema/generated/operations';
import { pngSize } from '../../../subgraphs/signals/src/screenshots/png';
import { receivedTopic, updatedTopic } from '../../../subgraphs/signals/src/signal/signal.updates';
import { colorCounts, decodePng } from '../../../subgraphs/signals/test/support/screenshots';
import { startStack, type Stack } from './stack';

/** A real Chromium screenshot can take a while on a busy machine; every wait is still bounded. */
const WAIT_MS = 90_000;
const QUOTA = 3;

interface Recorded<T> {
  results: FormattedExecutionResult<T, unknown>[];
  until(check: (results: FormattedExecutionResult<T, unknown>[]) => boolean, what: string): Promise<void>;
}

function record<T, V extends Record<string, unknown>>(client: Client, document: TypedDocumentNode<T, V>, variables?: V): Recorded<T> {
  const changes = new EventEmitter();
  let ended: unknown;
  const recorded: Recorded<T> = {
    results: [],
    until(check, what) {
      if (check(recorded.results)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          changes.off('change', listener);
          reject(new Error(`${what} within ${WAIT_MS} ms: got ${JSON.stringify(recorded.results)}`));
        }, WAIT_MS);
        const listener = () => {
          if (!check(recorded.results) && ended === undefined) return;
          clearTimeout(timer);
          changes.off('change', listener);
          if (check(recorded.results)) resolve();
          else reject(new Error(`${what}: the subscription ended (${JSON.stringify(ended)})`));
        };
        changes.on('change', listener);
      });
    },
  };
  client.subscribe<T>(
    { query: print(document), variables },
    {
      next: (result) => {
        recorded.results.push(result);
        changes.emit('change');
      },
      error: (error) => {
        ended = { error };
        changes.emit('change');
      },
      complete: () => {
        ended ??= 'completed';
        changes.emit('change');
      },
    },
  );
  return recorded;
}

describe('TradingView signals through the router', () => {
  let stack: Stack;
  const clients: Client[] = [];

  beforeAll(async () => {
    stack = await startStack({ env: { signals: { SIGNALS_QUOTA_FREE: String(QUOTA) } } });
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await stack?.close();
  });

  const register = async (): Promise<{ token: string; userId: string; email: string }> => {
    const email = `${randomUUID()}@example.com`;
    const registered = await stack.request(RegisterDocument, { input: { email, password: 'a-long-password-1', name: 'Trader' } });
    expect(registered.errors).toBeUndefined();
    return { token: registered.data!.register.accessToken, userId: registered.data!.register.user.id, email };
  };

  const endpointFor = async (token: string): Promise<string> => {
    const created = await stack.request(CreateWebhookEndpointDocument, { name: 'TradingView', defaults: { takeProfit: '2%', stopLoss: '1%' } }, token);
    expect(created.errors).toBeUndefined();
    return created.data!.createWebhookEndpoint.url.split('/').pop()!;
  };

  const post = async (webhookToken: string, body: string) => {
    const response = await fetch(`${stack.baseUrls.signals}/webhook/u/${webhookToken}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  const alert = () => JSON.stringify({ ticker: 'BINANCE:BTCUSDT', action: 'buy', price: '67250', interval: '1', time: new Date().toISOString(), comment: randomUUID() });

  const subscriber = (token: string): Client => {
    const client = createClient({
      url: stack.routerUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
    });
    clients.push(client);
    return client;
  };

  it('stores a posted alert, serves it through the router, takes a Chromium screenshot and tells the owner over graphql-ws', async () => {
    const user = await register();
    const webhookToken = await endpointFor(user.token);
    const client = subscriber(user.token);
    const received = record(client, SignalReceivedDocument);
    const updated = record(client, SignalUpdatedDocument, {});
    const signals = stack.server('signals').pubsub;
    await Promise.all([signals.whenSubscribed(receivedTopic(user.userId)), signals.whenSubscribed(updatedTopic(user.userId))]);

    const delivered = await post(webhookToken, alert());
    expect(delivered).toMatchObject({ status: 200, body: { ok: true, duplicate: false } });
    const id: string = delivered.body.signals[0];

    // The subscription event carries fields trading resolves (the instrument's live price).
    await received.until((results) => results.length >= 1, 'signalReceived');
    expect(received.results[0]!.data!.signalReceived).toMatchObject({ id, symbol: 'BTC/USDT', action: 'BUY', price: '67250', instrument: { symbol: 'BTC/USDT' } });
    expect(received.results[0]!.data!.signalReceived.instrument!.lastPrice).toMatch(/^\d+(\.\d+)?$/);

    const shown = await stack.request(SignalDocument, { id }, user.token);
    expect(shown.errors).toBeUndefined();
    expect(shown.data!.signal).toMatchObject({ id, symbol: 'BTC/USDT', ticker: 'BINANCE:BTCUSDT', exchange: 'BINANCE', timeframe: '1m', takeProfit: '68595', stopLoss: '66577.5', result: 'PENDING', user: { email: user.email } });
    const mine = await stack.request(MySignalsDocument, {}, user.token);
    expect(mine.data!.me!.signals.edges.map((edge) => edge.node.id)).toEqual([id]);

    await updated.until((results) => results.some((result) => result.data?.signalUpdated.screenshot.status !== 'PENDING'), 'the screenshot');
    const shot = updated.results.find((result) => result.data!.signalUpdated.id === id)!.data!.signalUpdated.screenshot;
    expect(shot.status).toBe('READY');
    // The signed link names the public base URL; here the subgraph listens on a port of its own.
    const link = new URL(shot.url!);
    const png = await fetch(`${stack.baseUrls.signals}${link.pathname}${link.search}`);
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    const bytes = new Uint8Array(await png.arrayBuffer());
    expect(pngSize(bytes)).toEqual({ width: 1280, height: 720 });
    // Not blank: a drawn chart has text, grid, candles and antialiasing.
    expect(colorCounts(decodePng(bytes)).size).toBeGreaterThan(100);
    expect((await fetch(`${stack.baseUrls.signals}${link.pathname}`)).status).toBe(403);
  });

  it('makes one signal of a retried alert, answers an unknown token 404 and a full quota 429', async () => {
    const user = await register();
    const webhookToken = await endpointFor(user.token);
    const body = alert();
    const first = await post(webhookToken, body);
    const retried = await Promise.all([post(webhookToken, body), post(webhookToken, body)]);
    expect(retried.map((answer) => answer.body)).toEqual([
      { ok: true, duplicate: true, signals: first.body.signals },
      { ok: true, duplicate: true, signals: first.body.signals },
    ]);
    expect((await stack.request(SignalsDocument, {}, user.token)).data!.signals.edges).toHaveLength(1);

    expect(await post(Buffer.alloc(32).toString('base64url'), body)).toEqual({ status: 404, body: { error: 'NOT_FOUND', message: 'No webhook endpoint at this URL' } });

    for (let index = 1; index < QUOTA; index += 1) expect((await post(webhookToken, alert())).status).toBe(200);
    const over = await post(webhookToken, alert());
    expect(over.status).toBe(429);
    expect(over.body).toMatchObject({ error: 'QUOTA_EXCEEDED', plan: 'free', limit: QUOTA, used: QUOTA });
    expect((await stack.request(SignalStatsDocument, {}, user.token)).data!.signalStats).toMatchObject({ total: QUOTA, thisMonth: QUOTA, plan: 'free', monthlyQuota: QUOTA });
  });

  it('never shows a user another user\'s signals', async () => {
    const owner = await register();
    const other = await register();
    const webhookToken = await endpointFor(owner.token);
    const otherFeed = record(subscriber(other.token), SignalReceivedDocument);
    await stack.server('signals').pubsub.whenSubscribed(receivedTopic(other.userId));
    const id: string = (await post(webhookToken, alert())).body.signals[0];

    const peek = await stack.request(SignalDocument, { id }, other.token);
    expect(peek.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await stack.request(SignalsDocument, {}, other.token)).data!.signals.edges).toEqual([]);
    expect((await stack.request(MySignalsDocument, {}, other.token)).data!.me!.signals.edges).toEqual([]);
    // The other user's own alert is the first thing their feed hears.
    const otherId: string = (await post(await endpointFor(other.token), alert())).body.signals[0];
    await otherFeed.until((results) => results.length >= 1, 'the other user\'s own signal');
    expect(otherFeed.results.map((result) => result.data!.signalReceived.id)).toEqual([otherId]);
  });
});
