import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { sendJson, type Route } from '../../../kit/src';
import { loadChartData, type CandleSource, type ChartData } from './chart-data';
import { expiresIn, type UrlSigner } from './signed-url';

/** What a chart page shows of a signal; carried, signed, in the page URL. */
export interface ChartSignal {
  signalId: string;
  symbol: string;
  exchange: string | null;
  timeframe: string | null;
  price: string | null;
  action: string;
  receivedAt: string;
  takeProfit: string | null;
  stopLoss: string | null;
}

export const CHART_ASSET_PATH = '/assets/lightweight-charts.js';
export const SIGNAL_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
const CHART_PATH = /^\/charts\/([A-Za-z0-9_-]{1,128})$/;

/** Where a chart page's signature covers both the signal id and its payload. */
const chartSubject = (signalId: string, payload: string) => `${signalId}\n${payload}`;

/** The signed URL Chromium opens to draw a signal's chart; valid for `ttlSeconds`. */
export function chartPageUrl(baseUrl: string, signer: UrlSigner, signal: ChartSignal, ttlSeconds: number): string {
  const payload = Buffer.from(JSON.stringify(signal)).toString('base64url');
  const expires = expiresIn(ttlSeconds);
  const signature = signer.sign('chart-page', chartSubject(signal.signalId, payload), expires);
  return `${baseUrl.replace(/\/+$/, '')}/charts/${signal.signalId}?d=${payload}&expires=${expires}&signature=${signature}`;
}

/** `up` for buy/long entries, `down` for sell/short ones, `flat` for exits and anything else. */
function direction(action: string): 'up' | 'down' | 'flat' {
  const text = action.toLowerCase();
  if (/close|exit|flat|cancel/.test(text)) return 'flat';
  if (/buy|long/.test(text)) return 'up';
  if (/sell|short/.test(text)) return 'down';
  return 'flat';
}

const COLORS = { up: '#26a69a', down: '#ef5350', flat: '#f0b90b' } as const;

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!);

/** JSON safe inside a <script> element: no `</script>`, no line separators JavaScript rejects. */
const scriptJson = (value: unknown): string =>
  JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

