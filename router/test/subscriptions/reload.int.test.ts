import { once } from 'node:events';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from 'graphql-ws';
import { startRouter, type StartedRouter } from '../support/fixtures';
import { record, startOrders, startPayments, startUsers, untilRouter, withoutName, wsClient, type Payments } from '../support/live';
import type { LiveSubgraph } from '../support/live-subgraph';
import { composeSupergraph, type TestSubgraph } from '../support/subgraph';
import { createIssuer, type Issuer } from '../support/tokens';

const WITH_EMAIL = 'subscription($id: ID!) { orderUpdated(orderId: $id) { status user { email } } }';
const WITH_NAME = 'subscription($id: ID!) { orderUpdated(orderId: $id) { status user { email name } } }';

describe('subscriptions across a supergraph reload', () => {
  let issuer: Issuer;
  let orders: LiveSubgraph;
  let payments: Payments;
  let users: TestSubgraph;
  let dir: string;
  let started: StartedRouter;
  const clients: Client[] = [];

  beforeAll(async () => {
    issuer = await createIssuer();
    orders = await startOrders(issuer.verifyToken);
    payments = await startPayments();
    users = await startUsers();
    dir = await mkdtemp(path.join(tmpdir(), 'router-subscriptions-'));
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await started?.router.close();
    await orders?.close();
    await payments?.close();
    await users?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('plans new subscriptions on the new supergraph while open ones keep their events', async () => {
    const file = path.join(dir, 'supergraph.graphql');
    await writeFile(file, composeSupergraph([orders, payments, { ...users, sdl: withoutName(users.sdl) }]));
    started = await startRouter({ env: { SUPERGRAPH_PATH: file }, verifyToken: issuer.verifyToken });
    const token = await issuer.sign('u1');
    const client = wsClient(started.url, { token });
    clients.push(client);

    const before = record(client, WITH_NAME, { id: 'o1' });
    expect(await before.ended()).toEqual({ error: [expect.objectContaining({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })] });
    const open = record(client, WITH_EMAIL, { id: 'o1' });
    await orders.until(() => orders.pubsub.count('order:o1') === 1);

    const updated = once(started.router.events, 'supergraph-updated');
    const aside = `${file}.tmp`;
    await writeFile(aside, composeSupergraph([orders, payments, users]));
    await rename(aside, file);
    await updated;

    const after = record(client, WITH_NAME, { id: 'o1' });
    // Same primary fetch on orders: the new client joins the open upstream subscription.
    await untilRouter(started, (stats) => stats.subscriptions === 2);
    expect(orders.pubsub.count('order:o1')).toBe(1);
    orders.pubsub.publish('order:o1', { id: 'o1', status: 'CONFIRMED' });

    expect(await open.result(1)).toEqual({ data: { orderUpdated: { status: 'CONFIRMED', user: { email: 'u1@example.com' } } } });
    expect(await after.result(1)).toEqual({ data: { orderUpdated: { status: 'CONFIRMED', user: { email: 'u1@example.com', name: 'User u1' } } } });
    expect(started.router.subscriptions.stats().upstream.subscriptions).toBe(1);
  });
});
