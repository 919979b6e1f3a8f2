import { createHash } from 'node:crypto';
import { buyAlert, CREATE_ENDPOINT, ENDPOINT_FIELDS, errorCode, startSignals, type SignalsHarness } from './support/harness';

const ALICE = '0a11ce00-0000-4000-8000-000000000001';
const BOB = '0b0b0000-0000-4000-8000-000000000002';

const ROTATE = `mutation($id: ID!) { rotateWebhookToken(id: $id) { url endpoint { ${ENDPOINT_FIELDS} } } }`;
const REVOKE = `mutation($id: ID!) { revokeWebhookEndpoint(id: $id) { ${ENDPOINT_FIELDS} } }`;
const UPDATE = `mutation($id: ID!, $name: String, $defaults: WebhookDefaultsInput, $passphrase: String, $tradingViewIpsOnly: Boolean) {
  updateWebhookEndpoint(id: $id, name: $name, defaults: $defaults, passphrase: $passphrase, tradingViewIpsOnly: $tradingViewIpsOnly) { ${ENDPOINT_FIELDS} }
}`;
const LIST = `{ webhookEndpoints { ${ENDPOINT_FIELDS} } }`;
const ONE = `query($id: ID!) { webhookEndpoint(id: $id) { ${ENDPOINT_FIELDS} } }`;

