import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import pino from 'pino';
import { testDatabaseUrl } from '../../kit/src/testing';
import { REDIS_URL } from '../../kit/src/events/testing';
import { parseKeyring } from '../../kit/src/secrets';
import { SCREENSHOT_QUEUE } from '../src/screenshots';
import { openSessionCookies } from '../src/tradingview/session.cookies';
import { buyAlert, errorCode, SIGNAL, startSignals, type SignalsHarness } from './support/harness';
import { colorCounts, decodePng, eventually, STAND_IN_COLOR, startFakeTrading, startTradingViewStandIn } from './support/screenshots';

jest.setTimeout(90_000);

const ALICE = '0a11ce00-0000-4000-8000-0000000000a1';
const BOB = '0b0b0000-0000-4000-8000-0000000000b2';
const CAROL = '0ca40100-0000-4000-8000-0000000000c3';
/** Unique per run, so finding one anywhere (a response, a row, a log line) can only mean it leaked. */
const SESSION = `tvsess${randomBytes(12).toString('hex')}`;
const SIGN = `tvsign${randomBytes(12).toString('hex')}`;
const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;

const SESSION_FIELDS = 'connected updatedAt defaultChartId cookieNames';
const SET = `mutation($input: SetTradingViewSessionInput!) { setTradingViewSession(input: $input) { ${SESSION_FIELDS} } }`;
const CLEAR = `mutation { clearTradingViewSession { ${SESSION_FIELDS} } }`;
const READ = `query { tradingViewSession { ${SESSION_FIELDS} } }`;
const NOT_CONNECTED = { connected: false, updatedAt: null, defaultChartId: null, cookieNames: [] };

describe('TradingView sessions: stored sealed, used for screenshots of the user\'s own chart', () => {
  const keys = key('test');
  const keyring = parseKeyring(keys);
  const logLines: string[] = [];
  let standIn: Awaited<ReturnType<typeof startTradingViewStandIn>>;
  let trading: Awaited<ReturnType<typeof startFakeTrading>>;
  let h: SignalsHarness;
  let jobs: Queue;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    standIn = await startTradingViewStandIn(SESSION);
    trading = await startFakeTrading();
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    });
    h = await startSignals({
      workers: true,
      log: pino({ level: 'trace' }, stream),
      env: { SECRETS_KEYS: keys, TRADINGVIEW_BASE_URL: standIn.baseUrl, TRADING_URL: trading.url, SCREENSHOT_BACKOFF_MS: '50' },
    });
    jobs = new Queue(SCREENSHOT_QUEUE, { connection: { url: REDIS_URL }, prefix: h.prefix });
    [alice, bob] = await Promise.all([h.token(ALICE), h.token(BOB)]);
  });

  afterAll(async () => {
    await jobs?.close();
    await h?.close();
    await standIn?.close();
    await trading?.close();
  });

  const set = (token: string, cookies: string, defaultChartId?: string | null) => h.request(SET, { input: { cookies, ...(defaultChartId === undefined ? {} : { defaultChartId }) } }, token);
  const row = async (userId: string) => (await h.sql(`select t.*, t::text as "text" from "tradingview_session" t where "user_id" = ?`, [userId]))[0];

  /** Delivers an alert and waits for its screenshot; returns the PNG (fetched through the signed URL) and the job's data. */
  async function shoot(token: string, fields: Record<string, unknown>): Promise<{ id: string; png: Buffer; job: Record<string, any> }> {
    const webhook = (await h.endpoint(token)).token;
    const delivered = await h.deliver(webhook, buyAlert(fields));
    expect(delivered.status).toBe(200);
    const id: string = delivered.body.signals[0];
    const signal = await eventually(async () => {
      const shown = (await h.request(SIGNAL, { id }, token)).data?.signal;
      return shown?.screenshot.status === 'READY' ? shown : undefined;
    }, `the screenshot of ${id}`, 60_000);
    const url = new URL(signal.screenshot.url);
    const response = await fetch(`${h.baseUrl}${url.pathname}${url.search}`);
    expect(response.status).toBe(200);
    const job = await jobs.getJob(id);
    return { id, png: Buffer.from(await response.arrayBuffer()), job: job!.data };
  }

  const magentaShare = (png: Buffer): number => {
    const image = decodePng(png);
    return (colorCounts(image).get(STAND_IN_COLOR.join(',')) ?? 0) / (image.width * image.height);
  };

  it('stores the cookies sealed for their owner and answers with names only', async () => {
    const header = `Cookie: _ga=GA1.1.123; sessionid=${SESSION}; sessionid_sign=${SIGN}; theme=dark`;
    const response = await set(alice, header, 'https://www.tradingview.com/chart/Def456/');
    expect(response.errors).toBeUndefined();
    expect(response.data!.setTradingViewSession).toEqual({ connected: true, updatedAt: expect.any(String), defaultChartId: 'Def456', cookieNames: ['sessionid', 'sessionid_sign'] });
    const read = await h.request(READ, {}, alice);
    expect(read.data!.tradingViewSession).toEqual(response.data!.setTradingViewSession);
    for (const text of [JSON.stringify(response), JSON.stringify(read)]) {
      expect(text).not.toContain(SESSION);
      expect(text).not.toContain(SIGN);
    }

    const stored = await row(ALICE);
    expect(stored.text).not.toContain(SESSION);
    expect(stored.text).not.toContain(SIGN);
    expect(stored.text).not.toContain('_ga');
    expect(stored.sealed_cookies).toMatch(/^v1\.test\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(stored.cookie_names).toEqual(['sessionid', 'sessionid_sign']);
    expect(openSessionCookies(keyring, stored.sealed_cookies, ALICE)).toEqual([
      { name: 'sessionid', value: SESSION, httpOnly: true },
      { name: 'sessionid_sign', value: SIGN, httpOnly: true },
    ]);
    // Bound to Alice: the same blob does not open as anyone else's.
    expect(() => openSessionCookies(keyring, stored.sealed_cookies, BOB)).toThrow(/failed authentication/);
  });

  it('accepts a JSON cookie list; an omitted default chart stays, "" removes it', async () => {
    const carol = await h.token(CAROL);
    const expires = Math.floor(Date.now() / 1000) + 86_400;
    const list = JSON.stringify([
      { domain: '.tradingview.com', name: 'sessionid', value: 'carolsession', expirationDate: expires + 0.5, httpOnly: true },
      { domain: '.tradingview.com', name: 'sessionid_sign', value: 'v3:carolsign=', expirationDate: expires },
      { domain: '.tradingview.com', name: 'png', value: 'x' },
    ]);
    expect((await set(carol, list, 'Xyz789')).data!.setTradingViewSession).toMatchObject({ connected: true, defaultChartId: 'Xyz789', cookieNames: ['sessionid', 'sessionid_sign'] });
    expect(openSessionCookies(keyring, (await row(CAROL)).sealed_cookies, CAROL)).toEqual([
      { name: 'sessionid', value: 'carolsession', httpOnly: true, expires },
      { name: 'sessionid_sign', value: 'v3:carolsign=', httpOnly: true, expires },
    ]);
    const before = await row(CAROL);
    const again = (await set(carol, 'sessionid=carolsession2; sessionid_sign=carolsign2')).data!.setTradingViewSession;
    expect(again).toMatchObject({ connected: true, defaultChartId: 'Xyz789' });
    const after = await row(CAROL);
    expect(after.sealed_cookies).not.toBe(before.sealed_cookies);
    expect(after.created_at).toEqual(before.created_at);
    expect(Date.parse(after.updated_at)).toBeGreaterThan(Date.parse(before.updated_at));
    expect((await set(carol, 'sessionid=carolsession2; sessionid_sign=carolsign2', '')).data!.setTradingViewSession.defaultChartId).toBeNull();
  });

  it('refuses malformed cookies or charts with BAD_USER_INPUT, quoting no value and changing nothing', async () => {
    const before = await row(ALICE);
    const cases: [string, string | undefined, RegExp][] = [
      ['', undefined, /must not be empty/],
      [`sessionid=${SESSION}`, undefined, /sessionid_sign cookie/],
      ['theme=dark; _ga=1', undefined, /sessionid and sessionid_sign cookies/],
      [`sessionid=${SESSION}; sessionid_sign="${SIGN} x"`, undefined, /sessionid_sign cookie's value is not a valid cookie value/],
      [`sessionid=${SESSION}; sessionid=other${SIGN}; sessionid_sign=${SIGN}`, undefined, /given twice/],
      [`[{"name":"sessionid","value":"${SESSION}"`, undefined, /do not parse/],
      [`{"sessionid":"${SESSION}"}`, undefined, /must be an array/],
      [`[{"name":"sessionid","value":"${SESSION}","expirationDate":1000},{"name":"sessionid_sign","value":"${SIGN}"}]`, undefined, /sessionid cookie has expired/],
      [`sessionid${SESSION}`, undefined, /not name=value/],
      ['x'.repeat(40_000), undefined, /at most 32768/],
      [`sessionid=${SESSION}; sessionid_sign=${SIGN}`, 'https://evil.example/chart/abc/', /defaultChartId must be a TradingView chart id/],
      [`sessionid=${SESSION}; sessionid_sign=${SIGN}`, '../admin', /defaultChartId must be a TradingView chart id/],
    ];
    for (const [cookies, chart, message] of cases) {
      const response = await set(alice, cookies, chart);
      expect(errorCode(response)).toBe('BAD_USER_INPUT');
      expect(response.errors![0]!.message).toMatch(message);
      expect(JSON.stringify(response.errors)).not.toContain(SESSION);
      expect(JSON.stringify(response.errors)).not.toContain(SIGN);
    }
    expect(await row(ALICE)).toEqual(before);
  });

  it('is the viewer\'s own: others see none and clear only theirs; anonymous callers are refused', async () => {
    expect((await h.request(READ, {}, bob)).data!.tradingViewSession).toEqual(NOT_CONNECTED);
    expect((await h.request(CLEAR, {}, bob)).data!.clearTradingViewSession).toEqual(NOT_CONNECTED);
    expect((await h.request(READ, {}, alice)).data!.tradingViewSession).toMatchObject({ connected: true, defaultChartId: 'Def456' });
    for (const query of [READ, CLEAR]) expect(errorCode(await h.request(query))).toBe('UNAUTHENTICATED');
    expect(errorCode(await h.request(SET, { input: { cookies: `sessionid=${SESSION}; sessionid_sign=${SIGN}` } }))).toBe('UNAUTHENTICATED');
  });

  it('shoots the chart an alert names on TradingView with the owner\'s cookies, and the signal is READY', async () => {
    const seen = standIn.requests.length;
    const { png, job } = await shoot(alice, { chart_url: 'https://www.tradingview.com/chart/AbC123/' });
    expect(standIn.requests.slice(seen)).toEqual([{ path: '/chart/AbC123/', cookie: `sessionid=${SESSION}; sessionid_sign=${SIGN}`, status: 200 }]);
    expect(magentaShare(png)).toBeGreaterThan(0.9);
    // The queue holds the sealed form only.
    expect(job.tradingView).toEqual({ chartId: 'AbC123', sealedCookies: (await row(ALICE)).sealed_cookies });
    expect(JSON.stringify(job)).not.toContain(SESSION);
  });

  it('shoots the session\'s default chart when the alert names none', async () => {
    const seen = standIn.requests.length;
    const { png, job } = await shoot(alice, {});
    expect(job.tradingView.chartId).toBe('Def456');
    expect(standIn.requests.slice(seen)).toEqual([{ path: '/chart/Def456/', cookie: `sessionid=${SESSION}; sessionid_sign=${SIGN}`, status: 200 }]);
    expect(magentaShare(png)).toBeGreaterThan(0.9);
  });

  it('draws our own chart for a user without a session, even when the alert names a chart', async () => {
    const seen = standIn.requests.length;
    const { png, job } = await shoot(bob, { chart_url: 'https://www.tradingview.com/chart/AbC123/' });
    expect(job.tradingView).toBeNull();
    expect(standIn.requests.length).toBe(seen);
    expect(magentaShare(png)).toBe(0);
    expect(decodePng(png).width).toBeGreaterThan(0);
  });

  it('draws our own chart once the session is cleared', async () => {
    expect((await h.request(CLEAR, {}, alice)).data!.clearTradingViewSession).toEqual(NOT_CONNECTED);
    expect(await row(ALICE)).toBeUndefined();
    expect((await h.request(READ, {}, alice)).data!.tradingViewSession).toEqual(NOT_CONNECTED);
    const seen = standIn.requests.length;
    const { png, job } = await shoot(alice, { chart_url: 'https://www.tradingview.com/chart/AbC123/' });
    expect(job.tradingView).toBeNull();
    expect(standIn.requests.length).toBe(seen);
    expect(magentaShare(png)).toBe(0);
  });

  it('logged the whole flow without a cookie value', () => {
    const log = logLines.join('');
    expect(log).toContain('tradingview session set');
    expect(log).toContain('signal screenshot ready');
    expect(log).toContain('"source":"tradingview"');
    expect(log).not.toContain(SESSION);
    expect(log).not.toContain(SIGN);
    expect(log).not.toContain('carolsession');
  });
});

