import { request } from 'node:http';
import { post, startCatalog, startRouter, type Catalog, type StartedRouter } from '../support/fixtures';
import { composeSupergraph } from '../support/subgraph';

/** A raw HTTP exchange (fetch would refuse to send `Origin` itself, as browsers do). */
function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: text }));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

const APP = 'https://app.mercado.example';
const QUERY = JSON.stringify({ query: '{ product(id: "p1") { name } }' });

describe('cors plugin', () => {
  let catalog: Catalog;
  let started: StartedRouter;

  beforeAll(async () => {
    catalog = await startCatalog();
    started = await startRouter({ supergraphSdl: composeSupergraph([catalog]), env: { CORS_ORIGINS: `${APP}, https://*.partners.example`, CORS_MAX_AGE_SECONDS: '120' } });
  });

  afterAll(async () => {
    await started?.router.close();
    await catalog?.close();
  });

  const preflight = (origin: string) =>
    send(started.url, 'OPTIONS', { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' });

  it('answers an allowed origin\'s preflight with what its page may send, before any GraphQL runs', async () => {
    const before = catalog.requests.length;
    const answer = await preflight(APP);
    expect(answer.status).toBe(204);
    expect(answer.headers).toMatchObject({
      'access-control-allow-origin': APP,
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-max-age': '120',
      vary: 'Origin',
    });
    expect(String(answer.headers['access-control-allow-headers']).split(', ')).toEqual(expect.arrayContaining(['authorization', 'content-type', 'x-api-key', 'apollo-require-preflight']));
    expect(answer.headers['access-control-allow-credentials']).toBeUndefined();
    expect(catalog.requests.length).toBe(before);
  });

  it('lets the allowed page read the answer and its request id', async () => {
    const answer = await send(started.url, 'POST', { origin: APP, 'content-type': 'application/json' }, QUERY);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ data: { product: { name: 'Product 1' } } });
    expect(answer.headers).toMatchObject({ 'access-control-allow-origin': APP, 'access-control-expose-headers': 'x-request-id, retry-after', vary: 'Origin' });
  });

  it('matches one wildcard label: any subdomain, not the bare domain or a look-alike', async () => {
    expect((await preflight('https://acme.partners.example')).status).toBe(204);
    expect((await preflight('https://eu.acme.partners.example')).status).toBe(204);
    expect((await preflight('https://partners.example')).status).toBe(403);
    expect((await preflight('https://evilpartners.example')).status).toBe(403);
    expect((await preflight('http://acme.partners.example')).status).toBe(403);
  });

  it('refuses another origin\'s preflight and gives its page nothing to read', async () => {
    const refused = await preflight('https://evil.example');
    expect(refused.status).toBe(403);
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    const answer = await send(started.url, 'POST', { origin: 'https://evil.example', 'content-type': 'application/json' }, QUERY);
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('leaves requests without Origin (servers, partners, the same origin) as they were', async () => {
    const { status, headers } = await post(started.url, '{ product(id: "p1") { name } }');
    expect(status).toBe(200);
    expect(headers.get('access-control-allow-origin')).toBeNull();
  });
});
