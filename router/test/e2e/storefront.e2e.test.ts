import { AdjustStockDocument, LoginDocument, ProductDocument, ProductPageDocument, RefreshTokenDocument, RegisterDocument, StorefrontDocument } from '../../../schema/generated/operations';
import { DEMO_PRODUCTS, DEMO_USERS } from '../../../scripts/demo-data';
import { startStack, type Stack } from './stack';

describe('storefront through the router', () => {
  let stack: Stack;
  let customerToken: string;
  let adminToken: string;
  const admin = DEMO_USERS.find((user) => user.role === 'ADMIN')!;
  const good = DEMO_PRODUCTS.find((product) => product.sku === 'GOOD-HW-WALLET')!;

  beforeAll(async () => {
    stack = await startStack();
    const registered = await stack.request(RegisterDocument, { input: { email: 'shopper@example.com', password: 'a-long-password-1', name: 'Shopper' } });
    expect(registered.errors).toBeUndefined();
    customerToken = registered.data!.register.accessToken;
    const login = await stack.request(LoginDocument, { input: { email: admin.email, password: admin.password } });
    expect(login.errors).toBeUndefined();
    adminToken = login.data!.login.accessToken;
  });

  afterAll(async () => {
    await stack.close();
  });

  it('answers the storefront query with data from users, catalog and inventory, one fetch each', async () => {
    stack.resetCalls();
    const result = await stack.request(StorefrontDocument, { first: 20 }, customerToken);
    expect(result.errors).toBeUndefined();
    expect(result.data!.me).toEqual({ email: 'shopper@example.com' });
    const nodes = result.data!.products.edges.map((edge) => edge.node);
    expect(nodes).toHaveLength(20);
    const wallet = nodes.find((node) => node.name === good.name)!;
    expect(wallet.price).toEqual({ amount: good.priceAmount, currency: 'USD' });
    expect(wallet.stock).toEqual({ available: good.stock!.onHand });
    const indicator = nodes.find((node) => node.name === 'RSI Divergence Pro')!;
    expect(indicator.stock).toBeNull();
    expect(stack.calls).toEqual({ users: 1, catalog: 1, orders: 0, payments: 0, inventory: 1, trading: 0, portfolio: 0, signals: 0, analytics: 0 });
  });

  it('lets an admin adjust stock and shows it on the product; a customer may not', async () => {
    const adjusted = await stack.request(AdjustStockDocument, { productId: good.id, delta: -20, reason: 'damaged in warehouse' }, adminToken);
    expect(adjusted.errors).toBeUndefined();
    expect(adjusted.data!.adjustStock.onHand).toBe(good.stock!.onHand - 20);

    const product = await stack.request(ProductDocument, { id: good.id });
    expect(product.data!.product!.stock).toEqual({ available: good.stock!.onHand - 20 });

    const refused = await stack.request(AdjustStockDocument, { productId: good.id, delta: 5, reason: 'sneaky' }, customerToken);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const unchanged = await stack.request(ProductDocument, { id: good.id });
    expect(unchanged.data!.product!.stock).toEqual({ available: good.stock!.onHand - 20 });
  });

  it('pages through every product without gaps and refuses a malformed cursor', async () => {
    const seen: string[] = [];
    let after: string | null | undefined;
    do {
      const page = await stack.request(ProductPageDocument, { first: 7, after });
      expect(page.errors).toBeUndefined();
      seen.push(...page.data!.products.edges.map((edge) => edge.node.sku));
      after = page.data!.products.pageInfo.hasNextPage ? page.data!.products.pageInfo.endCursor : null;
    } while (after);
    expect([...seen].sort()).toEqual(DEMO_PRODUCTS.map((product) => product.sku).sort());

    const bad = await stack.request(ProductPageDocument, { first: 5, after: 'not-a-cursor' });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('searches and filters through the router', async () => {
    const found = await stack.request(ProductPageDocument, { first: 10, search: 'divergence' });
    const names = found.data!.products.edges.map((edge) => edge.node.name);
    expect(names).toEqual(expect.arrayContaining(['RSI Divergence Pro', 'OBV Divergence Finder']));
    const goods = await stack.request(ProductPageDocument, { first: 50, filter: { kind: 'GOOD' } });
    expect(goods.data!.products.edges.every((edge) => edge.node.kind === 'GOOD' && edge.node.stock !== null)).toBe(true);
  });

  it('rotates refresh tokens through the router', async () => {
    const login = await stack.request(LoginDocument, { input: { email: admin.email, password: admin.password } });
    const first = login.data!.login.refreshToken;
    const rotated = await stack.request(RefreshTokenDocument, { refreshToken: first });
    expect(rotated.errors).toBeUndefined();
    expect(rotated.data!.refreshToken.refreshToken).not.toBe(first);
    const reused = await stack.request(RefreshTokenDocument, { refreshToken: first });
    expect(reused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a forged token at the router with UNAUTHENTICATED', async () => {
    const forged = await stack.request(StorefrontDocument, { first: 1 }, `${customerToken.slice(0, -4)}AAAA`);
    expect(forged.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
