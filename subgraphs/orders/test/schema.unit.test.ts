import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { printFederatedSdl } from '../../kit/src';
import { buildOrdersSchema } from '../src/schema';

const committed = (name: string) => readFileSync(join(__dirname, '../../../schema', `${name}.graphql`), 'utf8');

describe('orders SDL', () => {
  let sdl: string;

  beforeAll(async () => {
    sdl = printFederatedSdl(await buildOrdersSchema());
  });

  it('declares the entities, the extended User and the stub Product', () => {
    expect(sdl).toMatch(/type Order\s+@key\(fields: "id"\)/);
    expect(sdl).toMatch(/type User\s+@key\(fields: "id"\)\s*{[\s\S]*orders\([\s\S]*first: Int[\s\S]*after: String[\s\S]*\): OrderConnection![\s\S]*cart: Cart\n/);
    expect(sdl).toMatch(/type Product\s+@key\(fields: "id", resolvable: false\)\s*{\s*id: ID!\s*}/);
    expect(sdl).toMatch(/type Money\s+@shareable/);
    expect(sdl).toMatch(/enum OrderStatus {\s+PENDING\s+AWAITING_PAYMENT\s+PAID\s+SHIPPED\s+DELIVERED\s+FULFILLED\s+CANCELLED\s+}/);
    expect(sdl).toMatch(/enum CancelReason {\s+OUT_OF_STOCK\s+PAYMENT_FAILED\s+EXPIRED\s+CUSTOMER\s+}/);
    expect(sdl).toMatch(/type OrderLine {[\s\S]*product: Product![\s\S]*quantity: Int![\s\S]*unitPrice: Money![\s\S]*lineTotal: Money!/);
    expect(sdl).toMatch(/type OrderHistoryEntry {[\s\S]*status: OrderStatus![\s\S]*at: DateTimeISO![\s\S]*reason: String\n/);
  });

  it('declares the operations', () => {
    expect(sdl).toMatch(/cart: Cart\n/);
    expect(sdl).toMatch(/order\(id: ID!\): Order\n/);
    expect(sdl).toMatch(/addToCart\([\s\S]*productId: ID![\s\S]*quantity: Int![\s\S]*\): Cart!/);
    expect(sdl).toMatch(/updateCartLine\([\s\S]*\): Cart!/);
    expect(sdl).toMatch(/removeCartLine\(productId: ID!\): Cart!/);
    expect(sdl).toMatch(/checkout\(input: CheckoutInput!\): Order!/);
    expect(sdl).toMatch(/cancelOrder\(id: ID!\): Order!/);
    expect(sdl).toMatch(/shipOrder\(id: ID!, trackingNumber: String!\): Order!/);
    expect(sdl).toMatch(/markDelivered\(id: ID!\): Order!/);
    expect(sdl).toMatch(/requestReturn\([\s\S]*orderId: ID![\s\S]*lines: \[ReturnLineInput!\]![\s\S]*reason: String![\s\S]*\): OrderReturn!/);
    expect(sdl).toMatch(/approveReturn\(id: ID!\): OrderReturn!/);
    expect(sdl).toMatch(/rejectReturn\([\s\S]*id: ID![\s\S]*reason: String[\s\S]*\): OrderReturn!/);
    expect(sdl).toMatch(/input CheckoutInput {[\s\S]*idempotencyKey: String![\s\S]*paymentMethod: String!/);
  });

  it('composes with the committed users, catalog and inventory schemas', () => {
    const result = composeServices([
      ...['users', 'catalog', 'inventory'].map((name) => ({ name, url: `http://${name}/graphql`, typeDefs: parse(committed(name)) })),
      { name: 'orders', url: 'http://orders/graphql', typeDefs: parse(sdl) },
    ]);
    expect(result.errors).toBeUndefined();
    expect(result.supergraphSdl).toMatch(/orders\([\s\S]*?first: Int[\s\S]*?after: String\s*\): OrderConnection! @join__field\(graph: ORDERS\)/);
    expect(result.supergraphSdl).toMatch(/type User\s+@join__type\(graph: CATALOG, key: "id", resolvable: false\)[\s\S]*@join__type\(graph: ORDERS, key: "id"\)/);
    expect(result.supergraphSdl).toContain('checkout(input: CheckoutInput!): Order! @join__field(graph: ORDERS)');
  });
});
