import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PersistedOperation, PersistedQueryManifest } from '../../src/plugins/persisted-queries';
import { startCatalog, startInventory, startRouter, type Catalog, type StartedRouter } from './fixtures';
import { composeSupergraph, type TestSubgraph } from './subgraph';
import { createIssuer, type Issuer } from './tokens';

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The manifest's two operations: a query and a mutation on the test catalog. */
export const PRODUCTS = 'query PartnerProducts {\n  products(first: 2) {\n    id\n    stock\n  }\n}';
export const RENAME = 'mutation PartnerRename {\n  renameProduct(id: "p1", name: "Renamed") {\n    id\n    name\n  }\n}';

export interface PartnerKey {
  key: string;
  id: string;
  owner: string;
  scopes: string[];
}

export interface KeyExchange {
  url: string;
  /** Requests it answered so far. */
  calls(): number;
  /** A key with the scope `broken` gets a 200 whose token does not verify (users misconfigured). Owned by a new partner unless `owner` is given. */
  add(scopes: string[], owner?: string): PartnerKey;
  revoke(key: PartnerKey): void;
  close(): Promise<void>;
}

/** Stands in for the users subgraph's `POST /api-keys/token`: trades known keys for tokens of the test issuer. */
export async function startKeyExchange(issuer: Issuer): Promise<KeyExchange> {
  const keys = new Map<string, PartnerKey>();
  let calls = 0;
  const server = http.createServer((req, res) => {
    calls += 1;
    const known = keys.get(String(req.headers['x-api-key'] ?? ''));
    req.resume();
    req.on('end', async () => {
      if (known?.scopes.includes('broken')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accessToken: 'not-a-jwt', expiresAt: new Date().toISOString() }));
        return;
      }
      if (req.method !== 'POST' || req.url !== '/api-keys/token' || !known) {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'INVALID_API_KEY', message: 'The API key is not valid' }));
        return;
      }
      const expiresAt = Math.floor(Date.now() / 1000) + 300;
      const accessToken = await issuer.sign(known.owner, { role: 'PARTNER', scopes: known.scopes, apiKeyId: known.id, expiresAt });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accessToken, expiresAt: new Date(expiresAt * 1000).toISOString(), scopes: known.scopes }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api-keys/token`,
    calls: () => calls,
    add(scopes, owner = `partner-${randomUUID()}`) {
      const key: PartnerKey = { key: `mk_${randomUUID()}`, id: randomUUID(), owner, scopes };
      keys.set(key.key, key);
      return key;
    },
    revoke(key) {
      keys.delete(key.key);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A persisted query manifest in a temporary file. */
export interface ManifestFile {
  path: string;
  remove(): void;
}

/** Writes an Apollo persisted query manifest of `operations` (ids are their bodies' sha256). */
export function writeManifest(operations: Omit<PersistedOperation, 'id'>[]): ManifestFile {
  const directory = mkdtempSync(path.join(tmpdir(), 'router-manifest-'));
  const file = path.join(directory, 'manifest.json');
  const manifest: PersistedQueryManifest = {
    format: 'apollo-persisted-query-manifest',
    version: 1,
    operations: operations.map((operation) => ({ id: sha256(operation.body), ...operation })),
  };
  writeFileSync(file, JSON.stringify(manifest));
  return { path: file, remove: () => rmSync(directory, { recursive: true, force: true }) };
}

export interface PartnerSetup {
  catalog: Catalog;
  inventory: TestSubgraph;
  issuer: Issuer;
  exchange: KeyExchange;
  /** The manifest file holding PRODUCTS and RENAME. */
  manifestPath: string;
  /** A router on the test catalog and inventory, the stand-in exchange and the manifest; closed by close(). */
  router(env?: Record<string, string>): Promise<StartedRouter>;
  close(): Promise<void>;
}

/** Test subgraphs, an issuer, the stand-in key exchange and a manifest, for the partner plugins' tests. */
export async function startPartnerSetup(): Promise<PartnerSetup> {
  const catalog = await startCatalog();
  const inventory = await startInventory();
  const issuer = await createIssuer();
  const exchange = await startKeyExchange(issuer);
  const manifest = writeManifest([
    { name: 'PartnerProducts', type: 'query', body: PRODUCTS },
    { name: 'PartnerRename', type: 'mutation', body: RENAME },
  ]);
  const supergraphSdl = composeSupergraph([catalog, inventory]);
  const routers: StartedRouter[] = [];
  return {
    catalog,
    inventory,
    issuer,
    exchange,
    manifestPath: manifest.path,
    async router(env = {}) {
      const started = await startRouter({
        supergraphSdl,
        verifyToken: issuer.verifyToken,
        env: { API_KEY_EXCHANGE_URL: exchange.url, PERSISTED_QUERIES_PATH: manifest.path, ...env },
      });
      routers.push(started);
      return started;
    },
    async close() {
      for (const started of routers) await started.router.close();
      await exchange.close();
      await catalog.close();
      await inventory.close();
      manifest.remove();
    },
  };
}

/** POSTs a GraphQL-over-HTTP body to the router. */
export async function send(url: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, headers: response.headers, body: (await response.json()) as { data?: any; errors?: { message: string; extensions?: Record<string, any> }[] } };
}

/** A persisted query request naming the operation by its hash only. */
export const byHash = (query: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } });
