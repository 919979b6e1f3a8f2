import { Decimal } from 'decimal.js';
import { onSql, printFederatedSdl } from '../../kit/src';
import { CandleEntity } from '../src/market/candle.entity';
import { InstrumentEntity } from '../src/market/instrument.entity';
import type { Candle } from '../src/market/market-feed';
import { paperInstrumentOf, recentMinuteCandles } from '../src/market/market-runtime';
import { PaperFeed } from '../src/market/paper-feed';
import { buildTradingSchema } from '../src/schema';
import { DEMO_INSTRUMENTS, seedTrading } from '../src/seeds/trading.seed';
import { errorCode, startTrading, testDatabase, uniquePrefix, type TradingHarness } from './support/harness';

const NOW = new Date('2024-06-01T12:00:30.000Z');
const END = Date.parse('2024-06-01T12:00:00.000Z');
const HOUR = 3_600_000;
const HISTORY_DAYS = 2;

const INSTRUMENTS = `{ instruments { symbol base quote exchange lastPrice change24h volume24h updatedAt } }`;
const INSTRUMENT = `query($symbol: String!) { instrument(symbol: $symbol) { symbol base quote exchange lastPrice change24h volume24h updatedAt } }`;
const CANDLES = `query($symbol: String!, $timeframe: String!, $from: DateTimeISO, $to: DateTimeISO, $limit: Int) {
  candles(symbol: $symbol, timeframe: $timeframe, from: $from, to: $to, limit: $limit) { symbol timeframe openTime closeTime open high low close volume }
}`;
const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Instrument { symbol lastPrice } } }`;

describe('trading market data', () => {
  const database = testDatabase('market');
  let trading: TradingHarness;

  const candles = (variables: Record<string, unknown>) => trading.request<{ candles: Record<string, string>[] }>(CANDLES, variables);

  beforeAll(async () => {
    trading = await startTrading({ databaseUrl: database.url, prefix: uniquePrefix('market') });
    await seedTrading(trading.server.orm.em.fork(), DEMO_INSTRUMENTS, { now: NOW, historyDays: HISTORY_DAYS });
    // Seeding simulates a day of prices: more than Jest's default 5 s hook budget on a slow machine.
  }, 30_000);

  afterAll(async () => {
    await trading?.close();
    await database.drop();
  });

  describe('seed', () => {
    it('creates the six instruments at their demo prices, with 24 h figures from their history', async () => {
      const result = await trading.request(INSTRUMENTS);
      expect(result.errors).toBeUndefined();
      const instruments = result.data!.instruments as Record<string, string | null>[];
      expect(instruments.map((instrument) => instrument.symbol)).toEqual(['ADA/USDT', 'BNB/USDT', 'BTC/USDT', 'ETH/USDT', 'SOL/USDT', 'XRP/USDT']);
      const btc = instruments.find((instrument) => instrument.symbol === 'BTC/USDT')!;
      expect(btc).toMatchObject({ base: 'BTC', quote: 'USDT', exchange: 'paper', lastPrice: '67250', updatedAt: '2024-06-01T12:00:00.000Z' });
      expect(instruments.find((instrument) => instrument.symbol === 'XRP/USDT')!.lastPrice).toBe('0.52');
      for (const instrument of instruments) {
        expect(instrument.change24h).toMatch(/^-?\d+(\.\d{1,2})?$/);
        expect(instrument.volume24h).toMatch(/^\d+(\.\d+)?$/);
      }
    });

    it('stores candles of every timeframe over the history', async () => {
      const em = trading.server.orm.em.fork();
      const count = (timeframe: string) => em.count(CandleEntity, { symbol: 'ETH/USDT', timeframe: timeframe as CandleEntity['timeframe'] });
      expect(await count('1m')).toBe(24 * 60);
      expect(await count('5m')).toBe(24 * 12);
      expect(await count('15m')).toBe(24 * 4);
      expect(await count('1h')).toBe((HISTORY_DAYS + 1) * 24);
      expect(await count('4h')).toBe((HISTORY_DAYS + 1) * 6);
      expect(await count('1d')).toBeGreaterThanOrEqual(HISTORY_DAYS + 1);
    });

    it('is idempotent: a second run changes nothing', async () => {
      const em = trading.server.orm.em.fork();
      const before = await em.count(CandleEntity, {});
      const price = (await em.findOneOrFail(InstrumentEntity, { symbol: 'BTC/USDT' })).lastPrice;
      await expect(seedTrading(trading.server.orm.em.fork(), DEMO_INSTRUMENTS, { now: new Date(), historyDays: 1 })).resolves.toEqual({ created: [] });
      const after = trading.server.orm.em.fork();
      expect(await after.count(CandleEntity, {})).toBe(before);
      expect((await after.findOneOrFail(InstrumentEntity, { symbol: 'BTC/USDT' })).lastPrice).toBe(price);
    });
  });

  describe('queries', () => {
    it('finds one instrument by symbol; null for an unknown or malformed one', async () => {
      const found = await trading.request(INSTRUMENT, { symbol: 'SOL/USDT' });
      expect(found.data!.instrument).toMatchObject({ symbol: 'SOL/USDT', base: 'SOL', quote: 'USDT', lastPrice: '168.5' });
      expect((await trading.request(INSTRUMENT, { symbol: 'DOGE/USDT' })).data!.instrument).toBeNull();
      expect((await trading.request(INSTRUMENT, { symbol: 'not a symbol' })).data!.instrument).toBeNull();
    });

    it('resolves Instrument references in one batched query', async () => {
      const statements: string[] = [];
      const stop = onSql(trading.server.orm, (sql) => statements.push(sql));
      const result = await trading.request(ENTITIES, {
        r: [
          { __typename: 'Instrument', symbol: 'BTC/USDT' },
          { __typename: 'Instrument', symbol: 'DOGE/USDT' },
          { __typename: 'Instrument', symbol: 'ETH/USDT' },
        ],
      });
      stop();
      expect(result.errors).toBeUndefined();
      expect(result.data!._entities).toEqual([{ symbol: 'BTC/USDT', lastPrice: '67250' }, null, { symbol: 'ETH/USDT', lastPrice: '3480' }]);
      expect(statements.filter((sql) => sql.includes('"instrument"'))).toHaveLength(1);
    });

    it('returns candles of a range oldest first, as decimal strings', async () => {
      const from = new Date(END - 6 * HOUR).toISOString();
      const to = new Date(END).toISOString();
      const result = await candles({ symbol: 'BTC/USDT', timeframe: '1h', from, to });
      expect(result.errors).toBeUndefined();
      const rows = result.data!.candles;
      expect(rows).toHaveLength(6);
      expect(rows.map((row) => row.openTime)).toEqual(Array.from({ length: 6 }, (_, i) => new Date(END - (6 - i) * HOUR).toISOString()));
      for (const row of rows) {
        expect(row).toMatchObject({ symbol: 'BTC/USDT', timeframe: '1h' });
        expect(Date.parse(row.closeTime!)).toBe(Date.parse(row.openTime!) + HOUR);
        for (const field of ['open', 'high', 'low', 'close', 'volume']) expect(row[field]).toMatch(/^\d+(\.\d+)?$/);
        expect(new Decimal(row.high!).greaterThanOrEqualTo(row.low!)).toBe(true);
      }
      // The last hourly candle closes at the last minute's close: the instrument's price.
      expect(rows[5]!.close).toBe('67250');
    });

    it('rolls one-minute candles up consistently', async () => {
      const from = new Date(END - HOUR).toISOString();
      const to = new Date(END).toISOString();
      const minutes = (await candles({ symbol: 'ETH/USDT', timeframe: '1m', from, to })).data!.candles;
      const [hour] = (await candles({ symbol: 'ETH/USDT', timeframe: '1h', from, to })).data!.candles;
      expect(minutes).toHaveLength(60);
      expect(hour).toMatchObject({
        open: minutes[0]!.open,
        close: minutes[59]!.close,
        high: Decimal.max(...minutes.map((minute) => minute.high!)).toFixed(),
        low: Decimal.min(...minutes.map((minute) => minute.low!)).toFixed(),
        volume: minutes.reduce((sum, minute) => sum.plus(minute.volume!), new Decimal(0)).toFixed(),
      });
    });

    it('caps the count: the latest `limit` candles, 1000 at most', async () => {
      const to = new Date(END).toISOString();
      const five = (await candles({ symbol: 'BTC/USDT', timeframe: '1m', from: new Date(END - 2 * 24 * HOUR).toISOString(), to, limit: 5 })).data!.candles;
      expect(five.map((row) => row.openTime)).toEqual(Array.from({ length: 5 }, (_, i) => new Date(END - (5 - i) * 60_000).toISOString()));
      const capped = (await candles({ symbol: 'BTC/USDT', timeframe: '1m', from: new Date(END - 2 * 24 * HOUR).toISOString(), to })).data!.candles;
      expect(capped).toHaveLength(1000);
      expect(capped[999]!.openTime).toBe(new Date(END - 60_000).toISOString());
    });

    it('validates symbol, timeframe and range', async () => {
      const to = new Date(END).toISOString();
      const from = new Date(END - HOUR).toISOString();
      expect(errorCode(await candles({ symbol: 'BTC/USDT', timeframe: '2m', from, to }))).toBe('BAD_USER_INPUT');
      expect(errorCode(await candles({ symbol: 'BTC/USDT', timeframe: '1h', from: to, to: from }))).toBe('BAD_USER_INPUT');
      expect(errorCode(await candles({ symbol: 'BTC/USDT', timeframe: '1h', from: to, to }))).toBe('BAD_USER_INPUT');
      expect(errorCode(await candles({ symbol: 'BTC/USDT', timeframe: '1h', limit: 1001 }))).toBe('BAD_USER_INPUT');
      expect(errorCode(await candles({ symbol: 'BTC/USDT', timeframe: '1h', limit: 0 }))).toBe('BAD_USER_INPUT');
      expect(errorCode(await candles({ symbol: 'btc-usdt', timeframe: '1h' }))).toBe('BAD_USER_INPUT');
      expect(errorCode(await candles({ symbol: 'BTC/USDT', timeframe: '1h', from: 'yesterday' }))).toBe('BAD_USER_INPUT');
      const unknown = await candles({ symbol: 'DOGE/USDT', timeframe: '1h' });
      expect(errorCode(unknown)).toBe('NOT_FOUND');
      expect(unknown.data ?? null).toBeNull();
    });
  });

  describe('recording a feed', () => {
    let feed: PaperFeed;
    const emitted: Candle[] = [];

    beforeAll(async () => {
      const em = trading.server.orm.em.fork();
      const rows = await em.find(InstrumentEntity, {}, { orderBy: { symbol: 'asc' } });
      feed = new PaperFeed({
        instruments: rows.map(paperInstrumentOf),
        seed: 99,
        autoTick: false,
        history: await recentMinuteCandles(em, rows.map((row) => row.symbol), END),
      });
      feed.events.on('candle', (candle) => emitted.push(candle));
      await trading.server.startMarket(feed);
    });

    afterAll(async () => {
      await trading.server.stopMarket();
    });

    it('writes the latest prices in one batched UPDATE per flush, not per tick', async () => {
      const statements: string[] = [];
      const stop = onSql(trading.server.orm, (sql) => statements.push(sql));
      let last = feed.tick(END + 1_000);
      for (let i = 1; i < 40; i += 1) last = feed.tick(END + 1_000 + i * 250);
      const writesBeforeFlush = statements.filter((sql) => /update "instrument"/i.test(sql)).length;
      await trading.server.recorder!.flush();
      stop();
      expect(writesBeforeFlush).toBe(0);
      expect(statements.filter((sql) => /update "instrument"/i.test(sql))).toHaveLength(1);

      const btc = last.find((tick) => tick.symbol === 'BTC/USDT')!;
      const result = await trading.request(INSTRUMENT, { symbol: 'BTC/USDT' });
      expect(result.data!.instrument).toMatchObject({
        lastPrice: btc.lastPrice,
        change24h: btc.change24h,
        volume24h: btc.volume24h,
        exchange: 'paper',
        updatedAt: new Date(btc.timestamp).toISOString(),
      });
    });

    it('persists closed one-minute candles and rolls them up into the longer timeframes', async () => {
      emitted.length = 0;
      // Into the next minute: the minute 12:00 closes.
      feed.tick(END + 60_000 + 500);
      expect(emitted.map((candle) => candle.symbol)).toEqual(['ADA/USDT', 'BNB/USDT', 'BTC/USDT', 'ETH/USDT', 'SOL/USDT', 'XRP/USDT']);
      await trading.server.recorder!.flush();

      const closed = emitted.find((candle) => candle.symbol === 'BTC/USDT')!;
      const to = new Date(END + 60_000).toISOString();
      const [minute] = (await candles({ symbol: 'BTC/USDT', timeframe: '1m', from: new Date(END).toISOString(), to })).data!.candles;
      expect(minute).toEqual({
        symbol: 'BTC/USDT',
        timeframe: '1m',
        openTime: new Date(END).toISOString(),
        closeTime: to,
        open: closed.open,
        high: closed.high,
        low: closed.low,
        close: closed.close,
        volume: closed.volume,
      });
      for (const timeframe of ['5m', '15m', '1h', '4h', '1d']) {
        const [rolled] = (await candles({ symbol: 'BTC/USDT', timeframe, from: new Date(END - 24 * HOUR).toISOString(), to, limit: 1 })).data!.candles;
        // The open candle of every longer timeframe now ends with this minute.
        expect({ timeframe, close: rolled!.close }).toEqual({ timeframe, close: closed.close });
        expect(new Decimal(rolled!.high!).greaterThanOrEqualTo(closed.high)).toBe(true);
      }
      const [fiveMinutes] = (await candles({ symbol: 'BTC/USDT', timeframe: '5m', from: new Date(END).toISOString(), to })).data!.candles;
      expect(fiveMinutes).toMatchObject({ open: closed.open, high: closed.high, low: closed.low, close: closed.close, volume: closed.volume });
    });
  });

  it('prints a federated SDL with Instrument keyed by symbol and the priceUpdated subscription', async () => {
    const schema = await buildTradingSchema();
    const sdl = printFederatedSdl(schema);
    expect(sdl).toMatch(/type Instrument\s+@key\(fields: "symbol"\)/);
    expect(sdl).toContain('priceUpdated(symbols: [String!]!): Instrument!');
    const candlesField = schema.getQueryType()!.getFields().candles!;
    expect(String(candlesField.type)).toBe('[Candle!]!');
    expect(candlesField.args.map((arg) => `${arg.name}: ${String(arg.type)}`)).toEqual([
      'symbol: String!',
      'timeframe: String!',
      'from: DateTimeISO',
      'to: DateTimeISO',
      'limit: Int',
    ]);
  });
});
