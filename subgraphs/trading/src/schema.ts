import { createPubSub } from '@graphql-yoga/subscription';
import type { GraphQLSchema } from 'graphql';
import type { PubSub } from 'type-graphql';
import { buildFederatedSchema } from '../../kit/src';
import { instrumentReferences } from './market/instrument.reference';
import { bindMarketService, MarketResolver } from './market/market.resolver';
import { MarketService } from './market/market.service';

export interface TradingSchemaOptions {
  /** The subscriptions' pub/sub (Redis-backed in a server); in-memory when only printing SDL. */
  pubsub?: PubSub;
}

export interface TradingSchema {
  schema: GraphQLSchema;
  market: MarketService;
}

/** The trading subgraph's schema and the services behind it. */
export async function buildTradingSchemaWithServices(options: TradingSchemaOptions = {}): Promise<TradingSchema> {
  const pubsub = options.pubsub ?? (createPubSub() as unknown as PubSub);
  const market = new MarketService(pubsub);
  const instances = new Map<Function, unknown>([[MarketResolver, new MarketResolver(market)]]);
  const schema = await buildFederatedSchema(
    {
      resolvers: [MarketResolver],
      pubSub: pubsub,
      container: {
        get: (type: new () => unknown) => {
          const instance = instances.get(type);
          if (!instance) throw new Error(`trading schema has no instance for ${type.name}`);
          return instance;
        },
      },
    },
    instrumentReferences,
  );
  bindMarketService(schema, market);
  return { schema, market };
}

/** The trading subgraph's Federation 2 schema: Instrument, candles and the priceUpdated subscription. */
export async function buildTradingSchema(options: TradingSchemaOptions = {}): Promise<GraphQLSchema> {
  return (await buildTradingSchemaWithServices(options)).schema;
}
