import { readdirSync } from 'node:fs';
import { parseAlertBody } from '../src/ingest/parse';
import { buyAlert, fixture, FIXTURES, SIGNAL, SIGNALS, startSignals, type CreatedEndpoint, type SignalsHarness } from './support/harness';

const ALICE = '0a11ce00-0000-4000-8000-000000000011';
const NOT_FOUND_BODY = { error: 'NOT_FOUND', message: 'No webhook endpoint at this URL' };

const FILES = readdirSync(FIXTURES).filter((file) => file !== 'SOURCES.md').sort();
/** What the parser makes of each fixture decides what the webhook must answer. */
const ACCEPTED = FILES.filter((file) => parseAlertBody(fixture(file).body, fixture(file).contentType).ok);
const REFUSED = FILES.filter((file) => !ACCEPTED.includes(file));

describe('webhook ingest', () => {
  let h: SignalsHarness;
  let alice: string;
  let endpoint: CreatedEndpoint;

  beforeAll(async () => {
    h = await startSignals();
    alice = await h.token(ALICE);
    endpoint = await h.endpoint(alice, { defaults: { indicator: 'Default indicator', timeframe: '4h' } });
  });

  afterAll(async () => {
    await h?.close();
  });

  const signalCount = async (): Promise<number> => (await h.sql<{ n: number }>('select count(*)::int as n from "signal"'))[0]!.n;
  const refusals = (reason: string) =>
    h.sql<{ endpoint_id: string | null; user_id: string | null; status: number; detail: string | null; body: string | null; remote_ip: string | null }>(
      'select * from "webhook_refusal" where "reason" = ? order by "received_at" desc',
      [reason],
    );

  it('has fixtures of both kinds', () => {
    expect(ACCEPTED.length).toBeGreaterThanOrEqual(8);
    expect(REFUSED.filter((file) => file.endsWith('.tmpl')).length).toBeGreaterThanOrEqual(5);
  });

  it.each(ACCEPTED)('stores %s as the parser reads it and shows it through GraphQL', async (file) => {
    const { body, contentType } = fixture(file);
    const parsed = parseAlertBody(body, contentType);
    if (!parsed.ok) throw new Error('unreachable');
    const delivered = await h.deliver(endpoint.token, body, { contentType });
    expect(delivered.status).toBe(200);
    expect(delivered.body).toMatchObject({ ok: true, duplicate: false });
    expect(delivered.body.signals).toHaveLength(parsed.alerts.length);
    for (const [index, id] of (delivered.body.signals as string[]).entries()) {
      const alert = parsed.alerts[index]!;
      const shown = await h.request(SIGNAL, { id }, alice);
      expect(shown.errors).toBeUndefined();
      expect(shown.data!.signal).toMatchObject({
        id,
        ticker: alert.ticker,
        symbol: alert.symbol,
        action: alert.action,
        price: alert.price,
        indicator: alert.indicator ?? 'Default indicator',
        timeframe: alert.timeframe ?? '4h',
        result: 'PENDING',
        screenshot: { status: 'PENDING', url: null },
        endpoint: { id: endpoint.id },
        user: { id: ALICE },
      });
    }
  });

  it('keeps the passphrase of an accepted alert out of the signal', async () => {
    const { body, contentType } = fixture('21-generic-secret-strategy-rendered.json');
    // A fresh body (not a retry of the earlier delivery of this fixture).
    const text = body.toString('utf8').replace('"Long Entry"', '"Long Entry 2"');
    const delivered = await h.deliver(endpoint.token, text, { contentType });
    expect(delivered.status).toBe(200);
    const [row] = await h.sql('select * from "signal" where "id" = ?', [delivered.body.signals[0]]);
    expect(JSON.stringify(row)).not.toContain('YOUR_SECRET_KEY_HERE');
  });

  it.each(REFUSED)('answers %s with 400 and its reason, audits it and stores no signal', async (file) => {
    const { body, contentType } = fixture(file);
    const parsed = parseAlertBody(body, contentType);
    if (parsed.ok) throw new Error('unreachable');
    const before = await signalCount();
    const delivered = await h.deliver(endpoint.token, body, { contentType });
    expect(delivered.status).toBe(400);
    expect(delivered.body).toEqual({ error: 'BAD_ALERT', reason: parsed.reason, format: parsed.format });
    if (file.endsWith('.tmpl')) expect(delivered.body.reason).toMatch(/placeholder/);
    expect(await signalCount()).toBe(before);
    const [audit] = await refusals('BAD_ALERT');
    expect(audit).toMatchObject({ endpoint_id: endpoint.id, user_id: ALICE, status: 400, detail: parsed.reason.slice(0, 500) });
  });

  it('refuses garbage with 400 and keeps a redacted, shortened copy', async () => {
    const before = await signalCount();
    const garbage = `{"secret": "hunter2-secret", "note": "${'x'.repeat(5000)}"`;
    const delivered = await h.deliver(endpoint.token, garbage, { contentType: 'application/json' });
    expect(delivered.status).toBe(400);
    expect(delivered.body.error).toBe('BAD_ALERT');
    expect(typeof delivered.body.reason).toBe('string');
    const [audit] = await refusals('BAD_ALERT');
    expect(audit!.body).toContain('"secret": "[redacted]"');
    expect(audit!.body).not.toContain('hunter2');
    expect(Buffer.byteLength(audit!.body!)).toBeLessThanOrEqual(2048);
    for (const body of ['', '\u0000\u0001\u0002', 'hello world']) {
      expect((await h.deliver(endpoint.token, body, { contentType: 'text/plain' })).status).toBe(400);
    }
    expect(await signalCount()).toBe(before);
  });

  it('stores text with NUL characters (which Postgres cannot hold) without them', async () => {
    const delivered = await h.deliver(endpoint.token, JSON.stringify({ ticker: 'BTCUSDT', action: 'buy', message: 'a\u0000b', 'odd\u0000key': 'x\u0000y' }));
    expect(delivered.status).toBe(200);
    const [row] = await h.sql<{ message: string; extra: Record<string, unknown> }>('select "message", "extra" from "signal" where "id" = ?', [delivered.body.signals[0]]);
    expect(row).toEqual({ message: 'ab', extra: { oddkey: 'xy' } });
  });

  it('makes one signal of a retried alert, also when the retries race', async () => {
    const body = buyAlert();
    const first = await h.deliver(endpoint.token, body);
    expect(first.body.duplicate).toBe(false);
    const again = await h.deliver(endpoint.token, body);
    expect(again).toMatchObject({ status: 200, body: { ok: true, duplicate: true, signals: first.body.signals } });

    const racing = buyAlert();
    const before = await signalCount();
    const answers = await Promise.all(Array.from({ length: 12 }, () => h.deliver(endpoint.token, racing)));
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(answers.filter((answer) => !answer.body.duplicate)).toHaveLength(1);
    expect(new Set(answers.map((answer) => answer.body.signals[0])).size).toBe(1);
    expect(await signalCount()).toBe(before + 1);
    const [usage] = await h.sql<{ count: number }>('select "count" from "signal_usage" where "user_id" = ?', [ALICE]);
    const [stored] = await h.sql<{ n: number }>('select count(*)::int as n from "signal" where "user_id" = ?', [ALICE]);
    // Retries are not counted against the quota.
    expect(usage!.count).toBe(stored!.n);
  });

  it('stores every alert of a batch body, one SignalReceived each', async () => {
    const { body, contentType } = fixture('08-thibaultyou-processor-batch-array.json');
    const text = body.toString('utf8').replace('"size": "50" }]', '"size": "51" }]');
    const delivered = await h.deliver(endpoint.token, text, { contentType });
    expect(delivered.status).toBe(200);
    expect(delivered.body.signals).toHaveLength(2);
    const events = await h.sql<{ subject: string; type: string; data: Record<string, unknown> }>(
      `select "subject", "type", "data" from "outbox" where "subject" in (?, ?) order by "subject"`,
      delivered.body.signals,
    );
    expect(events).toHaveLength(2);
    expect(events.every((event) => event.type === 'SignalReceived' && event.data.userId === ALICE && event.data.endpointId === endpoint.id)).toBe(true);
  });

  it('answers unknown, malformed and revoked tokens with the same 404, and audits them', async () => {
    const revoked = await h.endpoint(alice);
    await h.request(`mutation($id: ID!) { revokeWebhookEndpoint(id: $id) { id } }`, { id: revoked.id }, alice);
    const unknown = Buffer.alloc(32, 7).toString('base64url');
    const answers = await Promise.all([unknown, 'short', `${endpoint.token}x`, revoked.token].map((token) => h.deliver(token, buyAlert())));
    for (const answer of answers) {
      expect(answer.status).toBe(404);
      expect(answer.body).toEqual(NOT_FOUND_BODY);
    }
    const unknowns = await refusals('UNKNOWN_TOKEN');
    expect(unknowns.length).toBeGreaterThanOrEqual(3);
    expect(unknowns[0]).toMatchObject({ endpoint_id: null, user_id: null, status: 404, remote_ip: '127.0.0.1' });
    const [revokedRow] = await refusals('REVOKED');
    expect(revokedRow).toMatchObject({ endpoint_id: revoked.id, status: 404 });
  });

  it('applies the endpoint defaults and turns percent levels into prices', async () => {
    const bracket = await h.endpoint(alice, { defaults: { takeProfit: '2%', stopLoss: '1%', exchange: 'BYBIT' } });
    const buy = await h.deliver(bracket.token, JSON.stringify({ ticker: 'BTCUSDT', action: 'buy', price: '100' }));
    const sell = await h.deliver(bracket.token, JSON.stringify({ ticker: 'BTCUSDT', action: 'sell', price: '200', tp: '190' }));
    const shownBuy = (await h.request(SIGNAL, { id: buy.body.signals[0] }, alice)).data!.signal;
    const shownSell = (await h.request(SIGNAL, { id: sell.body.signals[0] }, alice)).data!.signal;
    expect(shownBuy).toMatchObject({ exchange: 'BYBIT', takeProfit: '102', stopLoss: '99', price: '100' });
    // The alert's own take-profit wins over the default; the default stop-loss still applies.
    expect(shownSell).toMatchObject({ action: 'SELL', takeProfit: '190', stopLoss: '202' });
  });

  it('lists what arrived through the signals query', async () => {
    const listed = await h.request(SIGNALS, { first: 100 }, alice);
    expect(listed.errors).toBeUndefined();
    const [stored] = await h.sql<{ n: number }>('select count(*)::int as n from "signal" where "user_id" = ?', [ALICE]);
    expect(listed.data!.signals.edges).toHaveLength(stored!.n);
  });
});
