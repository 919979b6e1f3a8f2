import {
  ACTION_WORDS,
  normalizeAction,
  normalizeDecimal,
  normalizeSymbol,
  normalizeTimeframe,
  normalizeTimestamp,
  SIDELESS_ENTRY_WORDS,
  type SignalAction,
} from '../src/ingest/normalize';

describe('normalizeSymbol', () => {
  it.each([
    ['BINANCE:BTCUSDT', null, 'BINANCE', 'BTC/USDT'],
    ['BTCUSDT', null, null, 'BTC/USDT'],
    ['BTCUSDT', 'binance', 'BINANCE', 'BTC/USDT'],
    ['BYBIT:BTCUSDT', 'BINANCE', 'BYBIT', 'BTC/USDT'],
    ['btcusdt', null, null, 'BTC/USDT'],
    ['DOGEUSDT', null, null, 'DOGE/USDT'],
    ['ETHBTC', null, null, 'ETH/BTC'],
    ['BTCFDUSD', null, null, 'BTC/FDUSD'],
    ['BTCTUSD', null, null, 'BTC/TUSD'],
    ['USDCUSDT', null, null, 'USDC/USDT'],
    ['1000PEPEUSDT', null, null, '1000PEPE/USDT'],
    ['XAUUSD', null, null, 'XAU/USD'],
    ['EURUSD', null, null, 'EUR/USD'],
    ['USDJPY', null, null, 'USD/JPY'],
    ['BTCUSDT.P', null, null, 'BTC/USDT:USDT'],
    ['BYBIT:BTCUSDT.P', null, 'BYBIT', 'BTC/USDT:USDT'],
    ['BTCUSD.P', null, null, 'BTC/USD:BTC'],
    ['BTCUSDTPERP', null, null, 'BTC/USDT:USDT'],
    ['BINANCE:ETHUSDPERP', null, 'BINANCE', 'ETH/USD:ETH'],
    ['BTC/USDT', null, null, 'BTC/USDT'],
    ['BTC/USDT:USDT', null, null, 'BTC/USDT:USDT'],
    ['BINANCE:BTC/USDT:USDT', null, 'BINANCE', 'BTC/USDT:USDT'],
    ['BTC/USD:BTC-250328', null, null, 'BTC/USD:BTC-250328'],
    ['BTC-USDT', null, null, 'BTC/USDT'],
    ['BTC_USDT', null, null, 'BTC/USDT'],
    ['ETH-USDT-SWAP', null, null, 'ETH/USDT:USDT'],
    ['BTC-USD-SWAP', null, null, 'BTC/USD:BTC'],
    ['BTC-USD-250328', null, null, 'BTC/USD:BTC-250328'],
    ['ETH-PERP', null, null, 'ETH/USD:USD'],
    ['BYBI_USDT_SOL', 'BYBI', 'BYBI', 'SOL/USDT'],
    ['BINA_BTC_ETH', null, 'BINA', 'ETH/BTC'],
    ['  BINANCE:BTCUSDT  ', null, 'BINANCE', 'BTC/USDT'],
  ])('%s (hint %s) → %s %s', (ticker, hint, exchange, symbol) => {
    expect(normalizeSymbol(ticker, hint)).toEqual({ exchange, symbol });
  });

  it.each([
    ['AMD', 'a stock: no quote currency to split off'],
    ['NASDAQ:AMD', 'a stock with an exchange'],
    ['BTC1!', 'a continuous future'],
    ['USDT', 'a quote alone'],
    ['WBTC', 'a base of one letter would be left'],
    ['1000USDT', 'a base without a letter'],
    ['USDTUSDT', 'base equal to quote'],
    ['BTC USDT', 'a space'],
    ['BTC-', 'an empty part'],
    ['A_B_C_D', 'too many parts'],
    ['BYBI_XYZ_SOL', 'an Altrady code whose quote is unknown'],
    ['', 'nothing'],
    ['X'.repeat(65), 'too long'],
    ['BINANCE:', 'a prefix only'],
    [`${'X'.repeat(31)}:BTCUSDT`, 'an exchange prefix longer than an exchange name'],
  ])('%s is not a market (%s)', (ticker) => {
    expect(normalizeSymbol(ticker)).toBeNull();
  });
});

