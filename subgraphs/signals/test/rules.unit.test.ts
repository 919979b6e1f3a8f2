import type { IncomingMessage } from 'node:http';
import { hashPassphrase, hashWebhookToken, newWebhookToken, passphraseMatches } from '../src/endpoint/endpoint.secrets';
import { addressBlock, clientIp, normalizeIp, proxyMatcher } from '../src/ingest/client-ip';
import { redactBody } from '../src/ingest/redact';
import { judge, levelPrice, parseLevel, watchOf } from '../src/outcome/levels';
import { planOfCode, quotaMonth } from '../src/plan/plan';

const request = (remoteAddress: string, forwarded?: string): IncomingMessage =>
  ({ socket: { remoteAddress }, headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } }) as unknown as IncomingMessage;

describe('webhook secrets', () => {
  it('makes 256-bit URL-safe tokens and stores their SHA-256', () => {
    const token = newWebhookToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newWebhookToken()).not.toBe(token);
    expect(hashWebhookToken(token)).toHaveLength(32);
    expect(hashWebhookToken(token)).toEqual(hashWebhookToken(token));
  });

  it('checks a passphrase against its salted HMAC', () => {
    const { salt, hash } = hashPassphrase('correct horse');
    expect(passphraseMatches('correct horse', salt, hash)).toBe(true);
    expect(passphraseMatches('correct horsE', salt, hash)).toBe(false);
    expect(passphraseMatches(null, salt, hash)).toBe(false);
    // The salt makes equal passphrases differ at rest.
    expect(hashPassphrase('correct horse').hash).not.toEqual(hash);
  });
});

