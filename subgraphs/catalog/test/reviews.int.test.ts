import { DEMO_CATEGORIES, DEMO_PRODUCTS } from '../../../scripts/demo-data';
import type { GraphQLResponse } from '../../kit/src/testing';
import { seedCatalog } from '../src/seeds/catalog.seed';
import { CUSTOMER_ID, errorCode, startCatalog, type CatalogHarness } from './harness';

const ADD = 'mutation($productId: ID!, $rating: Int!, $text: String!) { addReview(productId: $productId, rating: $rating, text: $text) { id rating text authorId author { id } createdAt } }';
const PRODUCT = `query($id: ID!, $first: Int, $after: String) {
  product(id: $id) {
    averageRating reviewCount
    reviews(first: $first, after: $after) { edges { cursor node { id rating text authorId author { id } } } pageInfo { hasNextPage endCursor } totalCount }
  }
}`;

describe('reviews', () => {
  let harness: CatalogHarness;
  const rsi = DEMO_PRODUCTS[0]!;
  const macd = DEMO_PRODUCTS[1]!;
  const stoch = DEMO_PRODUCTS[2]!;
  const userId = (n: number) => `aaaaaaaa-0000-4000-8000-${String(n).padStart(12, '0')}`;
  const tokenFor = (n: number) => harness.issuer.sign(userId(n), 'CUSTOMER');

  beforeAll(async () => {
    harness = await startCatalog();
    await seedCatalog(harness.server.orm.em.fork(), DEMO_CATEGORIES, DEMO_PRODUCTS);
  });

  afterAll(async () => {
    await harness.close();
  });

  it('adds a review by the signed-in user and updates the rating', async () => {
    const added = await harness.request(ADD, { productId: rsi.id, rating: 4, text: '  Clean divergence signals.  ' }, harness.customerToken);
    expect(added.errors).toBeUndefined();
    expect(added.data!.addReview).toMatchObject({ rating: 4, text: 'Clean divergence signals.', authorId: CUSTOMER_ID, author: { id: CUSTOMER_ID } });

    const second = await harness.request(ADD, { productId: rsi.id, rating: 5, text: 'Great.' }, await tokenFor(1));
    expect(second.errors).toBeUndefined();
    const third = await harness.request(ADD, { productId: rsi.id, rating: 2, text: 'Repaints.' }, await tokenFor(2));
    expect(third.errors).toBeUndefined();

    const product = await harness.request(PRODUCT, { id: rsi.id });
    expect(product.errors).toBeUndefined();
    expect(product.data!.product).toMatchObject({ averageRating: 3.67, reviewCount: 3, reviews: { totalCount: 3 } });
    // Newest first.
    expect(product.data!.product.reviews.edges.map((edge: { node: { rating: number } }) => edge.node.rating)).toEqual([2, 5, 4]);
  });

  it('keeps averageRating null without reviews and exact for whole numbers', async () => {
    const none = await harness.request(PRODUCT, { id: stoch.id });
    expect(none.data!.product).toMatchObject({ averageRating: null, reviewCount: 0, reviews: { edges: [], totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null } } });
    await harness.request(ADD, { productId: stoch.id, rating: 5, text: 'Five.' }, await tokenFor(1));
    await harness.request(ADD, { productId: stoch.id, rating: 4, text: 'Four.' }, await tokenFor(2));
    expect((await harness.request(PRODUCT, { id: stoch.id })).data!.product).toMatchObject({ averageRating: 4.5, reviewCount: 2 });
  });

  it('allows one review per user and product (CONFLICT), writing nothing the second time', async () => {
    const reviews = await harness.count('review');
    const again = await harness.request(ADD, { productId: rsi.id, rating: 1, text: 'Changed my mind.' }, harness.customerToken);
    expect(errorCode(again)).toBe('CONFLICT');
    expect(await harness.count('review')).toBe(reviews);
    expect((await harness.request(PRODUCT, { id: rsi.id })).data!.product).toMatchObject({ averageRating: 3.67, reviewCount: 3 });
  });

  it('enforces one review per user with the unique index when requests race', async () => {
    const token = await tokenFor(3);
    const results = await Promise.all(Array.from({ length: 5 }, (_, index) => harness.request(ADD, { productId: macd.id, rating: 3, text: `Race ${index}` }, token)));
    expect(results.filter((result) => !result.errors)).toHaveLength(1);
    expect(results.filter((result) => result.errors).map(errorCode)).toEqual(['CONFLICT', 'CONFLICT', 'CONFLICT', 'CONFLICT']);
    expect((await harness.request(PRODUCT, { id: macd.id })).data!.product).toMatchObject({ averageRating: 3, reviewCount: 1 });
  });

  it('keeps the rating sum exact under concurrent reviews by different users', async () => {
    const tokens = await Promise.all(Array.from({ length: 10 }, (_, index) => tokenFor(100 + index)));
    const ratings = [1, 2, 3, 4, 5, 5, 4, 3, 2, 2];
    const results = await Promise.all(tokens.map((token, index) => harness.request(ADD, { productId: macd.id, rating: ratings[index], text: 'Concurrent.' }, token)));
    expect(results.every((result) => !result.errors)).toBe(true);
    const product = (await harness.request(PRODUCT, { id: macd.id })).data!.product;
    expect(product.reviewCount).toBe(11);
    expect(product.averageRating).toBe(Math.round(((3 + ratings.reduce((sum, value) => sum + value, 0)) / 11) * 100) / 100);
  });

  it('validates rating and text, and writes nothing when refusing', async () => {
    const reviews = await harness.count('review');
    const token = await tokenFor(4);
    for (const [rating, text] of [[0, 'Zero.'], [6, 'Six.'], [-3, 'Negative.'], [3, ''], [3, '   '], [3, 't'.repeat(2001)]] as const) {
      const result = await harness.request(ADD, { productId: rsi.id, rating, text }, token);
      expect({ rating, length: text.length, code: errorCode(result) }).toEqual({ rating, length: text.length, code: 'BAD_USER_INPUT' });
    }
    expect(await harness.count('review')).toBe(reviews);
    const longest = await harness.request(ADD, { productId: rsi.id, rating: 3, text: 't'.repeat(2000) }, token);
    expect(longest.errors).toBeUndefined();
  });

  it('requires a signed-in user and a known, active product', async () => {
    const reviews = await harness.count('review');
    expect(errorCode(await harness.request(ADD, { productId: rsi.id, rating: 5, text: 'Anonymous.' }))).toBe('UNAUTHENTICATED');
    const token = await tokenFor(5);
    expect(errorCode(await harness.request(ADD, { productId: '00000000-0000-4000-8000-00000000dead', rating: 5, text: 'Ghost.' }, token))).toBe('NOT_FOUND');
    expect(errorCode(await harness.request(ADD, { productId: 'nope', rating: 5, text: 'Ghost.' }, token))).toBe('BAD_USER_INPUT');
    const plan = DEMO_PRODUCTS[9]!;
    await harness.request('mutation($id: ID!) { archiveProduct(id: $id) { id } }', { id: plan.id }, harness.adminToken);
    expect(errorCode(await harness.request(ADD, { productId: plan.id, rating: 5, text: 'Archived.' }, token))).toBe('NOT_FOUND');
    expect(await harness.count('review')).toBe(reviews);
  });

  it('pages through reviews without duplicates or gaps', async () => {
    const all = (await harness.request(PRODUCT, { id: macd.id, first: 100 })).data!.product.reviews;
    expect(all.edges).toHaveLength(11);
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const result: GraphQLResponse = await harness.request(PRODUCT, { id: macd.id, first: 3, after });
      expect(result.errors).toBeUndefined();
      const reviews: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } = result.data!.product.reviews;
      seen.push(...reviews.edges.map((edge) => edge.node.id));
      after = reviews.pageInfo.hasNextPage ? reviews.pageInfo.endCursor : null;
    } while (after);
    expect(seen).toEqual(all.edges.map((edge: { node: { id: string } }) => edge.node.id));

    const bad = await harness.request(PRODUCT, { id: macd.id, first: 3, after: 'garbage' });
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
    // A cursor from another product's reviews does not apply here.
    const rsiCursor = (await harness.request(PRODUCT, { id: rsi.id, first: 1 })).data!.product.reviews.pageInfo.endCursor;
    expect(errorCode(await harness.request(PRODUCT, { id: macd.id, first: 3, after: rsiCursor }))).toBe('BAD_USER_INPUT');
  });

  it('does not record review writes as ProductChanged', async () => {
    expect(await harness.count('outbox')).toBe(20 + 1);
  });
});