describe('normalizeAction', () => {
  const table: [string, SignalAction][] = [
    ['buy', 'BUY'],
    ['long', 'BUY'],
    ['ENTER_LONG', 'BUY'],
    ['open long', 'BUY'],
    ['Strong Buy', 'BUY'],
    ['bullish', 'BUY'],
    ['sell', 'SELL'],
    ['short', 'SELL'],
    ['ENTER_SHORT', 'SELL'],
    ['sell short', 'SELL'],
    ['bearish', 'SELL'],
    ['close', 'CLOSE'],
    ['flat', 'CLOSE'],
    ['exit', 'CLOSE'],
    ['EXIT_LONG', 'CLOSE'],
    ['EXIT_SHORT', 'CLOSE'],
    ['closelong', 'CLOSE'],
    ['close_short', 'CLOSE'],
    ['reduce', 'CLOSE'],
    ['neutral', 'NONE'],
    ['hold', 'NONE'],
  ];
  it.each(table)('%s → %s', (word, action) => {
    expect(normalizeAction(word)).toBe(action);
  });

  it('ignores case, spaces, dashes and underscores', () => {
    for (const word of ['enter_long', 'Enter Long', 'ENTER-LONG', ' enterlong ', 'EnterLong']) expect(normalizeAction(word)).toBe('BUY');
  });

  it('maps every word of the documented table to itself in canonical form', () => {
    for (const [word, action] of ACTION_WORDS) expect(normalizeAction(word.toLowerCase())).toBe(action);
  });

  it('gives null for words without a direction (the side must come from elsewhere) and for unknown words', () => {
    for (const word of SIDELESS_ENTRY_WORDS) expect(normalizeAction(word)).toBeNull();
    for (const word of ['', 'wiggle', 'Bullish divergence', 'buy now', 'longer']) expect(normalizeAction(word)).toBeNull();
  });
});

describe('normalizeDecimal', () => {
  it.each<[unknown, string]>([
    ['67890.5', '67890.5'],
    [' 67890.50 ', '67890.5'],
    ['1,234.5', '1234.5'],
    ['1,234,567', '1234567'],
    ['$5', '5'],
    ['-$5.25', '-5.25'],
    ['+7', '7'],
    ['.5', '0.5'],
    ['5.', '5'],
    ['1e-7', '0.0000001'],
    ['2.5E3', '2500'],
    ['0.0027451', '0.0027451'],
    ['67890.123456789012345678', '67890.123456789012345678'],
    ['-0', '0'],
    [0.1, '0.1'],
    [150177, '150177'],
    [-3, '-3'],
    [1e-7, '0.0000001'],
  ])('%p → %s', (value, decimal) => {
    expect(normalizeDecimal(value)).toBe(decimal);
  });

  it.each<[unknown]>([['NaN'], ['Infinity'], [NaN], [Infinity], [''], ['abc'], ['50%'], ['1,23.4'], ['12,34'], ['0x10'], ['1 234'], ['1e400'], [true], [null], [undefined], [{}]])(
    '%p is not a number',
    (value) => {
      expect(normalizeDecimal(value)).toBeNull();
    },
  );
});

describe('normalizeTimeframe', () => {
  it.each<[unknown, string]>([
    ['1', '1m'],
    ['15', '15m'],
    ['45', '45m'],
    ['60', '1h'],
    ['240', '4h'],
    ['720', '12h'],
    ['1440', '1d'],
    ['D', '1d'],
    ['1D', '1d'],
    ['3D', '3d'],
    ['W', '1w'],
    ['1W', '1w'],
    ['M', '1M'],
    ['1M', '1M'],
    ['3M', '3M'],
    ['30S', '30s'],
    ['15m', '15m'],
    ['1m', '1m'],
    ['4h', '4h'],
    ['4H', '4h'],
    ['1d', '1d'],
    ['15 min', '15m'],
    ['1 hour', '1h'],
    ['2 weeks', '2w'],
    ['7d', '1w'],
    [15, '15m'],
    [240, '4h'],
  ])('%p → %s', (value, timeframe) => {
    expect(normalizeTimeframe(value)).toBe(timeframe);
  });

  it.each<[unknown]>([['0'], [''], ['abc'], ['15x'], ['-5'], ['1.5'], [0], [1.5], [null], [true]])('%p is not a timeframe', (value) => {
    expect(normalizeTimeframe(value)).toBeNull();
  });
});

describe('normalizeTimestamp', () => {
  it.each<[unknown, string]>([
    ['2025-01-15T14:30:00Z', '2025-01-15T14:30:00.000Z'],
    ['2025-01-15T14:30:00.123Z', '2025-01-15T14:30:00.123Z'],
    ['2025-01-15T16:30:00+02:00', '2025-01-15T14:30:00.000Z'],
    ['2025-01-15 14:30', '2025-01-15T14:30:00.000Z'],
    ['2025-01-15', '2025-01-15T00:00:00.000Z'],
    ['1736951400', '2025-01-15T14:30:00.000Z'],
    ['1736951400000', '2025-01-15T14:30:00.000Z'],
    [1736951400000, '2025-01-15T14:30:00.000Z'],
  ])('%p → %s', (value, iso) => {
    expect(normalizeTimestamp(value)).toBe(iso);
  });

  it.each<[unknown]>([['yesterday'], ['2025-13-45T99:99:00Z'], ['12345'], [''], [null]])('%p is not a time', (value) => {
    expect(normalizeTimestamp(value)).toBeNull();
  });
});
