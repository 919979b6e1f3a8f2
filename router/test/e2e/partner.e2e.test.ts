import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ApiKeysDocument, CreateApiKeyDocument, LoginDocument, RevokeApiKeyDocument } from '../../../schema/generated/operations';
import { DEMO_PRODUCTS, DEMO_USERS } from '../../../scripts/demo-data';
import type { PersistedQueryManifest } from '../../src/plugins/persisted-queries';
import { startStack, type Stack } from './stack';

const manifest = JSON.parse(readFileSync(path.resolve(__dirname, '../../../schema/persisted-queries.json'), 'utf8')) as PersistedQueryManifest;
const idOf = (name: string): string => manifest.operations.find((operation) => operation.name === name)!.id;

describe('partners through the router: API keys and persisted queries', () => {
  let stack: Stack;
  let partnerToken: string;
  const partner = DEMO_USERS.find((user) => user.role === 'PARTNER')!;
  const indicator = DEMO_PRODUCTS.find((product) => product.kind === 'INDICATOR')!;

  /** A persisted operation by its manifest id, as a partner's program sends it. */
  async function run(name: string, variables: Record<string, unknown>, headers: Record<string, string>) {
    const response = await fetch(stack.routerUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ variables, extensions: { persistedQuery: { version: 1, sha256Hash: idOf(name) } } }),
    });
    return { status: response.status, body: (await response.json()) as { data?: any; errors?: { message: string; extensions?: Record<string, any> }[] } };
  }

  async function createKey(scopes: ('READ' | 'WRITE')[]): Promise<{ id: string; key: string }> {
    const created = await stack.request(CreateApiKeyDocument, { input: { name: `program ${scopes.join('+')}`, scopes } }, partnerToken);
    expect(created.errors).toBeUndefined();
    return { id: created.data!.createApiKey.apiKey.id, key: created.data!.createApiKey.key };
  }

  beforeAll(async () => {
    stack = await startStack();
    const login = await stack.request(LoginDocument, { input: { email: partner.email, password: partner.password } });
    expect(login.errors).toBeUndefined();
    partnerToken = login.data!.login.accessToken;
  });

  afterAll(async () => {
    await stack.close();
  });

  it('runs a manifest operation under an API key as the key’s owner, fetching from the subgraphs it needs', async () => {
    const { key } = await createKey(['READ']);
    stack.resetCalls();
    const catalog = await run('PartnerCatalog', { first: 5 }, { 'x-api-key': key });
    expect(catalog.status).toBe(200);
    expect(catalog.body.errors).toBeUndefined();
    expect(catalog.body.data.products.edges).toHaveLength(5);
    expect(stack.calls).toMatchObject({ catalog: 1, inventory: 1, orders: 0, trading: 0 });

    const account = await run('PartnerAccount', {}, { 'x-api-key': key });
    expect(account.body.data.me).toMatchObject({ email: partner.email, role: 'PARTNER' });
    const listed = await stack.request(ApiKeysDocument, {}, partnerToken);
    expect(listed.data!.apiKeys.some((apiKey) => apiKey.lastUsedAt !== null)).toBe(true);
    expect(JSON.stringify(listed.data)).not.toContain(key);
  });

  it('refuses an API key a query outside the manifest, and a write without the write scope', async () => {
    const reader = await createKey(['READ']);
    const adHoc = await fetch(stack.routerUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': reader.key },
      body: JSON.stringify({ query: '{ me { id email } }' }),
    });
    expect(adHoc.status).toBe(403);
    expect(((await adHoc.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('FORBIDDEN');

    stack.resetCalls();
    const refused = await run('AddToCart', { productId: indicator.id, quantity: 1 }, { 'x-api-key': reader.key });
    expect(refused.status).toBe(403);
    expect(refused.body.errors![0]).toMatchObject({ message: 'This API key has no write scope', extensions: { code: 'FORBIDDEN' } });
    expect(stack.calls.orders).toBe(0);

    const writer = await createKey(['READ', 'WRITE']);
    const added = await run('AddToCart', { productId: indicator.id, quantity: 1 }, { 'x-api-key': writer.key });
    expect(added.body.errors).toBeUndefined();
    expect(added.body.data.addToCart.lines).toEqual([expect.objectContaining({ quantity: 1 })]);
  });

  it('answers 401 to a revoked or unknown key, and keeps a customer from making keys', async () => {
    const revoked = await createKey(['READ']);
    const revocation = await stack.request(RevokeApiKeyDocument, { id: revoked.id }, partnerToken);
    expect(revocation.data!.revokeApiKey.active).toBe(false);
    for (const key of [revoked.key, 'mk_0000000000000000000000000000000000000000000']) {
      const answer = await run('PartnerCatalog', { first: 1 }, { 'x-api-key': key });
      expect(answer.status).toBe(401);
      expect(answer.body.errors![0]).toMatchObject({ message: 'The API key is not valid', extensions: { code: 'UNAUTHENTICATED' } });
    }

    const customer = DEMO_USERS.find((user) => user.role === 'CUSTOMER')!;
    const login = await stack.request(LoginDocument, { input: { email: customer.email, password: customer.password } });
    const refused = await stack.request(CreateApiKeyDocument, { input: { name: 'mine', scopes: ['READ'] } }, login.data!.login.accessToken);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