describe('client address', () => {
  const trusted = proxyMatcher(['10.0.0.1', '10.0.0.2']);

  it('is the peer unless the peer is a trusted proxy', () => {
    expect(clientIp(request('::ffff:52.89.214.238', '1.2.3.4'), trusted)).toBe('52.89.214.238');
    expect(normalizeIp('::1')).toBe('::1');
  });

  it('is counted by itself for IPv4 and by its /64 for IPv6, however the address is written', () => {
    expect(addressBlock('52.89.214.238')).toBe('52.89.214.238');
    expect(['2001:db8:1:2::7', '2001:0DB8:0001:0002:ffff:0:0:1', '2001:db8:1:2::'].map(addressBlock)).toEqual(Array(3).fill('2001:db8:1:2::/64'));
    expect(addressBlock('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressBlock('::1')).toBe('0:0:0:0::/64');
    expect(addressBlock('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });

  it('is always the peer when no proxy is configured, whatever X-Forwarded-For says', () => {
    expect(clientIp(request('10.0.0.1', '52.89.214.238'), proxyMatcher([]))).toBe('10.0.0.1');
  });

  it('is read from the right of X-Forwarded-For behind trusted proxies', () => {
    expect(clientIp(request('10.0.0.1', '52.89.214.238'), trusted)).toBe('52.89.214.238');
    expect(clientIp(request('10.0.0.1', '6.6.6.6, 52.89.214.238, 10.0.0.2'), trusted)).toBe('52.89.214.238');
    expect(clientIp(request('10.0.0.1', '52.89.214.238, 6.6.6.6'), trusted)).toBe('6.6.6.6');
    expect(clientIp(request('10.0.0.1'), trusted)).toBe('10.0.0.1');
  });

  it('trusts proxies by CIDR range too (an ingress controller\'s pods), IPv4 and IPv6', () => {
    const ranges = proxyMatcher(['10.244.0.0/16', 'fd00:10::/32']);
    expect(['10.244.3.7', '10.244.255.255', 'fd00:10:0:1::5'].map(ranges)).toEqual([true, true, true]);
    expect(['10.245.0.1', 'fd00:11::1', 'proxy.local', ''].map(ranges)).toEqual([false, false, false, false]);
    expect(clientIp(request('::ffff:10.244.1.2', '6.6.6.6, 52.89.214.238, 10.244.9.9'), ranges)).toBe('52.89.214.238');
    expect(clientIp(request('10.245.0.1', '52.89.214.238'), ranges)).toBe('10.245.0.1');
  });
});

describe('audit body redaction', () => {
  it('hides secret-looking values in JSON and key=value text, and the secrets given', () => {
    expect(redactBody('{"passphrase": "abc12345", "ticker": "BTCUSDT", "api_key": 12345, "signalToken":"t\\"x"}', 1000)).toBe(
      '{"passphrase": "[redacted]", "ticker": "BTCUSDT", "api_key": "[redacted]", "signalToken":"[redacted]"}',
    );
    expect(redactBody('signal=long,symbol=EURUSD,secret=YOUR_SECRET', 1000)).toBe('signal=long,symbol=EURUSD,secret=[redacted]');
    expect(redactBody('MYBVAKEY123|EMA Cross|buy|BTCUSDT', 1000, ['MYBVAKEY123'])).toBe('[redacted]|EMA Cross|buy|BTCUSDT');
  });

  it('cuts to whole UTF-8 characters within the byte limit', () => {
    const cut = redactBody('é'.repeat(100), 11);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(11);
    expect(cut).toBe('é'.repeat(5));
    expect(redactBody('anything', 0)).toBe('');
  });
});

describe('plans and quota months', () => {
  it('maps plan codes to quota plans', () => {
    expect(['FREE', 'PRO', 'PRO-YEAR', 'pro-month', 'PREMIUM', 'PREMIUM-YEAR', 'ENTERPRISE', 'PROFESSIONAL'].map(planOfCode)).toEqual([
      'free',
      'pro',
      'pro',
      'pro',
      'premium',
      'premium',
      'free',
      'free',
    ]);
  });

  it('counts calendar months in UTC', () => {
    expect(quotaMonth(new Date('2025-12-31T23:59:59Z'))).toEqual({ month: '2025-12-01', resetsAt: new Date('2026-01-01T00:00:00Z') });
    expect(quotaMonth(new Date('2025-03-01T00:00:00Z'))).toEqual({ month: '2025-03-01', resetsAt: new Date('2025-04-01T00:00:00Z') });
  });
});

describe('take-profit and stop-loss levels', () => {
  it('reads prices and percents, refusing nonsense', () => {
    expect(parseLevel('68000.5')).toMatchObject({ kind: 'price' });
    expect(parseLevel('2.5%')).toMatchObject({ kind: 'percent' });
    for (const bad of ['', 'abc', '-1', '0', '0%', '100%', '1e5', null, undefined]) expect(parseLevel(bad)).toBeNull();
  });

  it('turns percents into prices on the side of the action', () => {
    expect(levelPrice(parseLevel('2%'), 'takeProfit', 'BUY', '100')).toBe('102');
    expect(levelPrice(parseLevel('1%'), 'stopLoss', 'BUY', '100')).toBe('99');
    expect(levelPrice(parseLevel('2%'), 'takeProfit', 'SELL', '100')).toBe('98');
    expect(levelPrice(parseLevel('1%'), 'stopLoss', 'SELL', '0.3')).toBe('0.303');
    expect(levelPrice(parseLevel('1%'), 'stopLoss', 'BUY', null)).toBeNull();
    expect(levelPrice(parseLevel('1%'), 'stopLoss', 'CLOSE', '100')).toBeNull();
    expect(levelPrice(parseLevel('95'), 'stopLoss', 'CLOSE', null)).toBe('95');
  });

  it('watches only a BUY or SELL whose levels lie on either side of its entry', () => {
    const base = { id: 's', userId: 'u', symbol: 'BTC/USDT', price: '100' };
    expect(watchOf({ ...base, action: 'BUY', takeProfit: '102', stopLoss: '99' })).not.toBeNull();
    expect(watchOf({ ...base, action: 'BUY', takeProfit: '98', stopLoss: '99' })).toBeNull();
    expect(watchOf({ ...base, action: 'SELL', takeProfit: '98', stopLoss: '101' })).not.toBeNull();
    expect(watchOf({ ...base, action: 'CLOSE', takeProfit: '102', stopLoss: '99' })).toBeNull();
    expect(watchOf({ ...base, price: null, action: 'BUY', takeProfit: '102', stopLoss: '99' })).toBeNull();
  });

  it('judges the first price at or beyond a level, with the profit in percent', () => {
    const buy = watchOf({ id: 's', userId: 'u', symbol: 'BTC/USDT', price: '100', action: 'BUY', takeProfit: '102', stopLoss: '99' })!;
    expect(judge(buy, '101.99')).toBeNull();
    expect(judge(buy, '102')).toEqual({ result: 'WIN', exitPrice: '102', profitLoss: '2' });
    expect(judge(buy, '98.12345')).toEqual({ result: 'LOSS', exitPrice: '98.12345', profitLoss: '-1.8766' });
    const sell = watchOf({ id: 's', userId: 'u', symbol: 'BTC/USDT', price: '100', action: 'SELL', takeProfit: '90', stopLoss: '105' })!;
    expect(judge(sell, '89.5')).toEqual({ result: 'WIN', exitPrice: '89.5', profitLoss: '10.5' });
    expect(judge(sell, '105')).toEqual({ result: 'LOSS', exitPrice: '105', profitLoss: '-5' });
  });
});
