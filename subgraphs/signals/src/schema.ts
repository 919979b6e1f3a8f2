import { createPubSub } from '@graphql-yoga/subscription';
import type { GraphQLSchema } from 'graphql';
import type { PubSub } from 'type-graphql';
import { buildFederatedSchema } from '../../kit/src';
import type { CredentialKeyring } from '../../kit/src/secrets';
import { DEFAULT_MAX_ENDPOINTS, DEFAULT_SIGNALS_MAX_PAGE, SIGNALS_DEFAULT_PORT } from './config';
import { EndpointResolver } from './endpoint/endpoint.resolver';
import { EndpointService } from './endpoint/endpoint.service';
import { InstrumentSignalsResolver } from './instrument/instrument.resolver';
import { instrumentReferences } from './instrument/instrument.reference';
import type { SignalWatchList } from './outcome/outcome.watcher';
import type { Plan } from './plan/plan';
import { signalReferences } from './signal/signal.reference';
import { bindSignalUpdates, SignalResolver } from './signal/signal.resolver';
import { SignalService } from './signal/signal.service';
import { SignalUpdates, type SignalUpdatesPubSub } from './signal/signal.updates';
import { TradingViewSessionResolver } from './tradingview/session.resolver';
import { TradingViewSessionService } from './tradingview/session.service';
import { userReferences } from './user/user.reference';
import { UserSignalsResolver } from './user/user.resolver';

export interface SignalsSchemaOptions {
  signalsMaxPage: number;
  maxEndpointsPerUser: number;
  publicBaseUrl: string;
  quotas: Record<Plan, number>;
  /** Publishes committed changes and serves the subscriptions (Redis-backed in a server); in-memory when only printing SDL. */
  updates: SignalUpdates;
  /** Signs screenshot URLs (the screenshot service's); none when printing SDL. */
  signedUrl: ((file: string) => string) | null;
  watcher: SignalWatchList;
  /** Seals TradingView session cookies (SECRETS_KEYS); none when printing SDL. */
  secretsKeyring: CredentialKeyring | null;
}

export interface SignalsSchema {
  schema: GraphQLSchema;
  signals: SignalService;
  endpoints: EndpointService;
  tradingViewSessions: TradingViewSessionService;
}

/** The signals subgraph's schema and the services behind it; options come from the config (defaults when printing SDL). */
export async function buildSignalsSchemaWithServices(options: Partial<SignalsSchemaOptions> = {}): Promise<SignalsSchema> {
  const updates = options.updates ?? new SignalUpdates(createPubSub() as unknown as SignalUpdatesPubSub);
  const signals = new SignalService({
    maxPage: options.signalsMaxPage ?? DEFAULT_SIGNALS_MAX_PAGE,
    quotas: options.quotas ?? { free: 0, pro: 0, premium: 0 },
    updates,
    signedUrl: options.signedUrl ?? null,
    watcher: options.watcher ?? null,
  });
  const endpoints = new EndpointService({
    publicBaseUrl: options.publicBaseUrl ?? `http://127.0.0.1:${SIGNALS_DEFAULT_PORT}`,
    maxEndpointsPerUser: options.maxEndpointsPerUser ?? DEFAULT_MAX_ENDPOINTS,
  });
  const tradingViewSessions = new TradingViewSessionService({ keyring: options.secretsKeyring ?? null });
  const instances = new Map<Function, unknown>([
    [SignalResolver, new SignalResolver(signals, endpoints)],
    [EndpointResolver, new EndpointResolver(endpoints)],
    [UserSignalsResolver, new UserSignalsResolver(signals)],
    [InstrumentSignalsResolver, new InstrumentSignalsResolver(signals)],
    [TradingViewSessionResolver, new TradingViewSessionResolver(tradingViewSessions)],
  ]);
  const schema = await buildFederatedSchema(
    {
      resolvers: [SignalResolver, EndpointResolver, UserSignalsResolver, InstrumentSignalsResolver, TradingViewSessionResolver],
      pubSub: updates.pubsub as unknown as PubSub,
      container: {
        get: (type: new () => unknown) => {
          const instance = instances.get(type);
          if (!instance) throw new Error(`signals schema has no instance for ${type.name}`);
          return instance;
        },
      },
    },
    { ...signalReferences(signals, endpoints), ...userReferences, ...instrumentReferences },
  );
  bindSignalUpdates(schema, updates);
  return { schema, signals, endpoints, tradingViewSessions };
}

/** The signals subgraph's Federation 2 schema. */
export async function buildSignalsSchema(options: Partial<SignalsSchemaOptions> = {}): Promise<GraphQLSchema> {
  return (await buildSignalsSchemaWithServices(options)).schema;
}
