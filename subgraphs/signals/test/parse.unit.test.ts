import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkBracket, DEFAULT_MAX_BYTES, parseAlertBody, type ParsedAlert, type ParseOutcome } from '../src/ingest/parse';

const FIXTURES = join(__dirname, 'fixtures', 'tradingview');
const fixtureFiles = readdirSync(FIXTURES).filter((name) => /^\d\d-/.test(name));
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));
/** What TradingView sends: application/json only for a body that is valid JSON. */
const contentTypeOf = (name: string): string => (name.endsWith('.json') ? 'application/json' : 'text/plain');

function accepted(outcome: ParseOutcome): ParsedAlert[] {
  if (!outcome.ok) throw new Error(`refused: ${outcome.reason}`);
  return outcome.alerts;
}
const one = (body: string | Buffer, contentType?: string): ParsedAlert => {
  const alerts = accepted(parseAlertBody(body, contentType));
  expect(alerts).toHaveLength(1);
  return alerts[0];
};
function refusal(outcome: ParseOutcome): string {
  if (outcome.ok) throw new Error(`accepted: ${JSON.stringify(outcome.alerts)}`);
  return outcome.reason;
}
const refused = (body: string | Buffer, contentType?: string): string => refusal(parseAlertBody(body, contentType));

type Expected =
  | { format: string; alerts: Array<Partial<ParsedAlert> & Pick<ParsedAlert, 'symbol' | 'action' | 'price'>> }
  | { refused: string[] };