describe('webhook endpoints', () => {
  let h: SignalsHarness;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    h = await startSignals();
    alice = await h.token(ALICE);
    bob = await h.token(BOB);
  });

  afterAll(async () => {
    await h?.close();
  });

  it('shows the URL with its token once and keeps only the SHA-256 of the token', async () => {
    const created = await h.request(CREATE_ENDPOINT, { name: '  My strategy ', defaults: { exchange: 'binance', timeframe: '15m', takeProfit: '2%', stopLoss: '65000' } }, alice);
    expect(created.errors).toBeUndefined();
    const { url, endpoint } = created.data!.createWebhookEndpoint;
    const match = /^https:\/\/signals\.example\.test\/webhook\/u\/([A-Za-z0-9_-]+)$/.exec(url);
    expect(match).not.toBeNull();
    const token = match![1]!;
    // 32 random bytes in base64url.
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(endpoint).toMatchObject({
      name: 'My strategy',
      active: true,
      passphraseRequired: false,
      tradingViewIpsOnly: false,
      revokedAt: null,
      defaults: { exchange: 'BINANCE', timeframe: '15m', indicator: null, takeProfit: '2%', stopLoss: '65000' },
    });

    const [row] = await h.sql<Record<string, unknown>>('select * from "webhook_endpoint" where "id" = ?', [endpoint.id]);
    expect(row!.token_hash).toEqual(createHash('sha256').update(token).digest());
    expect(JSON.stringify(row)).not.toContain(token);

    // Nothing reads the token again: the endpoint type has no url or token field.
    const listed = await h.request(LIST, {}, alice);
    expect(listed.data!.webhookEndpoints.map((item: { id: string }) => item.id)).toContain(endpoint.id);
    expect(JSON.stringify(listed.data)).not.toContain(token);
    const asked = await h.request(`{ webhookEndpoints { id url } }`, {}, alice);
    expect(errorCode(asked)).toBe('GRAPHQL_VALIDATION_FAILED');

    expect((await h.deliver(token, buyAlert())).status).toBe(200);
  });

  it('rotates the token: the old URL answers 404 at once, the new one works', async () => {
    const created = await h.endpoint(alice);
    const rotated = await h.request(ROTATE, { id: created.id }, alice);
    expect(rotated.errors).toBeUndefined();
    const newToken = rotated.data!.rotateWebhookToken.url.split('/').pop();
    expect(newToken).not.toBe(created.token);
    expect(new Date(rotated.data!.rotateWebhookToken.endpoint.tokenRotatedAt).getTime()).toBeGreaterThan(
      new Date(rotated.data!.rotateWebhookToken.endpoint.createdAt).getTime() - 1,
    );

    const old = await h.deliver(created.token, buyAlert());
    expect(old.status).toBe(404);
    expect((await h.deliver(newToken, buyAlert())).status).toBe(200);
  });

  it('revokes an endpoint: its URL answers 404, it cannot be rotated, revoking again changes nothing', async () => {
    const created = await h.endpoint(alice);
    const revoked = await h.request(REVOKE, { id: created.id }, alice);
    expect(revoked.errors).toBeUndefined();
    expect(revoked.data!.revokeWebhookEndpoint).toMatchObject({ active: false });
    const revokedAt = revoked.data!.revokeWebhookEndpoint.revokedAt;
    expect(revokedAt).not.toBeNull();

    expect((await h.deliver(created.token, buyAlert())).status).toBe(404);
    expect(errorCode(await h.request(ROTATE, { id: created.id }, alice))).toBe('CONFLICT');
    const again = await h.request(REVOKE, { id: created.id }, alice);
    expect(again.data!.revokeWebhookEndpoint.revokedAt).toBe(revokedAt);
  });

  it('updates name, defaults, passphrase and the address check', async () => {
    const created = await h.endpoint(alice);
    const updated = await h.request(UPDATE, { id: created.id, name: 'Renamed', defaults: { indicator: 'RSI' }, passphrase: 'correct horse', tradingViewIpsOnly: true }, alice);
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateWebhookEndpoint).toMatchObject({
      name: 'Renamed',
      passphraseRequired: true,
      tradingViewIpsOnly: true,
      defaults: { indicator: 'RSI', exchange: null, takeProfit: null },
    });
    const cleared = await h.request(UPDATE, { id: created.id, passphrase: '', tradingViewIpsOnly: false }, alice);
    expect(cleared.data!.updateWebhookEndpoint).toMatchObject({ name: 'Renamed', passphraseRequired: false, tradingViewIpsOnly: false, defaults: { indicator: 'RSI' } });
    const [row] = await h.sql('select "passphrase_salt", "passphrase_hash" from "webhook_endpoint" where "id" = ?', [created.id]);
    expect(row).toEqual({ passphrase_salt: null, passphrase_hash: null });
  });

  it('refuses bad input with BAD_USER_INPUT and writes nothing', async () => {
    const before = await h.sql<{ n: number }>('select count(*)::int as n from "webhook_endpoint"');
    const cases = [
      { name: '' },
      { name: 'x'.repeat(101) },
      { name: 'ok', defaults: { takeProfit: 'lots' } },
      { name: 'ok', defaults: { stopLoss: '-5%' } },
      { name: 'ok', defaults: { timeframe: 'fortnight' } },
      { name: 'ok', defaults: { exchange: 'BIN ANCE' } },
      { name: 'ok', passphrase: 'short' },
    ];
    for (const variables of cases) {
      const response = await h.request(CREATE_ENDPOINT, variables, alice);
      expect(errorCode(response)).toBe('BAD_USER_INPUT');
    }
    const after = await h.sql<{ n: number }>('select count(*)::int as n from "webhook_endpoint"');
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  it('keeps every endpoint to its owner', async () => {
    const created = await h.endpoint(alice);
    expect(errorCode(await h.request(ONE, { id: created.id }, bob))).toBe('NOT_FOUND');
    expect(errorCode(await h.request(ROTATE, { id: created.id }, bob))).toBe('NOT_FOUND');
    expect(errorCode(await h.request(REVOKE, { id: created.id }, bob))).toBe('NOT_FOUND');
    expect(errorCode(await h.request(UPDATE, { id: created.id, name: 'mine now' }, bob))).toBe('NOT_FOUND');
    const listed = await h.request(LIST, {}, bob);
    expect(listed.data!.webhookEndpoints.map((item: { id: string }) => item.id)).not.toContain(created.id);
    expect((await h.request(ONE, { id: created.id }, alice)).data!.webhookEndpoint.id).toBe(created.id);
    // Still live: Bob's attempts changed nothing.
    expect((await h.deliver(created.token, buyAlert())).status).toBe(200);
  });

  it('asks anonymous callers to sign in', async () => {
    expect(errorCode(await h.request(LIST))).toBe('UNAUTHENTICATED');
    expect(errorCode(await h.request(CREATE_ENDPOINT, { name: 'x' }))).toBe('UNAUTHENTICATED');
  });
});
