import { createPubSub } from '@graphql-yoga/subscription';
import type { GraphQLSchema } from 'graphql';
import type { PubSub } from 'type-graphql';
import { buildFederatedSchema, createLogger } from '../../kit/src';
import { DEFAULT_QUOTE_CURRENCIES, DEFAULT_RISK_MAX_SAMPLES, DEFAULT_SNAPSHOTS_MAX_PAGE, DEFAULT_UPDATE_THROTTLE_MS } from './config';
import { instrumentReferences } from './instrument/instrument.reference';
import { InstrumentPositionResolver } from './instrument/instrument.resolver';
import { Instrument } from './instrument/instrument.type';
import { portfolioReferences } from './portfolio/portfolio.reference';
import { bindPortfolioUpdates, PortfolioResolver } from './portfolio/portfolio.resolver';
import { PortfolioService } from './portfolio/portfolio.service';
import { PortfolioUpdates, type PortfolioUpdatesPubSub } from './portfolio/portfolio.updates';
import { PriceBook } from './price/price-book';
import { SnapshotService } from './snapshot/snapshot.service';
import { TargetService } from './target/target.service';
import { userReferences } from './user/user.reference';
import { UserPortfolioResolver } from './user/user.resolver';

export interface PortfolioSchemaOptions {
  /** Redis-backed in a server (ticks in, portfolioUpdated out); in-memory when only printing SDL. */
  pubsub: PortfolioUpdatesPubSub;
  prices: PriceBook;
  quoteCurrencies: readonly string[];
  updateThrottleMs: number;
  snapshotsMaxPage: number;
  riskMaxSamples: number;
}

export interface PortfolioSchema {
  schema: GraphQLSchema;
  portfolios: PortfolioService;
  snapshots: SnapshotService;
  targets: TargetService;
  updates: PortfolioUpdates;
}

/** The portfolio subgraph's schema and the services behind it. */
export async function buildPortfolioSchemaWithServices(options: PortfolioSchemaOptions): Promise<PortfolioSchema> {
  const { prices, quoteCurrencies } = options;
  const portfolios = new PortfolioService({ prices, quoteCurrencies });
  const snapshots = new SnapshotService({ prices, snapshotsMaxPage: options.snapshotsMaxPage, riskMaxSamples: options.riskMaxSamples });
  const targets = new TargetService({ prices, portfolios, quoteCurrencies });
  const updates = new PortfolioUpdates({ pubsub: options.pubsub, prices, throttleMs: options.updateThrottleMs });
  const instances = new Map<Function, unknown>([
    [PortfolioResolver, new PortfolioResolver(portfolios, snapshots, targets)],
    [UserPortfolioResolver, new UserPortfolioResolver(portfolios)],
    [InstrumentPositionResolver, new InstrumentPositionResolver(portfolios)],
  ]);
  const schema = await buildFederatedSchema(
    {
      resolvers: [PortfolioResolver, UserPortfolioResolver, InstrumentPositionResolver],
      // Reached only through the router (`_entities`), never from this subgraph's own root fields.
      orphanedTypes: [Instrument],
      pubSub: options.pubsub as unknown as PubSub,
      container: {
        get: (type: new () => unknown) => {
          const instance = instances.get(type);
          if (!instance) throw new Error(`portfolio schema has no instance for ${type.name}`);
          return instance;
        },
      },
    },
    { ...portfolioReferences(portfolios), ...userReferences, ...instrumentReferences },
  );
  bindPortfolioUpdates(schema, updates);
  return { schema, portfolios, snapshots, targets, updates };
}

/** The portfolio subgraph's Federation 2 schema with default settings and an in-memory pub/sub (SDL printing). */
export async function buildPortfolioSchema(): Promise<GraphQLSchema> {
  const pubsub = createPubSub() as unknown as PortfolioUpdatesPubSub;
  const prices = new PriceBook({ pubsub, log: createLogger('portfolio', 'silent'), flushMs: 60_000 });
  const built = await buildPortfolioSchemaWithServices({
    pubsub,
    prices,
    quoteCurrencies: DEFAULT_QUOTE_CURRENCIES,
    updateThrottleMs: DEFAULT_UPDATE_THROTTLE_MS,
    snapshotsMaxPage: DEFAULT_SNAPSHOTS_MAX_PAGE,
    riskMaxSamples: DEFAULT_RISK_MAX_SAMPLES,
  });
  return built.schema;
}
