import { readFileSync } from 'node:fs';
import { GraphQLError } from 'graphql';
import type { RouterContext, RouterPlugin } from './types';

/** One operation of the manifest; `id` is the sha256 (hex) of `body`. */
export interface PersistedOperation {
  id: string;
  name: string;
  type: 'query' | 'mutation' | 'subscription';
  body: string;
}

/** Apollo's persisted query manifest format (what `generate-persisted-query-manifest` writes). */
export interface PersistedQueryManifest {
  format: 'apollo-persisted-query-manifest';
  version: 1;
  operations: PersistedOperation[];
}

export function readManifest(file: string): PersistedQueryManifest {
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as PersistedQueryManifest;
  if (manifest.format !== 'apollo-persisted-query-manifest' || manifest.version !== 1 || !Array.isArray(manifest.operations)) {
    throw new Error(`${file} is not an Apollo persisted query manifest (version 1)`);
  }
  return manifest;
}

const forbidden = (message: string) => new GraphQLError(message, { extensions: { code: 'FORBIDDEN', http: { status: 403 } } });

export interface PersistedQueriesOptions {
  manifest: PersistedQueryManifest;
  /**
   * Safelisting (Apollo Router's `safelist`, Hive's `allowArbitraryDocuments: false`): every caller
   * may run manifest operations only, by id or by their exact text. Off by default: API keys are
   * always held to the manifest, apps and Sandbox may send any query.
   */
  safelist?: boolean;
}

/**
 * Trusted documents. A request naming a manifest operation by hash
 * (`extensions.persistedQuery.sha256Hash`, no `query`) runs that operation; other hashes are left to
 * Apollo Server's automatic persisted queries (APQ, cached in Redis). Callers authenticated by an
 * API key may run manifest operations only, and mutations only with the `write` scope; other
 * callers may also send any query unless the safelist is on.
 */
export function persistedQueriesPlugin(options: PersistedQueriesOptions): RouterPlugin {
  const { manifest, safelist = false } = options;
  const byId = new Map(manifest.operations.map((operation) => [operation.id, operation]));
  const bodies = new Set(manifest.operations.map((operation) => operation.body));
  const fromManifest = new WeakSet<RouterContext>();
  return {
    name: 'persisted-queries',
    apollo: {
      async requestDidStart({ request, contextValue }) {
        const hash: unknown = request.extensions?.persistedQuery?.sha256Hash;
        const operation = typeof hash === 'string' ? byId.get(hash) : undefined;
        if (operation && (request.query === undefined || request.query === operation.body)) {
          request.query = operation.body;
          // Without the APQ extension Apollo Server runs it as a plain query (no APQ cache write).
          const extensions = { ...request.extensions };
          delete extensions.persistedQuery;
          request.extensions = extensions;
          fromManifest.add(contextValue);
        } else if (safelist && request.query !== undefined && bodies.has(request.query)) {
          fromManifest.add(contextValue);
        }
        return {
          async didResolveOperation({ operation: resolved, contextValue: context }) {
            const viewer = context.viewer;
            if (safelist && !fromManifest.has(context)) {
              throw forbidden('This router runs only the persisted operations of its manifest: send extensions.persistedQuery.sha256Hash of one of them');
            }
            if (!viewer?.apiKeyId) return;
            if (!fromManifest.has(context)) {
              throw forbidden('An API key may run only the persisted operations of the manifest: send extensions.persistedQuery.sha256Hash of one of them');
            }
            if (resolved?.operation === 'mutation' && !viewer.scopes.includes('write')) throw forbidden('This API key has no write scope');
          },
        };
      },
    },
  };
}