describe('TradingView sessions across a SECRETS_KEYS rotation', () => {
  const oldKey = key('old');
  const newKey = key('new');
  const database = testDatabaseUrl('signals_tv_keys');
  let before: SignalsHarness;
  let after: SignalsHarness;

  afterAll(async () => {
    await after?.close();
    await before?.close();
    await database.drop();
  });

  it('opens sessions sealed under the previous key and re-seals them under the new one', async () => {
    before = await startSignals({ databaseUrl: database.url, env: { SECRETS_KEYS: oldKey } });
    const alice = await before.token(ALICE);
    expect((await before.request(SET, { input: { cookies: 'sessionid=rotsession; sessionid_sign=rotsign', defaultChartId: 'Rot123' } }, alice)).errors).toBeUndefined();
    const sealed = (await before.sql(`select "sealed_cookies" from "tradingview_session" where "user_id" = ?`, [ALICE]))[0]!.sealed_cookies;
    expect(sealed.startsWith('v1.old.')).toBe(true);

    after = await startSignals({ databaseUrl: database.url, issuer: before.issuer, env: { SECRETS_KEYS: `${newKey},${oldKey}` } });
    await after.server.maintain();
    const resealed = (await after.sql(`select "sealed_cookies" from "tradingview_session" where "user_id" = ?`, [ALICE]))[0]!.sealed_cookies;
    expect(resealed.startsWith('v1.new.')).toBe(true);
    const cookies = [
      { name: 'sessionid', value: 'rotsession', httpOnly: true },
      { name: 'sessionid_sign', value: 'rotsign', httpOnly: true },
    ];
    expect(openSessionCookies(parseKeyring(newKey), resealed, ALICE)).toEqual(cookies);
    // The old key alone no longer opens it.
    expect(() => openSessionCookies(parseKeyring(oldKey), resealed, ALICE)).toThrow(/not in CREDENTIALS_KEYS|failed authentication/);
    expect((await after.request(READ, {}, alice)).data!.tradingViewSession).toMatchObject({ connected: true, defaultChartId: 'Rot123' });
  });
});