/** Per fixture, read by hand: the alerts it must give, or the words its refusal must contain. */
const EXPECTED: Record<string, Expected> = {
  '01-hackingthemarkets-strategy-template.json.tmpl': { refused: ['unfilled placeholders', '{{timenow}}', '{{ticker}}', '{{close}}'] },
  '02-hackingthemarkets-strategy-filled.json': {
    format: 'json',
    alerts: [
      {
        ticker: 'DOGEUSDT',
        exchange: 'BINANCE',
        symbol: 'DOGE/USDT',
        action: 'BUY',
        // The strategy's order price, not the bar close (which stays in extra).
        price: '0.0027451',
        quantity: '10000',
        passphrase: 'abcdefgh',
        alertTime: '2020-09-06T01:44:17.000Z',
      },
    ],
  },
  '03-fabston-tradingview-webhook-bot.json.tmpl': { refused: ['unfilled placeholders', '{{ticker}}', '{{close}}'] },
  '04-robswc-tvwb-webhook-received.json': { refused: ['no ticker/symbol field found', 'ticker', 'symbol', 'pair', 'instrument'] },
  '05-robswc-tvwb-binance-spot-action.json': {
    format: 'json',
    alerts: [{ ticker: 'BTCUSDT', exchange: null, symbol: 'BTC/USDT', action: 'BUY', price: null, passphrase: 'BinanceSpot:1a2b3c', extra: {} }],
  },
  '06-thibaultyou-processor-long.json': {
    format: 'json',
    alerts: [{ ticker: 'ETH-PERP', symbol: 'ETH/USD:USD', action: 'BUY', price: null, quantity: '50', passphrase: null, extra: { stub: 'dev' } }],
  },
  '07-thibaultyou-processor-close-partial.json': {
    format: 'json',
    alerts: [{ symbol: 'ETH/USD:USD', action: 'CLOSE', price: null, quantity: '50%', extra: { stub: 'dev' } }],
  },
  '08-thibaultyou-processor-batch-array.json': {
    format: 'json-array',
    alerts: [
      { symbol: 'ETH/USD:USD', action: 'BUY', price: null, quantity: '50' },
      { symbol: 'BTC/USD:USD', action: 'BUY', price: null, quantity: '50' },
    ],
  },
  '09-bitcoinvsalts-bva-pipe.txt.tmpl': { refused: ['unfilled placeholders', '{{strategy.order.action}}', '{{ticker}}'] },
  '10-bitcoinvsalts-bva-pipe-rendered.txt': {
    format: 'delimited',
    alerts: [{ ticker: 'BTCUSDT', symbol: 'BTC/USDT', action: 'BUY', price: null, passphrase: 'MYBVAKEY123', indicator: 'EMA Cross 4h', extra: {} }],
  },
  '11-3commas-signal-bot-strategy.json.tmpl': { refused: ['unfilled placeholders', '{{close}}', '{{strategy.order.action}}'] },
  // A stock: no crypto/FX pair to map to a ccxt symbol.
  '12-traderspost-signal-bracket.json': { refused: ["cannot read a market from field 'ticker'", "'AMD'", 'known quotes'] },
  '13-tickerly-standard.json.tmpl': { refused: ['unfilled placeholders', '{{ticker}}', '{{strategy.order.contracts}}'] },
  '14-tickerly-fixed-values.json': {
    format: 'json',
    alerts: [{ symbol: 'BTC/USDT', action: 'BUY', price: null, quantity: '0.1', extra: { prev_position: 'flat', pointer: 'm1K3Y' } }],
  },
  '15-pineconnector-plain.txt': {
    format: 'delimited',
    // PineConnector's sl/tp are pips; without a price they cannot be checked and are kept as sent.
    alerts: [{ ticker: 'EURUSD', symbol: 'EUR/USD', action: 'BUY', price: null, passphrase: 'LicenseID', takeProfit: '20', stopLoss: '10', extra: { risk: '1' } }],
  },
  '16-pinebridge-keyvalue.txt': {
    format: 'key-value',
    alerts: [{ symbol: 'EUR/USD', action: 'BUY', price: '1.085', takeProfit: '1.095', stopLoss: '1.08', quantity: '100000', passphrase: 'YOUR_SECRET', extra: {} }],
  },
  '17-tradingwizard-token-in-body.json.tmpl': { refused: ['unfilled placeholders', '{{interval}}', '{{strategy.market_position}}'] },
  // Altrady's open takes its side from the bot's settings; the body does not say it.
  '18-altrady-open-position.json': { refused: ["field 'action' says 'open' but not which side", 'side'] },
  '19-generic-secret-strategy-template.json.tmpl': { refused: ['unfilled placeholders', '{{close}}', '{{strategy.position_size}}'] },
  '20-fundingrate-provider-indicator-alert.json.tmpl': { refused: ['unfilled placeholders', '{{ticker}}', '{{exchange}}', '{{close}}'] },
  '21-generic-secret-strategy-rendered.json': {
    format: 'json',
    alerts: [
      {
        ticker: 'BTCUSDT',
        exchange: 'BINANCE',
        symbol: 'BTC/USDT',
        action: 'BUY',
        price: '67432.5',
        timeframe: '15m',
        quantity: '0.1',
        passphrase: 'YOUR_SECRET_KEY_HERE',
        alertTime: '2025-01-15T14:30:00.000Z',
        extra: { order_id: 'Long Entry', position_size: 0.1, market_position: 'long', prev_market_position: 'flat' },
      },
    ],
  },
  '22-3commas-signal-bot-strategy-rendered.json': {
    format: 'json',
    // A sell that leaves the strategy flat closes the long.
    alerts: [{ symbol: 'BTC/USDT', exchange: 'BINANCE', action: 'CLOSE', price: '67432.5', quantity: '0.1', passphrase: 'token', alertTime: '2025-01-15T14:30:05.000Z' }],
  },
  '23-okx-signal-bot-strategy.json.tmpl': { refused: ['unfilled placeholders', '{{strategy.order.id}}', '{{ticker}}'] },
  '24-okx-signal-bot-universal-enter-long.json': {
    format: 'json',
    alerts: [
      {
        ticker: 'ETH-USDT-SWAP',
        symbol: 'ETH/USDT:USDT',
        action: 'BUY',
        price: null,
        quantity: '50',
        passphrase: 'YOUR_OKX_SIGNAL_TOKEN',
        alertTime: '2025-01-15T14:30:05.000Z',
        extra: { maxLag: '60', orderType: 'market', investmentType: 'percentage_balance' },
      },
    ],
  },
  '25-luxalgo-plot-plaintext.txt.tmpl': { refused: ['unfilled placeholders', '{{plot("Bullish")}}', '{{plot("Bearish+")}}'] },
  '26-luxalgo-plot-plaintext-rendered.txt': { refused: ['no ticker/symbol found', '{{ticker}}'] },
  '27-pinebridge-close.txt': {
    format: 'key-value',
    alerts: [{ ticker: 'EURUSD', symbol: 'EUR/USD', action: 'CLOSE', price: null, passphrase: 'YOUR_SECRET', extra: {} }],
  },
};

