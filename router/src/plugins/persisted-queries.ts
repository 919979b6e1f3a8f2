import { readFileSync } from 'node:fs';
import { GraphQLError, type OperationTypeNode } from 'graphql';
import type { Viewer } from '../../../subgraphs/kit/src/auth';
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

/** The manifest and who may run what, for HTTP requests and WebSocket operations alike. */
export interface TrustedDocuments {
  /**
   * The manifest operation a request names: by `extensions.persistedQuery.sha256Hash` (with no
   * text, or its exact text), or, with the safelist on, by its exact text; undefined when none.
   */
  find(query: string | undefined, extensions: Record<string, unknown> | undefined): PersistedOperation | undefined;
  /** Why `viewer` may not run an operation of this type (FORBIDDEN), or null when it may. */
  refusal(viewer: Viewer | null, type: OperationTypeNode | undefined, fromManifest: boolean): string | null;
}

/**
 * Trusted documents. Callers authenticated by an API key may run manifest operations only, and
 * mutations only with the `write` scope; other callers may also send any operation unless the
 * safelist is on.
 */
export function trustedDocuments(options: PersistedQueriesOptions): TrustedDocuments {
  const { manifest, safelist = false } = options;
  const byId = new Map(manifest.operations.map((operation) => [operation.id, operation]));
  const byBody = new Map(manifest.operations.map((operation) => [operation.body, operation]));
  return {
    find(query, extensions) {
      const hash = (extensions?.persistedQuery as { sha256Hash?: unknown } | undefined)?.sha256Hash;
      const named = typeof hash === 'string' ? byId.get(hash) : undefined;
      if (named && (query === undefined || query === named.body)) return named;
      return safelist && query !== undefined ? byBody.get(query) : undefined;
    },
    refusal(viewer, type, fromManifest) {
      if (safelist && !fromManifest) return 'This router runs only the persisted operations of its manifest: send extensions.persistedQuery.sha256Hash of one of them';
      if (!viewer?.apiKeyId) return null;
      if (!fromManifest) return 'An API key may run only the persisted operations of the manifest: send extensions.persistedQuery.sha256Hash of one of them';
      if (type === 'mutation' && !viewer.scopes.includes('write')) return 'This API key has no write scope';
      return null;
    },
  };
}

/**
 * A request naming a manifest operation by hash (no `query`) runs that operation; other hashes are
 * left to Apollo Server's automatic persisted queries (APQ, cached in Redis).
 */
export function persistedQueriesPlugin(documents: TrustedDocuments): RouterPlugin {
  const fromManifest = new WeakSet<RouterContext>();
  return {
    name: 'persisted-queries',
    apollo: {
      async requestDidStart({ request, contextValue }) {
        const operation = documents.find(request.query, request.extensions);
        if (operation) {
          request.query = operation.body;
          // Without the APQ extension Apollo Server runs it as a plain query (no APQ cache write).
          const extensions = { ...request.extensions };
          delete extensions.persistedQuery;
          request.extensions = extensions;
          fromManifest.add(contextValue);
        }
        return {
          async didResolveOperation({ operation: resolved, contextValue: context }) {
            const refusal = documents.refusal(context.viewer, resolved?.operation, fromManifest.has(context));
            if (refusal) throw forbidden(refusal);
          },
        };
      },
    },
  };
}
