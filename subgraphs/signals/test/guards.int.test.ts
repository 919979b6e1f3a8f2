import { randomBytes } from 'node:crypto';
import { TestIssuer } from '../../kit/src/testing';
import { buyAlert, startSignals, type SignalsHarness } from './support/harness';

const users = {
  alice: '0a11ce00-0000-4000-8000-000000000021',
  carol: '0ca10100-0000-4000-8000-000000000023',
  dave: '0da7e000-0000-4000-8000-000000000024',
  erin: '0e1e0000-0000-4000-8000-000000000025',
};
const TRADINGVIEW_IP = '52.89.214.238';
const LIMITS = { SIGNALS_QUOTA_FREE: '3', SIGNALS_QUOTA_PRO: '5', WEBHOOK_RATE_LIMIT: '10', WEBHOOK_RATE_WINDOW_SECONDS: '60' };
const STATS = '{ signalStats { total thisMonth plan monthlyQuota quotaResetsAt } }';

/** Two replicas on one database: one reached directly, one behind a proxy it trusts (127.0.0.1). */
describe('webhook guards: passphrase, source address, quota, rate limit', () => {
  let direct: SignalsHarness;
  let proxied: SignalsHarness;

  beforeAll(async () => {
    const issuer = await TestIssuer.create();
    direct = await startSignals({ env: LIMITS, issuer });
    const [{ current_database: name }] = await direct.sql<{ current_database: string }>('select current_database()');
    const databaseUrl = `${process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432'}/${name}`;
    // The proxy as a range, as an ingress controller's pods are configured.
    proxied = await startSignals({ env: { ...LIMITS, TRUSTED_PROXIES: '127.0.0.0/8' }, issuer, databaseUrl });
    // Out of the small free quota these tests set.
    await direct.apply(direct.envelope('PlanChanged', { userId: users.alice, productId: 'p-premium', sku: 'PLAN-PREMIUM', plan: 'PREMIUM' }));
  });

  afterAll(async () => {
    await proxied?.close();
    await direct?.close();
  });

  const lastRefusal = async (reason: string) =>
    (await direct.sql<{ status: number; endpoint_id: string | null; remote_ip: string | null; body: string | null; detail: string | null }>(
      'select * from "webhook_refusal" where "reason" = ? order by "received_at" desc limit 1',
      [reason],
    ))[0];

  describe('passphrase', () => {
    it('accepts the right passphrase and refuses a wrong or missing one with 401, never keeping it', async () => {
      const token = await direct.token(users.alice);
      const endpoint = await direct.endpoint(token, { passphrase: 'correct horse battery' });
      const [row] = await direct.sql<Record<string, Buffer>>('select "passphrase_salt", "passphrase_hash" from "webhook_endpoint" where "id" = ?', [endpoint.id]);
      expect(row!.passphrase_hash).toHaveLength(32);
      expect(row!.passphrase_hash!.toString('utf8')).not.toContain('correct horse');

      expect((await direct.deliver(endpoint.token, buyAlert({ passphrase: 'correct horse battery' }))).status).toBe(200);
      // Other field names TradingView templates use for it are read too.
      expect((await direct.deliver(endpoint.token, buyAlert({ secret: 'correct horse battery' }))).status).toBe(200);

      for (const body of [buyAlert({ passphrase: 'wrong horse battery' }), buyAlert()]) {
        const refused = await direct.deliver(endpoint.token, body);
        expect(refused.status).toBe(401);
        expect(refused.body.error).toBe('PASSPHRASE_MISMATCH');
      }
      const audit = await lastRefusal('PASSPHRASE_MISMATCH');
      expect(audit).toMatchObject({ status: 401, endpoint_id: endpoint.id });
      const wrong = (await direct.sql<{ body: string }>(`select "body" from "webhook_refusal" where "reason" = 'PASSPHRASE_MISMATCH' and "body" like '%passphrase%'`))[0];
      expect(wrong!.body).not.toContain('wrong horse battery');
    });
  });

  describe('source addresses', () => {
    let guarded: { id: string; token: string };
    let open: { id: string; token: string };

    beforeAll(async () => {
      const token = await direct.token(users.alice);
      guarded = await direct.endpoint(token, { tradingViewIpsOnly: true });
      open = await direct.endpoint(token);
    });

    it('refuses a request not from TradingView with 403', async () => {
      const refused = await direct.deliver(guarded.token, buyAlert());
      expect(refused.status).toBe(403);
      expect(refused.body.error).toBe('IP_NOT_ALLOWED');
      expect(await lastRefusal('IP_NOT_ALLOWED')).toMatchObject({ status: 403, endpoint_id: guarded.id, remote_ip: '127.0.0.1' });
      expect((await direct.deliver(open.token, buyAlert())).status).toBe(200);
    });

    it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
      const refused = await direct.deliver(guarded.token, buyAlert(), { headers: { 'x-forwarded-for': TRADINGVIEW_IP } });
      expect(refused.status).toBe(403);
    });

    it('believes X-Forwarded-For behind a trusted proxy, read from the right', async () => {
      expect((await proxied.deliver(guarded.token, buyAlert(), { headers: { 'x-forwarded-for': TRADINGVIEW_IP } })).status).toBe(200);
      // The proxy appends the peer it saw; what the client wrote further left proves nothing.
      expect((await proxied.deliver(guarded.token, buyAlert(), { headers: { 'x-forwarded-for': `10.9.8.7, ${TRADINGVIEW_IP}` } })).status).toBe(200);
      const spoofed = await proxied.deliver(guarded.token, buyAlert(), { headers: { 'x-forwarded-for': `${TRADINGVIEW_IP}, 10.9.8.7` } });
      expect(spoofed.status).toBe(403);
      expect(await lastRefusal('IP_NOT_ALLOWED')).toMatchObject({ remote_ip: '10.9.8.7' });
    });
  });

  describe('monthly quota', () => {
    it('answers 429 with the figures once the plan\'s signals are used, and a plan change raises the limit', async () => {
      const token = await direct.token(users.carol);
      const endpoint = await direct.endpoint(token);
      const accepted: string[] = [];
      for (let index = 0; index < 3; index += 1) {
        const body = buyAlert();
        accepted.push(body);
        expect((await direct.deliver(endpoint.token, body)).status).toBe(200);
      }
      const over = await direct.deliver(endpoint.token, buyAlert());
      expect(over.status).toBe(429);
      const now = new Date();
      const resetsAt = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString();
      expect(over.body).toEqual({ error: 'QUOTA_EXCEEDED', message: expect.stringContaining('3 signals a month'), plan: 'free', limit: 3, used: 3, resetsAt });
      expect(await lastRefusal('QUOTA_EXCEEDED')).toMatchObject({ status: 429, endpoint_id: endpoint.id });
      // A retry of an alert already stored is still answered with its signal.
      expect((await direct.deliver(endpoint.token, accepted[0]!)).body).toMatchObject({ ok: true, duplicate: true });
      expect((await direct.request(STATS, {}, token)).data!.signalStats).toMatchObject({ total: 3, thisMonth: 3, plan: 'free', monthlyQuota: 3, quotaResetsAt: resetsAt });

      await direct.apply(direct.envelope('PlanChanged', { userId: users.carol, productId: 'p-pro', sku: 'PLAN-PRO-YEAR', plan: 'PRO-YEAR' }));
      expect((await direct.deliver(endpoint.token, buyAlert())).status).toBe(200);
      const batch = JSON.stringify([JSON.parse(buyAlert()), JSON.parse(buyAlert())]);
      const tooMany = await direct.deliver(endpoint.token, batch);
      expect(tooMany.status).toBe(429);
      expect(tooMany.body).toMatchObject({ plan: 'pro', limit: 5, used: 4 });
      expect((await direct.deliver(endpoint.token, buyAlert())).status).toBe(200);
      const [stored] = await direct.sql<{ n: number }>('select count(*)::int as n from "signal" where "user_id" = ?', [users.carol]);
      expect(stored!.n).toBe(5);
    });

    it('refuses a batch that does not fit whole, storing none of it', async () => {
      const token = await direct.token(users.erin);
      const endpoint = await direct.endpoint(token);
      expect((await direct.deliver(endpoint.token, buyAlert())).status).toBe(200);
      expect((await direct.deliver(endpoint.token, buyAlert())).status).toBe(200);
      const batch = JSON.stringify([JSON.parse(buyAlert()), JSON.parse(buyAlert())]);
      const refused = await direct.deliver(endpoint.token, batch);
      expect(refused.body).toMatchObject({ error: 'QUOTA_EXCEEDED', limit: 3, used: 2 });
      const [stored] = await direct.sql<{ n: number }>('select count(*)::int as n from "signal" where "user_id" = ?', [users.erin]);
      expect(stored!.n).toBe(2);
      // The last one still fits.
      expect((await direct.deliver(endpoint.token, buyAlert())).status).toBe(200);
    });
  });

  describe('rate limit', () => {
    it('answers 429 with Retry-After once a token sends more than its limit in a window, counted across replicas', async () => {
      const token = await direct.token(users.dave);
      await direct.apply(direct.envelope('PlanChanged', { userId: users.dave, productId: 'p-premium', sku: 'PLAN-PREMIUM', plan: 'PREMIUM' }));
      const endpoint = await direct.endpoint(token);
      const other = await direct.endpoint(token);
      for (let index = 0; index < 10; index += 1) {
        const replica = index % 2 === 0 ? direct : proxied;
        expect((await replica.deliver(endpoint.token, buyAlert())).status).toBe(200);
      }
      const limited = await direct.deliver(endpoint.token, buyAlert());
      expect(limited.status).toBe(429);
      expect(limited.body.error).toBe('RATE_LIMITED');
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(limited.body.retryAfterSeconds).toBe(retryAfter);
      expect(await lastRefusal('RATE_LIMITED')).toMatchObject({ status: 429, endpoint_id: endpoint.id });
      // Per token: another endpoint of the same user is not limited.
      expect((await direct.deliver(other.token, buyAlert())).status).toBe(200);
    });
  });
});