const utcMinute = (iso: string): string => {
  const time = new Date(iso);
  return Number.isNaN(time.getTime()) ? iso : `${time.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
};

/** Draws the chart (or leaves the placeholder), then sets window.__chartReady once painted. */
const CHART_SCRIPT = `(function () {
  var data = JSON.parse(document.getElementById('chart-data').textContent);
  function finish(status, error) {
    window.__chartStatus = status;
    if (error) window.__chartError = String(error);
    requestAnimationFrame(function () { requestAnimationFrame(function () { window.__chartReady = true; }); });
  }
  if (data.candles.length === 0) { finish(data.status); return; }
  try {
    var LC = window.LightweightCharts;
    var element = document.getElementById('chart');
    var chart = LC.createChart(element, {
      width: element.clientWidth,
      height: element.clientHeight,
      layout: { background: { type: 'solid', color: '#131722' }, textColor: '#b2b5be', fontSize: 13, fontFamily: 'DejaVu Sans, sans-serif' },
      grid: { vertLines: { color: '#1e222d' }, horzLines: { color: '#1e222d' } },
      rightPriceScale: { borderColor: '#2a2e39' },
      timeScale: { borderColor: '#2a2e39', timeVisible: data.timeframe !== '1d', secondsVisible: false, rightOffset: 3 },
      crosshair: { vertLine: { visible: false, labelVisible: false }, horzLine: { visible: false, labelVisible: false } },
      handleScroll: false,
      handleScale: false
    });
    var levels = data.levels.map(function (level) { return level.price; });
    // Prices are drawn, never computed with: Number is fine here.
    var series = chart.addSeries(LC.CandlestickSeries, {
      upColor: '#26a69a', downColor: '#ef5350', wickUpColor: '#26a69a', wickDownColor: '#ef5350', borderVisible: false,
      priceLineVisible: false,
      priceFormat: { type: 'price', precision: data.precision, minMove: Math.pow(10, -data.precision) },
      // Keep TP/SL/entry on screen even when far from the candles.
      autoscaleInfoProvider: function (original) {
        var range = original();
        if (range && levels.length > 0) {
          range.priceRange.minValue = Math.min.apply(null, levels.concat([range.priceRange.minValue]));
          range.priceRange.maxValue = Math.max.apply(null, levels.concat([range.priceRange.maxValue]));
        }
        return range;
      }
    });
    series.setData(data.candles.map(function (c) { return { time: c.time, open: Number(c.open), high: Number(c.high), low: Number(c.low), close: Number(c.close) }; }));
    var volume = chart.addSeries(LC.HistogramSeries, { priceScaleId: '', priceFormat: { type: 'volume' }, lastValueVisible: false, priceLineVisible: false });
    volume.priceScale().applyOptions({ scaleMargins: { top: 0.85, bottom: 0 } });
    volume.setData(data.candles.map(function (c) { return { time: c.time, value: Number(c.volume), color: Number(c.close) >= Number(c.open) ? 'rgba(38,166,154,0.35)' : 'rgba(239,83,80,0.35)' }; }));
    data.levels.forEach(function (level) {
      series.createPriceLine({ price: level.price, color: level.color, lineWidth: 2, lineStyle: level.dashed ? LC.LineStyle.Dashed : LC.LineStyle.Solid, axisLabelVisible: true, title: level.label });
    });
    LC.createSeriesMarkers(series, [data.marker]);
    chart.timeScale().fitContent();
    finish('ok');
  } catch (error) {
    finish('error', (error && error.stack) || error);
  }
})();`;

/** The chart page's HTML: a header naming the signal, the chart (or a no-data placeholder), the drawing script. */
export function renderChartPage(signal: ChartSignal, data: ChartData, nonce: string): string {
  const side = direction(signal.action);
  const color = COLORS[side];
  const levels = [
    ...(signal.price ? [{ price: Number(signal.price), label: 'Entry', color, dashed: false }] : []),
    ...(signal.takeProfit ? [{ price: Number(signal.takeProfit), label: 'TP', color: COLORS.up, dashed: true }] : []),
    ...(signal.stopLoss ? [{ price: Number(signal.stopLoss), label: 'SL', color: COLORS.down, dashed: true }] : []),
  ].filter((level) => Number.isFinite(level.price));
  const text = `${signal.action.toUpperCase()}${signal.price ? ` @ ${signal.price}` : ''}`;
  const marker = {
    time: data.markerTime,
    shape: side === 'up' ? 'arrowUp' : side === 'down' ? 'arrowDown' : 'circle',
    color,
    text,
    size: 2,
    ...(signal.price && Number.isFinite(Number(signal.price))
      ? { position: side === 'up' ? 'atPriceBottom' : side === 'down' ? 'atPriceTop' : 'atPriceMiddle', price: Number(signal.price) }
      : { position: side === 'down' ? 'aboveBar' : 'belowBar' }),
  };
  const placeholder =
    data.candles.length > 0
      ? ''
      : `<div class="placeholder"><div class="big">${data.status === 'unavailable' ? 'Market data unavailable' : 'No market data'}</div><div>${escapeHtml(
          data.symbol ?? signal.symbol,
        )} · ${data.timeframe}</div></div>`;
  const facts = [
    signal.takeProfit ? `<span class="tp">TP ${escapeHtml(signal.takeProfit)}</span>` : '',
    signal.stopLoss ? `<span class="sl">SL ${escapeHtml(signal.stopLoss)}</span>` : '',
    `<span class="time">${escapeHtml(utcMinute(signal.receivedAt))}</span>`,
  ].join('');
  const title = `${signal.symbol} · ${data.timeframe} · ${signal.action.toUpperCase()}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
html, body { margin: 0; padding: 0; background: #131722; overflow: hidden; }
#shot { width: 100vw; height: 100vh; display: flex; flex-direction: column; font-family: 'DejaVu Sans', sans-serif; color: #d1d4dc; background: #131722; }
header { height: 64px; flex: none; display: flex; align-items: center; gap: 16px; padding: 0 24px; border-bottom: 1px solid #2a2e39; }
.symbol { font-size: 26px; font-weight: bold; color: #fff; }
.badge { font-size: 15px; padding: 3px 8px; border-radius: 4px; background: #2a2e39; }
.action { font-size: 18px; font-weight: bold; padding: 5px 12px; border-radius: 4px; color: #fff; background: ${color}; }
.facts { margin-left: auto; display: flex; gap: 16px; font-size: 15px; }
.tp { color: ${COLORS.up}; } .sl { color: ${COLORS.down}; } .time { color: #787b86; }
#chart { flex: 1; position: relative; }
.placeholder { position: absolute; inset: 0; display: flex; flex-direction: column; align-items: center; justify-content: center; gap: 12px; font-size: 18px; color: #787b86;
  background: repeating-linear-gradient(45deg, #131722 0 24px, #161a25 24px 48px); }
.placeholder .big { font-size: 32px; color: #b2b5be; }
</style>
<script src="${CHART_ASSET_PATH}"></script>
</head><body><div id="shot">
<header><span class="symbol">${escapeHtml(signal.symbol)}</span><span class="badge">${data.timeframe}</span>${
    signal.exchange ? `<span class="badge">${escapeHtml(signal.exchange)}</span>` : ''
  }<span class="action">${escapeHtml(text)}</span><span class="facts">${facts}</span></header>
<div id="chart">${placeholder}</div>
</div>
<script type="application/json" id="chart-data">${scriptJson({ ...data, levels, marker })}</script>
<script nonce="${nonce}">${CHART_SCRIPT}</script>
</body></html>`;
}

function parseSignal(payload: string, signalId: string): ChartSignal | null {
  try {
    const value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as ChartSignal;
    const ok = value?.signalId === signalId && typeof value.symbol === 'string' && typeof value.action === 'string' && typeof value.receivedAt === 'string';
    return ok ? value : null;
  } catch {
    return null;
  }
}

let bundle: Promise<{ body: Buffer; etag: string }> | undefined;

/** The standalone lightweight-charts bundle from node_modules (its package exports hide dist/), read once. */
function chartBundle(): Promise<{ body: Buffer; etag: string }> {
  bundle ??= readFile(path.join(path.dirname(require.resolve('lightweight-charts/package.json')), 'dist', 'lightweight-charts.standalone.production.js')).then(
    (body) => ({ body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` }),
  );
  return bundle;
}

/** GET /charts/:signalId (signed, drawn from candles fetched here) and GET /assets/lightweight-charts.js. */
export function chartRoutes(options: { signer: UrlSigner; candles: CandleSource; candleTimeoutMs: number }): Route[] {
  return [
    {
      method: 'GET',
      path: CHART_PATH,
      name: '/charts/:id',
      async handle({ res, url, params, log }) {
        const signalId = params[0]!;
        const payload = url.searchParams.get('d') ?? '';
        const verdict = options.signer.verify('chart-page', chartSubject(signalId, payload), url.searchParams.get('expires'), url.searchParams.get('signature'));
        const signal = verdict === 'ok' ? parseSignal(payload, signalId) : null;
        if (!signal) return sendJson(res, 403, { error: verdict === 'expired' ? 'Link expired' : 'Invalid link' });
        const data = await loadChartData(options.candles, signal, { timeoutMs: options.candleTimeoutMs, log });
        const nonce = randomBytes(16).toString('base64');
        const html = renderChartPage(signal, data, nonce);
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'content-length': Buffer.byteLength(html),
          'cache-control': 'no-store',
          'content-security-policy': `default-src 'none'; script-src 'self' 'nonce-${nonce}'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
          'x-chart-status': data.status,
        });
        res.end(html);
      },
    },
    {
      method: 'GET',
      path: CHART_ASSET_PATH,
      async handle({ req, res }) {
        const { body, etag } = await chartBundle();
        const headers = { etag, 'cache-control': 'public, max-age=86400', 'x-content-type-options': 'nosniff' };
        if (req.headers['if-none-match'] === etag) {
          res.writeHead(304, headers);
          res.end();
          return;
        }
        res.writeHead(200, { ...headers, 'content-type': 'text/javascript; charset=utf-8', 'content-length': body.length });
        res.end(body);
      },
    },
  ];
}