describe('every fixture body', () => {
  it('has an expectation here, and every expectation a fixture', () => {
    expect(fixtureFiles.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(fixtureFiles)('%s', (name) => {
    const expected = EXPECTED[name];
    const outcome = parseAlertBody(fixture(name), contentTypeOf(name));
    if ('refused' in expected) {
      const reason = refusal(outcome);
      for (const words of expected.refused) expect(reason).toContain(words);
      return;
    }
    expect(outcome).toMatchObject({ ok: true, format: expected.format });
    const alerts = accepted(outcome);
    expect(alerts).toHaveLength(expected.alerts.length);
    expected.alerts.forEach((want, index) => expect(alerts[index]).toMatchObject(want));
  });

  it.each(fixtureFiles.filter((name) => !('refused' in EXPECTED[name])))('%s keeps no secret in extra or message', (name) => {
    for (const alert of accepted(parseAlertBody(fixture(name), contentTypeOf(name)))) {
      const stored = JSON.stringify({ ...alert, passphrase: undefined });
      if (alert.passphrase) expect(stored).not.toContain(alert.passphrase);
      for (const key of Object.keys(alert.extra)) expect(key).not.toMatch(/secret|passphrase|token|password|^key$|api_key/i);
    }
  });
});

/** Placeholder values as TradingView would fill them in for a BTCUSDT strategy that just bought. */
const RENDERED: Record<string, string> = {
  ticker: 'BTCUSDT',
  exchange: 'BINANCE',
  interval: '15',
  time: '2025-01-15T14:30:00Z',
  timenow: '2025-01-15T14:30:05Z',
  open: '67400',
  high: '67450',
  low: '67390.5',
  close: '67432.5',
  volume: '12.5',
  'strategy.order.action': 'buy',
  'strategy.order.contracts': '0.1',
  'strategy.order.price': '67432.5',
  'strategy.order.id': 'Long Entry',
  'strategy.position_size': '0.1',
  'strategy.market_position': 'long',
  'strategy.market_position_size': '0.1',
  'strategy.prev_market_position': 'flat',
  'strategy.prev_market_position_size': '0',
};
const render = (template: string): string =>
  template.replace(/\{\{([^{}]*)\}\}/g, (_, name: string) => RENDERED[name] ?? (/^plot\(/.test(name) ? '1' : `<unknown ${name}>`));

describe('every template, filled in as TradingView would', () => {
  const templates = fixtureFiles.filter((name) => name.endsWith('.tmpl'));
  const EXPECTED_RENDERED: Record<string, Partial<ParsedAlert> | { refused: string }> = {
    '01-hackingthemarkets-strategy-template.json.tmpl': { symbol: 'BTC/USDT', exchange: 'BINANCE', action: 'BUY', price: '67432.5', quantity: '0.1' },
    // A notification bot: the ticker is only inside the free-text msg.
    '03-fabston-tradingview-webhook-bot.json.tmpl': { refused: 'no ticker/symbol field found' },
    '09-bitcoinvsalts-bva-pipe.txt.tmpl': { symbol: 'BTC/USDT', action: 'BUY', price: null, passphrase: 'your_bva_key', indicator: 'your strategy name' },
    '11-3commas-signal-bot-strategy.json.tmpl': { symbol: 'BTC/USDT', exchange: 'BINANCE', action: 'BUY', price: '67432.5', quantity: '0.1' },
    '13-tickerly-standard.json.tmpl': { symbol: 'BTC/USDT', action: 'BUY', price: null, quantity: '0.1' },
    '17-tradingwizard-token-in-body.json.tmpl': {
      symbol: 'BTC/USDT',
      action: 'BUY',
      price: '67432.5',
      timeframe: '15m',
      passphrase: 'YOUR_TRADINGWIZARD_API_TOKEN',
    },
    '19-generic-secret-strategy-template.json.tmpl': { symbol: 'BTC/USDT', action: 'BUY', price: '67432.5', timeframe: '15m', alertTime: '2025-01-15T14:30:00.000Z' },
    '20-fundingrate-provider-indicator-alert.json.tmpl': {
      symbol: 'BTC/USDT',
      action: 'SELL',
      price: '67432.5',
      signalType: 'Sell Alert',
      message: 'Range Top',
      timeframe: '1m',
      passphrase: 'YOUR_TOKEN',
    },
    '23-okx-signal-bot-strategy.json.tmpl': { symbol: 'BTC/USDT', action: 'BUY', price: null, passphrase: 'YOUR_OKX_SIGNAL_TOKEN', quantity: '0.1' },
    '25-luxalgo-plot-plaintext.txt.tmpl': { refused: 'no ticker/symbol found' },
  };

  it('covers every template', () => {
    expect(templates.sort()).toEqual(Object.keys(EXPECTED_RENDERED).sort());
  });

  it.each(templates)('%s', (name) => {
    const body = render(fixture(name).toString('utf8'));
    const contentType = /^\s*[{[]/.test(body) ? 'application/json' : 'text/plain';
    const expected = EXPECTED_RENDERED[name];
    if ('refused' in expected) expect(refused(body, contentType)).toContain(expected.refused);
    else expect(one(body, contentType)).toMatchObject(expected);
  });
});

describe('formats', () => {
  it('reads TradingView’s standard text message, emoji prefixes and all', () => {
    const body = ['🚀 Ticker: BINANCE:BTCUSDT', '💰 Price: 67890.5', '📈 Signal: Bullish divergence', '⏱️ Timeframe: 15', '🔧 Indicator: ADX DEF'].join('\n');
    const outcome = parseAlertBody(body, 'text/plain');
    expect(outcome).toMatchObject({ ok: true, format: 'text' });
    expect(accepted(outcome)[0]).toEqual({
      ticker: 'BINANCE:BTCUSDT',
      exchange: 'BINANCE',
      symbol: 'BTC/USDT',
      price: '67890.5',
      action: 'BUY',
      signalType: 'Bullish divergence',
      indicator: 'ADX DEF',
      timeframe: '15m',
      chartId: null,
      takeProfit: null,
      stopLoss: null,
      quantity: null,
      passphrase: null,
      alertTime: null,
      extra: {},
      message: null,
    });
  });

  it('reads text lines with bullets, markdown, CRLF, extra keys and free lines (kept as the message)', () => {
    const alert = one(
      '**BTCUSDT.P breakout**\r\n- **Action:** Exit Long\r\n• Price: `68,100.25`\r\n* Take Profit: 70000\r\n* Stop Loss: 66000\r\nRSI: 71\r\nChart: https://www.tradingview.com/chart/AbCd1234/\r\nPassphrase: hunter2',
    );
    expect(alert).toMatchObject({
      ticker: 'BTCUSDT.P',
      symbol: 'BTC/USDT:USDT',
      action: 'CLOSE',
      price: '68100.25',
      takeProfit: '70000',
      stopLoss: '66000',
      chartId: 'AbCd1234',
      passphrase: 'hunter2',
      extra: { RSI: '71' },
      message: '**BTCUSDT.P breakout**',
    });
  });

  it('reads pipe-separated Key: value pairs on one line', () => {
    expect(one('Ticker: BINANCE:ETHUSDT | Action: sell | Price: 3500.5')).toMatchObject({ symbol: 'ETH/USDT', action: 'SELL', price: '3500.5' });
  });

  it('reads key=value lists separated by commas, pipes or spaces', () => {
    for (const body of ['symbol=SOLUSDT,action=buy,price=150.25', 'symbol=SOLUSDT|action=buy|price=150.25', 'symbol=SOLUSDT action=buy price=150.25']) {
      const outcome = parseAlertBody(body, 'text/plain');
      expect(outcome).toMatchObject({ ok: true, format: 'key-value' });
      expect(accepted(outcome)[0]).toMatchObject({ symbol: 'SOL/USDT', action: 'BUY', price: '150.25' });
    }
  });

  it('reads positional fields: action, ticker, a bare number as the price, and a leading key', () => {
    const outcome = parseAlertBody('KEY123|My Strategy|sell|BINANCE:BTCUSDT|67890.5|second note', 'text/plain');
    expect(outcome).toMatchObject({ ok: true, format: 'delimited' });
    expect(accepted(outcome)[0]).toMatchObject({
      exchange: 'BINANCE',
      symbol: 'BTC/USDT',
      action: 'SELL',
      price: '67890.5',
      passphrase: 'KEY123',
      indicator: 'My Strategy',
      message: 'second note',
    });
  });

  it('reads one-line commands, with the price after @ or at', () => {
    expect(one('BUY BTCUSDT @ 67890')).toMatchObject({ symbol: 'BTC/USDT', action: 'BUY', price: '67890', message: 'BUY BTCUSDT @ 67890' });
    expect(one('BTCUSDT sell @67890.5')).toMatchObject({ action: 'SELL', price: '67890.5' });
    expect(one('Long *#ETHUSDT* at `3,500.5`')).toMatchObject({ symbol: 'ETH/USDT', action: 'BUY', price: '3500.5' });
    expect(one('🟢 BINANCE:BTCUSDT.P enter_long tp=70000 sl=65000')).toMatchObject({
      symbol: 'BTC/USDT:USDT',
      action: 'BUY',
      price: null,
      takeProfit: '70000',
      stopLoss: '65000',
    });
  });

  it('takes an action word only at the start of a sentence, and no number without @', () => {
    expect(one('RSI crossed 70 on BTCUSDT, close above the band')).toMatchObject({ symbol: 'BTC/USDT', action: 'NONE', price: null });
  });

  it('reads text that starts with a bracket as text, not as a JSON array', () => {
    expect(parseAlertBody('[LONG] BINANCE:BTCUSDT @ 100', 'text/plain')).toMatchObject({ ok: true, format: 'text', alerts: [{ action: 'BUY', price: '100' }] });
  });

  it('finds a ticker inside a text value when no field names one, but never inside a secret', () => {
    expect(one('Signal: Bullish divergence on BINANCE:ETHUSDT')).toMatchObject({ symbol: 'ETH/USDT', action: 'BUY', signalType: 'Bullish divergence on BINANCE:ETHUSDT' });
    expect(refused('Passphrase: MYKEYUSDT\nSignal: volume')).toContain('no ticker/symbol found');
  });

  it('reads a single Key: value line', () => {
    expect(parseAlertBody('Ticker: BINANCE:BTCUSDT', 'text/plain')).toMatchObject({ ok: true, format: 'text', alerts: [{ symbol: 'BTC/USDT', action: 'NONE' }] });
  });

  it('reads a JSON array as a batch, in order', () => {
    const outcome = parseAlertBody('[{"ticker":"BTCUSDT","action":"buy"},{"ticker":"ETHUSDT","action":"sell","price":"3500"}]', 'application/json');
    expect(outcome).toMatchObject({ ok: true, format: 'json-array' });
    expect(accepted(outcome).map((a) => [a.symbol, a.action, a.price])).toEqual([
      ['BTC/USDT', 'BUY', null],
      ['ETH/USDT', 'SELL', '3500'],
    ]);
  });

  it('reads JSON sent as text/plain or without a content type, and a Buffer with a BOM', () => {
    const body = '{"ticker":"BTCUSDT","action":"buy"}';
    expect(one(body, 'text/plain').symbol).toBe('BTC/USDT');
    expect(one(body).symbol).toBe('BTC/USDT');
    expect(one(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)]), 'application/json; charset=utf-8').symbol).toBe('BTC/USDT');
  });
});

describe('fields', () => {
  it('matches names whatever their case, underscores or nesting', () => {
    const alert = one(
      JSON.stringify({
        TICKER: 'BTCUSDT',
        Strategy: { Order: { Action: 'sell', Price: 67000, Contracts: 2 } },
        Take_Profit: '65000',
        STOPLOSS: '68000',
        TF: '240',
        chart_id: 'xYz123',
      }),
    );
    expect(alert).toMatchObject({ action: 'SELL', price: '67000', quantity: '2', takeProfit: '65000', stopLoss: '68000', timeframe: '4h', chartId: 'xYz123' });
  });

  it.each([
    ['symbol', 'BTCUSDT'],
    ['pair', 'BTC/USDT'],
    ['instrument', 'BTC-USDT'],
    ['tv_instrument', 'BTCUSDT'],
    ['tickerid', 'BINANCE:BTCUSDT'],
  ])('finds the market in %s', (key, value) => {
    expect(one(JSON.stringify({ [key]: value })).symbol).toBe('BTC/USDT');
  });

  it('prefers ticker to symbol, and the price field to close', () => {
    expect(one('{"symbol":"ETHUSDT","ticker":"BTCUSDT","close":1,"price":2}')).toMatchObject({ symbol: 'BTC/USDT', price: '2', extra: { symbol: 'ETHUSDT', close: 1 } });
  });

  it('keeps JSON numbers exactly as sent, never through a float', () => {
    const alert = one('{"ticker":"BTCUSDT","price":67890.123456789012345678,"qty":1e-8,"big":12345678901234567890}');
    expect(alert).toMatchObject({ price: '67890.123456789012345678', quantity: '0.00000001', extra: { big: '12345678901234567890' } });
  });

  it('reads numbers sent as strings, with thousands separators', () => {
    expect(one('{"ticker":"BTCUSDT","price":"67,890.50","quantity":" 0.5 "}')).toMatchObject({ price: '67890.5', quantity: '0.5' });
  });

  it('keeps other fields in extra by their names as sent, with their JSON types', () => {
    const alert = one('{"ticker":"BTCUSDT","note_id":7,"flag":true,"nothing":null,"tags":["a",2],"bar":{"open":1.5}}');
    expect(alert.extra).toEqual({ note_id: 7, flag: true, nothing: null, 'tags.0': 'a', 'tags.1': 2, 'bar.open': 1.5 });
  });

  it('leaves optional values that do not read in extra instead of refusing', () => {
    const alert = one('{"ticker":"BTCUSDT","interval":"whenever","time":"yesterday","qty":"lots","chart":"not an id!"}');
    expect(alert).toMatchObject({ timeframe: null, alertTime: null, quantity: null, chartId: null });
    expect(alert.extra).toEqual({ interval: 'whenever', time: 'yesterday', qty: 'lots', chart: 'not an id!' });
  });

  it('tries the next name when an optional value does not read', () => {
    expect(one('{"ticker":"BTCUSDT","quantity":"all","contracts":3}')).toMatchObject({ quantity: '3', extra: { quantity: 'all' } });
  });

  it('reads the alert time from epoch milliseconds and message fields', () => {
    expect(one('{"ticker":"BTCUSDT","timestamp":1736951400000,"msg":"hello"}')).toMatchObject({ alertTime: '2025-01-15T14:30:00.000Z', message: 'hello' });
  });

  it('takes the exchange from the ticker prefix, else the exchange field', () => {
    expect(one('{"ticker":"BYBIT:BTCUSDT","exchange":"BINANCE"}')).toMatchObject({ exchange: 'BYBIT', extra: { exchange: 'BINANCE' } });
    expect(one('{"ticker":"BTCUSDT","tv_exchange":"BINANCE"}')).toMatchObject({ exchange: 'BINANCE', extra: {} });
  });

  it('cuts signal type and indicator to their column sizes', () => {
    const alert = one(JSON.stringify({ ticker: 'BTCUSDT', signal: 'x'.repeat(80), indicator: 'y'.repeat(300) }));
    expect(alert.signalType).toHaveLength(50);
    expect(alert.indicator).toHaveLength(200);
  });
});

describe('take-profit and stop-loss', () => {
  it('reads prices and percents, TradersPost objects included', () => {
    const alert = one('{"ticker":"BTCUSDT","action":"buy","price":143.12,"takeProfit":{"percent":10},"stopLoss":{"type":"stop","percent":5}}');
    expect(alert).toMatchObject({ takeProfit: '10%', stopLoss: '5%', extra: { 'stopLoss.type': 'stop' } });
    expect(one('{"ticker":"BTCUSDT","action":"sell","price":100,"tp":"2.5%","sl":"101"}')).toMatchObject({ takeProfit: '2.5%', stopLoss: '101' });
    expect(one('{"ticker":"BTCUSDT","action":"buy","takeProfit":{"limitPrice":110},"stopLoss":{"stopPrice":90}}')).toMatchObject({ takeProfit: '110', stopLoss: '90' });
  });

  it.each([
    ['{"ticker":"BTCUSDT","action":"buy","price":100,"tp":90}', 'take-profit 90 is not above the price 100 of a BUY'],
    ['{"ticker":"BTCUSDT","action":"buy","price":100,"sl":100}', 'stop-loss 100 is not below the price 100 of a BUY'],
    ['{"ticker":"BTCUSDT","action":"sell","price":100,"tp":110}', 'take-profit 110 is not below the price 100 of a SELL'],
    ['{"ticker":"BTCUSDT","action":"sell","price":100,"sl":95}', 'stop-loss 95 is not above the price 100 of a SELL'],
    ['{"ticker":"BTCUSDT","tp":"soon"}', "take-profit field 'tp' is not a positive price or a percent: 'soon'"],
    ['{"ticker":"BTCUSDT","sl":-5}', "stop-loss field 'sl' is not a positive price or a percent: '-5'"],
    ['{"ticker":"BTCUSDT","tp":"150%"}', "take-profit field 'tp' is not a positive price or a percent"],
    ['{"ticker":"BTCUSDT","stopLoss":{"percent":0}}', "stop-loss field 'stopLoss.percent' is not a percent between 0 and 100"],
  ])('refuses %s', (body, reason) => {
    expect(refused(body)).toContain(reason);
  });

  it('checkBracket lets the endpoint check again once it knows a price', () => {
    expect(checkBracket('BUY', '100', '110', '90')).toBeNull();
    expect(checkBracket('SELL', '100', '90', '110')).toBeNull();
    expect(checkBracket('BUY', '100', '10%', '5%')).toBeNull();
    expect(checkBracket('CLOSE', '100', '1', '1000')).toBeNull();
    expect(checkBracket('BUY', null, '1', '1000')).toBeNull();
    expect(checkBracket('BUY', '1.0850', '20', '10')).toBe('stop-loss 10 is not below the price 1.0850 of a BUY');
  });
});

describe('actions', () => {
  it.each([
    ['{"ticker":"BTCUSDT","side":"BUY"}', 'BUY'],
    ['{"ticker":"BTCUSDT","order":"sell"}', 'SELL'],
    ['{"ticker":"BTCUSDT","direction":"short"}', 'SELL'],
    ['{"ticker":"BTCUSDT","action":"EXIT_SHORT"}', 'CLOSE'],
    ['{"ticker":"BTCUSDT","action":"flat"}', 'CLOSE'],
    ['{"ticker":"BTCUSDT","action":"neutral"}', 'NONE'],
    ['{"ticker":"BTCUSDT","strategy":{"order":{"action":"buy"}}}', 'BUY'],
    ['{"ticker":"BTCUSDT","action":"open","side":"long"}', 'BUY'],
    ['{"ticker":"BTCUSDT","action":"increase","direction":"short"}', 'SELL'],
    // signal / type are the action only when they hold an action word.
    ['{"ticker":"BTCUSDT","signal":"long"}', 'BUY'],
    ['{"ticker":"BTCUSDT","type":"SHORT"}', 'SELL'],
    ['{"ticker":"BTCUSDT","type":"limit"}', 'NONE'],
    ['{"ticker":"BTCUSDT","order":"Long Entry"}', 'BUY'],
    ['{"ticker":"BTCUSDT","order":"grid-17"}', 'NONE'],
    // The strategy position after the order, alone, says the direction.
    ['{"ticker":"BTCUSDT","market_position":"short"}', 'SELL'],
    // No action: no direction.
    ['{"ticker":"BTCUSDT"}', 'NONE'],
  ])('%s → %s', (body, action) => {
    expect(one(body).action).toBe(action);
  });

  it('reads a buy or sell against the position it leaves: flat or the other side still held means a close', () => {
    const strategy = (action: string, after: string) => one(JSON.stringify({ ticker: 'BTCUSDT', action, strategy: { market_position: after } })).action;
    expect(strategy('sell', 'flat')).toBe('CLOSE');
    expect(strategy('buy', 'flat')).toBe('CLOSE');
    expect(strategy('sell', 'long')).toBe('CLOSE');
    expect(strategy('buy', 'short')).toBe('CLOSE');
    expect(strategy('buy', 'long')).toBe('BUY');
    expect(strategy('sell', 'short')).toBe('SELL');
  });

  it('infers a direction from the signal’s wording only when nothing else says one', () => {
    expect(one('{"ticker":"BTCUSDT","signal":"Bullish divergence"}')).toMatchObject({ action: 'BUY', signalType: 'Bullish divergence' });
    expect(one('{"ticker":"BTCUSDT","condition":"Bearish engulfing"}')).toMatchObject({ action: 'SELL', signalType: 'Bearish engulfing' });
    expect(one('{"ticker":"BTCUSDT","signal":"Bullish to bearish flip"}').action).toBe('NONE');
    expect(one('{"ticker":"BTCUSDT","signal":"Volume spike"}').action).toBe('NONE');
    expect(one('{"ticker":"BTCUSDT","action":"close","signal":"Bullish divergence"}').action).toBe('CLOSE');
  });

  it('refuses an action word it does not know, and an entry without a side', () => {
    expect(refused('{"ticker":"BTCUSDT","action":"wiggle"}')).toBe(
      "field 'action' has an unknown action 'wiggle' (expected buy/sell, long/short, enter_long/exit_short…, close/exit/flat)",
    );
    expect(refused('{"ticker":"BTCUSDT","action":""}')).toContain("field 'action' has an unknown action ''");
    expect(refused('{"ticker":"BTCUSDT","action":"reverse"}')).toBe("field 'action' says 'reverse' but not which side: add side: long or short");
  });
});

describe('passphrase', () => {
  it.each([
    ['passphrase', 'p1'],
    ['secret', 'p2'],
    ['token', 'p3'],
    ['signalToken', 'p4'],
    ['api_token', 'p5'],
    ['key', 'p6'],
    ['Passphrase', 'p7'],
  ])('is read from %s and kept out of extra', (key, value) => {
    const alert = one(JSON.stringify({ ticker: 'BTCUSDT', [key]: value, other: 1 }));
    expect(alert.passphrase).toBe(value);
    expect(alert.extra).toEqual({ other: 1 });
  });

  it('prefers passphrase to secret to token, and drops every credential-looking field', () => {
    const alert = one('{"token":"t","ticker":"BTCUSDT","secret":"s","passphrase":"p","api_key":"k","api_secret":"x","auth":{"key":"n"},"user_password":"w"}');
    expect(alert.passphrase).toBe('p');
    expect(alert.extra).toEqual({});
  });

  it('is read from key=value text and from Key: value lines', () => {
    expect(one('symbol=BTCUSDT,secret=abc').passphrase).toBe('abc');
    expect(one('Ticker: BTCUSDT\nPassphrase: s3cr3t').passphrase).toBe('s3cr3t');
  });

  it('is null when the body has none', () => {
    expect(one('{"ticker":"BTCUSDT"}').passphrase).toBeNull();
  });
});

describe('refusals', () => {
  it.each<[string, string | Buffer, string | undefined, string]>([
    ['an empty body', '', undefined, 'empty body'],
    ['a blank body', ' \n\t ', 'text/plain', 'empty body'],
    ['bytes that are not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), undefined, 'body is not UTF-8 text'],
    ['binary data', 'ticker\u0000BTCUSDT', undefined, 'body contains control characters'],
    ['a JSON number', '42', 'application/json', 'a JSON body must be an object or an array of objects, not a number'],
    ['a JSON string', '"BUY BTCUSDT"', 'application/json', 'not a string'],
    ['JSON true', 'true', undefined, 'not a boolean'],
    ['JSON null', 'null', undefined, 'not null'],
    ['text sent as JSON', 'BUY BTCUSDT', 'application/json', "invalid JSON at line 1 column 1: unquoted text 'BUY'"],
    ['NaN in JSON', '{"ticker":"BTCUSDT","price":NaN}', 'text/plain', 'in the value of "price": NaN is not a JSON value (a placeholder that rendered NaN?)'],
    ['an empty JSON value', '{"ticker":"BTCUSDT",\n"price": }', 'text/plain', 'line 2 column 10 in the value of "price": missing value (a placeholder that rendered empty?)'],
    ['broken JSON as text/plain', '{"ticker":"BTCUSDT"', 'text/plain', 'TradingView sends text/plain when the rendered message is not valid JSON'],
    ['trailing text after JSON', '{"ticker":"BTCUSDT"} extra', undefined, 'unexpected text after the JSON value'],
    ['a bad escape', '{"ticker":"BTC\\qUSDT"}', undefined, 'bad escape'],
    ['deep nesting', `${'{"a":'.repeat(25)}1${'}'.repeat(25)}`, undefined, 'nested deeper than 20 levels'],
    ['an empty batch', '[]', 'application/json', 'empty batch'],
    ['a batch with a non-object', '[{"ticker":"BTCUSDT"},[1]]', 'application/json', 'alert [1] is not a JSON object'],
    ['a batch with one bad alert', '[{"ticker":"BTCUSDT"},{"ticker":"BTCUSDT","price":-1}]', undefined, "alert [1]: field 'price' is not a positive number: '-1'"],
    ['an empty ticker', '{"ticker":"  "}', undefined, "field 'ticker' is empty"],
    ['a ticker that is no pair', '{"symbol":"NASDAQ:AAPL"}', undefined, "cannot read a market from field 'symbol': 'NASDAQ:AAPL' is not a pair"],
    ['no ticker in text', 'Price: 100\nSignal: buy', 'text/plain', 'no ticker/symbol found'],
    ['a zero price', '{"ticker":"BTCUSDT","price":0}', undefined, "field 'price' is not a positive number: '0'"],
    ['a negative price', '{"ticker":"BTCUSDT","price":"-5"}', undefined, "field 'price' is not a positive number: '-5'"],
    ['a price in words', '{"ticker":"BTCUSDT","close":"n/a"}', undefined, "field 'close' is not a positive number: 'n/a'"],
    ['NaN as a string price', '{"ticker":"BTCUSDT","price":"NaN"}', undefined, "field 'price' is not a positive number: 'NaN'"],
    ['an empty price', 'ticker=BTCUSDT,price=', 'text/plain', "field 'price' is not a positive number: ''"],
    ['a price that is true', '{"ticker":"BTCUSDT","price":true}', undefined, "field 'price' is not a positive number: 'true'"],
  ])('%s', (_, body, contentType, reason) => {
    expect(refused(body, contentType)).toContain(reason);
  });

  it('refuses unfilled placeholders anywhere, naming them once each', () => {
    expect(refused('{"ticker":"BTCUSDT","msg":"at {{close}} and {{close}} on {{ interval }}"}')).toBe(
      'unfilled placeholders {{close}}, {{ interval }}: the alert template was sent without TradingView filling them in',
    );
    const many = Array.from({ length: 10 }, (_, i) => `{{p${i}}}`).join(' ');
    expect(refused(`BUY BTCUSDT ${many}`)).toContain('{{p7}} and 2 more');
  });

  it('refuses a body over the size limit, counting UTF-8 bytes', () => {
    const body = `{"ticker":"BTCUSDT","message":"${'é'.repeat(DEFAULT_MAX_BYTES / 2)}"}`;
    expect(refused(body)).toMatch(/^body is \d+ bytes, over the limit of 65536$/);
    expect(parseAlertBody('{"ticker":"BTCUSDT"}', null, { maxBytes: 10 })).toEqual({ ok: false, reason: 'body is 20 bytes, over the limit of 10', format: null });
    expect(parseAlertBody(Buffer.from('{"ticker":"BTCUSDT"}'), null, { maxBytes: 20 }).ok).toBe(true);
  });

  it('refuses a batch over the batch limit, whole', () => {
    const batch = JSON.stringify(Array.from({ length: 3 }, () => ({ ticker: 'BTCUSDT' })));
    expect(parseAlertBody(batch, 'application/json', { maxBatch: 2 })).toEqual({ ok: false, reason: 'batch of 3 alerts is over the limit of 2', format: 'json-array' });
    expect(accepted(parseAlertBody(batch, 'application/json', { maxBatch: 3 }))).toHaveLength(3);
  });

  it('says which format it was reading', () => {
    expect(parseAlertBody('{"x":1}', 'application/json')).toMatchObject({ ok: false, format: 'json' });
    expect(parseAlertBody('[{"x":1}]', 'application/json')).toMatchObject({ ok: false, format: 'json-array' });
    expect(parseAlertBody('a=1,b=2', 'text/plain')).toMatchObject({ ok: false, format: 'key-value' });
    expect(parseAlertBody('x|y|z', 'text/plain')).toMatchObject({ ok: false, format: 'delimited' });
    expect(parseAlertBody('hello there', 'text/plain')).toMatchObject({ ok: false, format: 'text' });
    expect(parseAlertBody('', 'text/plain')).toMatchObject({ ok: false, format: null });
  });

  it('never throws on garbage, and never makes a signal of it', () => {
    const garbage = ['{', '[', '}', '"', '{"a":', '[{]', '\\u0000', '{"a":"\\ud800"}', '::::', '|||', ',,,', '=', '@ @', '{{}}', '🚀🚀🚀', 'null null', '-', '1e999', '[1,2', '{"a" 1}'];
    for (const body of garbage) {
      for (const contentType of ['application/json', 'text/plain', undefined]) {
        const outcome = parseAlertBody(body, contentType);
        expect(outcome.ok).toBe(false);
        if (!outcome.ok) expect(outcome.reason.length).toBeGreaterThan(0);
      }
    }
  });
});
