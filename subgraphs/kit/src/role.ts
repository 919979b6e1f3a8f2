import { ConfigError } from './config';

/**
 * What a subgraph process runs. `all` (the default): the GraphQL API and the workers in one
 * process. At scale the two are deployed apart and scaled on their own load: `--api-only` serves
 * GraphQL and the subgraph's HTTP routes, `--workers-only` runs event consumers, queue workers and
 * background loops and serves only /health, /ready and /metrics. Both relay their own outbox.
 */
export type ProcessRole = 'all' | 'api' | 'workers';

const ROLE_FLAGS: Record<string, ProcessRole> = { '--api-only': 'api', '--workers-only': 'workers' };

/** The role named by a process's arguments (`process.argv.slice(2)`); anything else is a ConfigError. */
export function processRole(args: readonly string[]): ProcessRole {
  const unknown = args.filter((arg) => !(arg in ROLE_FLAGS));
  if (unknown.length > 0) throw new ConfigError([`unknown argument ${unknown.join(' ')} (expected --api-only or --workers-only)`]);
  if (args.length > 1) throw new ConfigError([`give one of --api-only and --workers-only, not ${args.join(' ')}`]);
  return args.length === 1 ? ROLE_FLAGS[args[0]] : 'all';
}

/**
 * The server options a role sets: `api` serves GraphQL and the routes; `workers: false` runs no
 * workers, and without it the subgraph's default holds (EVENTS_ENABLED for most).
 */
export function roleOptions(role: ProcessRole): { api: boolean; workers?: false } {
  if (role === 'api') return { api: true, workers: false };
  return { api: role === 'all' };
}

/** The options every subgraph server takes for its role (`roleOptions` sets them from the arguments). */
export interface RoleDeps {
  /** Serve GraphQL. Default true; false in a `--workers-only` process. */
  api?: boolean;
  /** Run the subgraph's workers: event consumer, queue workers, background loops. Default: the subgraph's (EVENTS_ENABLED for most). */
  workers?: boolean;
}
