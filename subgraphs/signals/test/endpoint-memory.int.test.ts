import { buyAlert, SIGNAL, startSignals, type SignalsHarness } from './support/harness';

const ALICE = '0a11ce00-0000-4000-8000-0000000000e1';
const BOB = '0b0b0000-0000-4000-8000-0000000000e2';
const NOT_FOUND_BODY = { error: 'NOT_FOUND', message: 'No webhook endpoint at this URL' };
const UPDATE = `mutation($id: ID!, $defaults: WebhookDefaultsInput, $passphrase: String) {
  updateWebhookEndpoint(id: $id, defaults: $defaults, passphrase: $passphrase) { id }
}`;

/**
 * Two API replicas on one database: `webhook` takes the alerts and keeps endpoints in memory,
 * `other` changes them. Every change made elsewhere holds from the webhook's next alert on.
 */
describe('webhook endpoints kept in memory', () => {
  let webhook: SignalsHarness;
  let other: SignalsHarness;
  let alice: string;

  beforeAll(async () => {
    const env = { SIGNALS_QUOTA_FREE: '3', SIGNALS_QUOTA_PRO: '1000' };
    webhook = await startSignals({ env });
    const [{ current_database: name }] = await webhook.sql<{ current_database: string }>('select current_database()');
    other = await startSignals({
      env,
      issuer: webhook.issuer,
      prefix: webhook.prefix,
      databaseUrl: `${process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432'}/${name}`,
    });
    alice = await webhook.token(ALICE);
    // Alice's alerts stay within her quota; Bob's free plan is the one that runs out.
    await other.apply(other.envelope('PlanChanged', { userId: ALICE, productId: 'p1', sku: 'PLAN-PRO-MONTH', plan: 'PRO-MONTH' }));
  });

  afterAll(async () => {
    await other?.close();
    await webhook?.close();
  });

  const lookups = async (): Promise<Record<'memory' | 'database' | 'stale', number>> => {
    const text = await (await fetch(`${webhook.baseUrl}/metrics`)).text();
    const count = (result: string) => Number(new RegExp(`^signals_webhook_endpoint_lookups_total\\{result="${result}"[,}]\\S* (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    return { memory: count('memory'), database: count('database'), stale: count('stale') };
  };
  const signalsOf = async (endpointId: string): Promise<number> =>
    (await webhook.sql<{ n: number }>('select count(*)::int as n from "signal" where "endpoint_id" = ?', [endpointId]))[0]!.n;

  it('looks an endpoint up once, then takes its alerts from memory', async () => {
    const endpoint = await webhook.endpoint(alice);
    const before = await lookups();
    for (let alert = 0; alert < 3; alert += 1) expect((await webhook.deliver(endpoint.token, buyAlert())).status).toBe(200);
    expect(await lookups()).toEqual({ memory: before.memory + 2, database: before.database + 1, stale: before.stale });
    expect(await signalsOf(endpoint.id)).toBe(3);
  });

  it('answers 404 for an endpoint revoked elsewhere, storing nothing', async () => {
    const endpoint = await webhook.endpoint(alice);
    expect((await webhook.deliver(endpoint.token, buyAlert())).status).toBe(200);
    await other.request(`mutation($id: ID!) { revokeWebhookEndpoint(id: $id) { id } }`, { id: endpoint.id }, alice);
    const before = await lookups();
    for (let alert = 0; alert < 2; alert += 1) expect(await webhook.deliver(endpoint.token, buyAlert())).toMatchObject({ status: 404, body: NOT_FOUND_BODY });
    // The first judged from memory was found stale and judged again; the second was looked up.
    expect(await lookups()).toEqual({ memory: before.memory + 1, database: before.database + 2, stale: before.stale + 1 });
    expect(await signalsOf(endpoint.id)).toBe(1);
  });

  it('answers 404 for a token rotated elsewhere, and takes the new one', async () => {
    const endpoint = await webhook.endpoint(alice);
    expect((await webhook.deliver(endpoint.token, buyAlert())).status).toBe(200);
    const rotated = await other.request(`mutation($id: ID!) { rotateWebhookToken(id: $id) { url } }`, { id: endpoint.id }, alice);
    const newToken = (rotated.data!.rotateWebhookToken.url as string).split('/').pop()!;
    expect(await webhook.deliver(endpoint.token, buyAlert())).toMatchObject({ status: 404, body: NOT_FOUND_BODY });
    expect((await webhook.deliver(newToken, buyAlert())).status).toBe(200);
    expect(await signalsOf(endpoint.id)).toBe(2);
  });

  it('applies defaults changed elsewhere to the next alert', async () => {
    const endpoint = await webhook.endpoint(alice, { defaults: { timeframe: '15m' } });
    expect((await webhook.deliver(endpoint.token, buyAlert())).status).toBe(200);
    const updated = await other.request(UPDATE, { id: endpoint.id, defaults: { timeframe: '4h' } }, alice);
    expect(updated.errors).toBeUndefined();
    const delivered = await webhook.deliver(endpoint.token, JSON.stringify({ ticker: 'BINANCE:BTCUSDT', action: 'buy', price: '67250.5' }));
    expect(delivered.status).toBe(200);
    const [id] = delivered.body.signals as string[];
    expect((await webhook.request(SIGNAL, { id }, alice)).data!.signal).toMatchObject({ timeframe: '4h' });
  });

  it('asks for a passphrase set elsewhere, and takes one changed elsewhere', async () => {
    const endpoint = await webhook.endpoint(alice);
    const alert = (passphrase?: string) => JSON.stringify({ ticker: 'BINANCE:ETHUSDT', action: 'sell', price: '3200', n: Math.random(), ...(passphrase ? { passphrase } : {}) });
    expect((await webhook.deliver(endpoint.token, alert())).status).toBe(200);
    await other.request(UPDATE, { id: endpoint.id, passphrase: 'first secret' }, alice);
    expect(await webhook.deliver(endpoint.token, alert())).toMatchObject({ status: 401, body: { error: 'PASSPHRASE_MISMATCH' } });
    expect((await webhook.deliver(endpoint.token, alert('first secret'))).status).toBe(200);
    await other.request(UPDATE, { id: endpoint.id, passphrase: 'second secret' }, alice);
    // Memory still holds the first passphrase: its refusal is judged again on the database's endpoint.
    expect((await webhook.deliver(endpoint.token, alert('second secret'))).status).toBe(200);
    expect(await webhook.deliver(endpoint.token, alert('first secret'))).toMatchObject({ status: 401, body: { error: 'PASSPHRASE_MISMATCH' } });
    expect(await signalsOf(endpoint.id)).toBe(3);
  });

  it('counts the quota of a plan changed elsewhere from the next alert', async () => {
    const bob = await webhook.token(BOB);
    const endpoint = await webhook.endpoint(bob);
    for (let alert = 0; alert < 3; alert += 1) expect((await webhook.deliver(endpoint.token, buyAlert())).status).toBe(200);
    expect(await webhook.deliver(endpoint.token, buyAlert())).toMatchObject({ status: 429, body: { error: 'QUOTA_EXCEEDED', plan: 'free', limit: 3 } });
    await other.apply(other.envelope('PlanChanged', { userId: BOB, productId: 'p1', sku: 'PLAN-PRO-MONTH', plan: 'PRO-MONTH' }));
    expect((await webhook.deliver(endpoint.token, buyAlert())).status).toBe(200);
    expect(await signalsOf(endpoint.id)).toBe(4);
  });
});
