import { Writable } from 'node:stream';
import pino from 'pino';
import WebSocket from 'ws';
import { createLogger, createSubgraphServer, createTokenVerifier, buildFederatedSchema, openOrm, printFederatedSdl, sendJson, type SubgraphServer } from '../src';
import { graphqlRequest, testDatabaseUrl, TestIssuer } from '../src/testing';
import { CreateNoteTable, NoteEntity, noteReferences, NoteResolver } from './fixture/note';

describe('subgraph server factory', () => {
  const database = testDatabaseUrl('kit');
  const logged: Record<string, unknown>[] = [];
  let server: SubgraphServer;
  let url: string;
  let issuer: TestIssuer;

  beforeAll(async () => {
    issuer = await TestIssuer.create();
    const orm = await openOrm({ databaseUrl: database.url, entities: [NoteEntity], migrations: [{ name: 'CreateNoteTable', class: CreateNoteTable }] });
    const schema = await buildFederatedSchema({ resolvers: [NoteResolver] }, noteReferences);
    server = await createSubgraphServer({
      name: 'kit',
      schema,
      orm,
      log: pino({ level: 'error' }, new Writable({ write: (chunk: Buffer, _encoding, done) => (logged.push(JSON.parse(chunk.toString('utf8'))), done()) })),
      verifyToken: createTokenVerifier(issuer.keys),
      routes: [{ method: 'GET', path: /^\/things\/(\w+)$/, name: '/things/:id', handle: ({ res, params }) => sendJson(res, 200, { id: params[0] }) }],
    });
    url = await server.listen(0);
  });

  afterAll(async () => {
    await server.close();
    await database.drop();
  });

  it('creates the database, runs migrations and serves federated queries', async () => {
    const token = await issuer.sign('user-1');
    const created = await graphqlRequest(url, 'mutation { addNote(input: { text: "hello" }) { id text } }', { token });
    expect(created.errors).toBeUndefined();
    const id = created.data!.addNote.id;
    const entities = await graphqlRequest(url, 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Note { text } } }', {
      variables: { r: [{ __typename: 'Note', id }] },
    });
    expect(entities.data).toEqual({ _entities: [{ text: 'hello' }] });
  });

  it('prints SDL with the Federation 2 link and keys', async () => {
    const schema = await buildFederatedSchema({ resolvers: [NoteResolver] });
    const sdl = printFederatedSdl(schema);
    expect(sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.7"');
    expect(sdl).toMatch(/type Note\s+@key\(fields: "id"\)/);
  });

  it('answers validation failures with BAD_USER_INPUT naming the field', async () => {
    const token = await issuer.sign('user-1');
    const result = await graphqlRequest(url, 'mutation { addNote(input: { text: "far too long for this field" }) { id } }', { token });
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0]?.extensions?.fields?.[0]?.field).toBe('text');
  });

  it('masks internal errors and keeps registry codes', async () => {
    const crash = await graphqlRequest(url, '{ crash { id } }', { headers: { 'x-request-id': 'crash-1', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } });
    expect(crash.errors?.[0]).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(JSON.stringify(crash)).not.toContain('hunter2');
    // Logged with the request id and the caller's trace id.
    expect(logged.find((line) => line.requestId === 'crash-1')).toMatchObject({ msg: 'unexpected error', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
    const missing = await graphqlRequest(url, '{ missing(id: "x") { id } }');
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('refuses anonymous writes and bad tokens', async () => {
    const anonymous = await graphqlRequest(url, 'mutation { addNote(input: { text: "x" }) { id } }');
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const forged = await graphqlRequest(url, '{ note(id: "x") { id } }', { token: 'not-a-jwt' });
    expect(forged.status).toBe(401);
    expect(forged.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('lets a token traded for an API key write only with the write scope', async () => {
    const mutation = 'mutation { addNote(input: { text: "by key" }) { id text } }';
    const reader = await issuer.sign('partner-1', 'PARTNER', ['read'], 'key-1');
    const readOnly = await graphqlRequest(url, mutation, { token: reader });
    expect(readOnly.errors?.[0]).toMatchObject({ message: 'This API key has no write scope', extensions: { code: 'FORBIDDEN' } });
    const writer = await graphqlRequest(url, mutation, { token: await issuer.sign('partner-1', 'PARTNER', ['read', 'write'], 'key-2') });
    expect(writer.data?.addNote).toMatchObject({ text: 'by key' });
    const read = await graphqlRequest(url, `{ note(id: "${writer.data!.addNote.id}") { text } }`, { token: reader });
    expect(read.data).toEqual({ note: { text: 'by key' } });
  });

  it('serves health, readiness and metrics', async () => {
    const base = url.replace('/graphql', '');
    expect((await fetch(`${base}/health`)).status).toBe(200);
    const ready = await fetch(`${base}/ready`);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { database: 'ok' } });
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('http_request_duration_seconds');
  });

  it('serves extra routes, labelled in metrics by their name rather than each path', async () => {
    const base = url.replace('/graphql', '');
    expect(await (await fetch(`${base}/things/a1`)).json()).toEqual({ id: 'a1' });
    await fetch(`${base}/things/b2`);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/things\/:id",status="200"\} 2/);
    expect(metrics).not.toContain('things\\/');
  });

  it('answers malformed JSON with 400', async () => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
    expect(response.status).toBe(400);
  });
});

describe('subgraph server without the API (--workers-only)', () => {
  const database = testDatabaseUrl('kit_workers');
  let server: SubgraphServer;
  let base: string;

  beforeAll(async () => {
    const issuer = await TestIssuer.create();
    const orm = await openOrm({ databaseUrl: database.url, entities: [NoteEntity], migrations: [{ name: 'CreateNoteTable', class: CreateNoteTable }] });
    server = await createSubgraphServer({
      name: 'kit',
      schema: await buildFederatedSchema({ resolvers: [NoteResolver] }, noteReferences),
      orm,
      log: createLogger('kit', 'silent'),
      verifyToken: createTokenVerifier(issuer.keys),
      api: false,
      routes: [{ method: 'GET', path: '/chart', handle: ({ res }) => sendJson(res, 200, { chart: true }) }],
    });
    base = (await server.listen(0)).replace('/graphql', '');
  });

  afterAll(async () => {
    await server.close();
    await database.drop();
  });

  it('answers /graphql over HTTP and WebSocket with nothing', async () => {
    const http = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(http.status).toBe(404);
    const socket = new WebSocket(`${base.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    const outcome = await new Promise<string>((resolve) => {
      socket.once('open', () => resolve('open'));
      socket.once('error', () => resolve('refused'));
    });
    expect(outcome).toBe('refused');
    socket.terminate();
  });

  it('still serves health, readiness, metrics and the routes it is given', async () => {
    expect(await (await fetch(`${base}/health`)).json()).toMatchObject({ status: 'ok', service: 'kit' });
    expect(await (await fetch(`${base}/ready`)).json()).toMatchObject({ status: 'ready', checks: { database: 'ok' } });
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    expect(await (await fetch(`${base}/chart`)).json()).toEqual({ chart: true });
  });
});
