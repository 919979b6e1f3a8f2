import { readFileSync } from 'node:fs';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { printFederatedSdl } from '../../kit/src';
import { buildPaymentsSchema } from '../src/schema';

/** The part of orders' schema payments depends on: orders owns Order. */
const ORDERS_STUB = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Order @key(fields: "id") { id: ID! status: String! }
  type Query { order(id: ID!): Order }
`;

describe('payments SDL', () => {
  let sdl: string;

  beforeAll(async () => {
    sdl = printFederatedSdl(await buildPaymentsSchema());
  });

  it('declares Payment, Refund and their enums', () => {
    expect(sdl).toMatch(/type Payment\s+@key\(fields: "id"\)\s*{[\s\S]*id: ID![\s\S]*orderId: ID![\s\S]*status: PaymentStatus![\s\S]*amount: Money![\s\S]*provider: String![\s\S]*createdAt: DateTimeISO![\s\S]*clientSecret: String\n[\s\S]*refunds: \[Refund!\]!/);
    expect(sdl).toMatch(/enum PaymentStatus {[\s\S]*PENDING[\s\S]*REQUIRES_ACTION[\s\S]*SUCCEEDED[\s\S]*FAILED[\s\S]*CANCELLED[\s\S]*REFUNDED[\s\S]*PARTIALLY_REFUNDED[\s\S]*}/);
    expect(sdl).toMatch(/type Refund {[\s\S]*id: ID![\s\S]*amount: Money![\s\S]*status: RefundStatus![\s\S]*reason: String\n[\s\S]*createdAt: DateTimeISO!/);
    expect(sdl).toMatch(/enum RefundStatus {[\s\S]*PENDING[\s\S]*SUCCEEDED[\s\S]*FAILED[\s\S]*}/);
    expect(sdl).toMatch(/type Money\s+@shareable\s*{[\s\S]*amount: Int![\s\S]*currency: String!/);
  });

  it('adds payment to the Order entity and declares the API', () => {
    expect(sdl).toMatch(/type Order\s+@key\(fields: "id"\)\s*{\s*id: ID![\s\S]*payment: Payment\n/);
    expect(sdl).toMatch(/payment\(id: ID!\): Payment\n/);
    expect(sdl).toMatch(/refundPayment\([\s\S]*paymentId: ID![\s\S]*amount: Int![\s\S]*reason: String[\s\S]*\): Refund!/);
  });

  it('composes with orders (owner of Order) and the committed catalog schema (Money)', () => {
    const catalog = readFileSync(path.join(__dirname, '..', '..', '..', 'schema', 'catalog.graphql'), 'utf8');
    const result = composeServices([
      { name: 'catalog', url: 'http://catalog/graphql', typeDefs: parse(catalog) },
      { name: 'orders', url: 'http://orders/graphql', typeDefs: parse(ORDERS_STUB) },
      { name: 'payments', url: 'http://payments/graphql', typeDefs: parse(sdl) },
    ]);
    expect(result.errors).toBeUndefined();
    expect(result.supergraphSdl).toMatch(/payment: Payment @join__field\(graph: PAYMENTS\)/);
  });
});
