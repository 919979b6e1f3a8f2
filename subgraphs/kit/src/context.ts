import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { Viewer } from './auth';
import type { LoaderCache } from './loaders';

/** What every resolver and service receives: one EntityManager fork and one loader cache per request. */
export interface RequestContext {
  requestId: string;
  viewer: Viewer | null;
  em: EntityManager;
  log: Logger;
  loaders: LoaderCache;
}
