import { createPubSub } from '@graphql-yoga/subscription';
import type { GraphQLSchema } from 'graphql';
import pino from 'pino';
import type { PubSub } from 'type-graphql';
import { buildFederatedSchema } from '../../kit/src';
import { accountReferences } from './accounts/account.reference';
import { AccountResolver } from './accounts/account.resolver';
import { AccountService } from './accounts/account.service';
import { readTradingConfig } from './config';
import { ExchangeAdapters } from './exchange/adapter-pool';
import { instrumentReferences } from './market/instrument.reference';
import { bindMarketService, MarketResolver } from './market/market.resolver';
import { MarketService } from './market/market.service';
import { tradeOrderReferences } from './orders/trade-order.reference';
import { bindTradeOrderUpdates, TradeOrderResolver } from './orders/trade-order.resolver';
import { TradeOrderService, type TradeOrderEngine } from './orders/trade-order.service';
import { TradeOrderUpdates, type TradeOrderUpdatesPubSub } from './orders/trade-order.updates';
import { userReferences } from './user/user.reference';
import { UserTradeOrdersResolver } from './user/user.resolver';

export interface TradingServices {
  accounts: AccountService;
  orders: TradeOrderService;
  updates: TradeOrderUpdates;
}

export interface TradingSchemaOptions {
  /** The subscriptions' pub/sub (Redis-backed in a server); in-memory when only printing SDL. */
  pubsub?: PubSub;
  /** The services behind accounts and orders; detached ones (refusing every call) when only printing SDL. */
  services?: TradingServices;
}

export interface TradingSchema {
  schema: GraphQLSchema;
  market: MarketService;
}

/** Services for printing the SDL: every call that would need a running engine fails. */
function detachedServices(pubsub: PubSub): TradingServices {
  const config = readTradingConfig({});
  const detached = (): never => {
    throw new Error('the trading schema was built without an order engine');
  };
  const engine: TradeOrderEngine = { place: detached, cancel: detached, lastPrice: detached, instrument: detached, findAccount: detached };
  const adapters = new ExchangeAdapters({ factory: detached, keyring: null, timeoutMs: config.orders.exchangeTimeoutMs, log: pino({ level: 'silent' }) });
  const accounts = new AccountService({ paperDefaults: config.paperAccounts, adapters });
  const orders = new TradeOrderService({
    engine,
    risk: config.risk,
    limits: { twapMinIntervalMs: config.orders.twapMinIntervalMs, twapMaxDurationMs: config.orders.twapMaxDurationMs },
    maxPage: config.orders.maxPage,
  });
  return { accounts, orders, updates: new TradeOrderUpdates(pubsub as unknown as TradeOrderUpdatesPubSub) };
}

/** The trading subgraph's schema and the services behind it. */
export async function buildTradingSchemaWithServices(options: TradingSchemaOptions = {}): Promise<TradingSchema> {
  const pubsub = options.pubsub ?? (createPubSub() as unknown as PubSub);
  const market = new MarketService(pubsub);
  const services = options.services ?? detachedServices(pubsub);
  const instances = new Map<Function, unknown>([
    [MarketResolver, new MarketResolver(market)],
    [AccountResolver, new AccountResolver(services.accounts)],
    [TradeOrderResolver, new TradeOrderResolver(services.orders)],
    [UserTradeOrdersResolver, new UserTradeOrdersResolver(services.orders)],
  ]);
  const schema = await buildFederatedSchema(
    {
      resolvers: [MarketResolver, AccountResolver, TradeOrderResolver, UserTradeOrdersResolver],
      pubSub: pubsub,
      container: {
        get: (type: new () => unknown) => {
          const instance = instances.get(type);
          if (!instance) throw new Error(`trading schema has no instance for ${type.name}`);
          return instance;
        },
      },
    },
    { ...instrumentReferences, ...accountReferences(services.accounts), ...tradeOrderReferences(services.orders), ...userReferences },
  );
  bindMarketService(schema, market);
  bindTradeOrderUpdates(schema, services.updates);
  return { schema, market };
}

/** The trading subgraph's Federation 2 schema: instruments and prices, exchange accounts, trade orders. */
export async function buildTradingSchema(options: TradingSchemaOptions = {}): Promise<GraphQLSchema> {
  return (await buildTradingSchemaWithServices(options)).schema;
}