/** A flood of refused deliveries is answered as always, but the audit log keeps only so many per source. */
describe('refusal audit allowance', () => {
  let h: SignalsHarness;
  // Address blocks (/64) no other test (or run within the minute) sends from: the allowance is counted in Redis.
  const hextets = (count: number) => randomBytes(2 * count).toString('hex').match(/.{4}/g)!.join(':');
  const address = () => `2001:db8:${hextets(2)}::${hextets(1)}`;

  beforeAll(async () => {
    h = await startSignals({ env: { AUDIT_REFUSALS_PER_MINUTE: '3', TRUSTED_PROXIES: '127.0.0.0/8' } });
  });

  afterAll(async () => {
    await h?.close();
  });

  const refusalsFrom = async (ip: string) => (await h.sql<{ n: number }>('select count(*)::int as n from "webhook_refusal" where "remote_ip" = ?', [ip]))[0]!.n;
  const counted = async (reason: string, logged: boolean): Promise<number> => {
    const text = await (await fetch(`${h.baseUrl}/metrics`)).text();
    const line = text.split('\n').find((entry) => entry.startsWith(`signals_webhook_refusals_total{reason="${reason}",logged="${logged}",`));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };

  it('logs three unknown-token refusals a minute per address, answers every one 404, and counts the rest', async () => {
    const flooding = address();
    const before = { logged: await counted('UNKNOWN_TOKEN', true), dropped: await counted('UNKNOWN_TOKEN', false) };
    for (let index = 0; index < 5; index += 1) {
      const answer = await h.deliver(randomBytes(32).toString('base64url'), buyAlert(), { headers: { 'x-forwarded-for': flooding } });
      expect(answer).toMatchObject({ status: 404, body: { error: 'NOT_FOUND' } });
    }
    expect(await refusalsFrom(flooding)).toBe(3);
    expect(await counted('UNKNOWN_TOKEN', true)).toBe(before.logged + 3);
    expect(await counted('UNKNOWN_TOKEN', false)).toBe(before.dropped + 2);
    // Another address is logged as before.
    const other = address();
    expect((await h.deliver(randomBytes(32).toString('base64url'), buyAlert(), { headers: { 'x-forwarded-for': other } })).status).toBe(404);
    expect(await refusalsFrom(other)).toBe(1);
  });

  it('counts an IPv6 sender by its /64: a new address in the same block gets no allowance of its own', async () => {
    const block = `2001:db8:${hextets(2)}:${hextets(1)}`;
    for (let index = 0; index < 4; index += 1) {
      const answer = await h.deliver(randomBytes(32).toString('base64url'), buyAlert(), { headers: { 'x-forwarded-for': `${block}::${index + 1}` } });
      expect(answer.status).toBe(404);
    }
    const [{ n }] = await h.sql<{ n: number }>('select count(*)::int as n from "webhook_refusal" where "remote_ip" like ?', [`${block}::%`]);
    expect(n).toBe(3);
  });

  it('counts an endpoint\'s refusals against the endpoint, whatever address sends them', async () => {
    const endpoint = await h.endpoint(await h.token(users.erin));
    for (let index = 0; index < 4; index += 1) {
      const answer = await h.deliver(endpoint.token, '{{ticker}} is not an alert', { contentType: 'text/plain', headers: { 'x-forwarded-for': address() } });
      expect(answer.status).toBe(400);
    }
    const [{ n }] = await h.sql<{ n: number }>('select count(*)::int as n from "webhook_refusal" where "endpoint_id" = ?', [endpoint.id]);
    expect(n).toBe(3);
    // The endpoint still takes alerts.
    expect((await h.deliver(endpoint.token, buyAlert())).status).toBe(200);
  });
});
