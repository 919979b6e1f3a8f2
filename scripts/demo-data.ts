/** Demo data `npm start` seeds once: the same ids in catalog and inventory tie a product to its stock. */
export type DemoProductKind = 'INDICATOR' | 'PLAN' | 'GOOD';

export interface DemoProduct {
  id: string;
  sku: string;
  name: string;
  description: string;
  kind: DemoProductKind;
  priceAmount: number;
  currency: string;
  category: string;
  attributes: Record<string, unknown>;
  /** Units on hand; only goods have stock. */
  stock?: { onHand: number; lowStockThreshold: number };
}

export interface DemoUser {
  /** Fixed, so other subgraphs' seeds can refer to the user (the trader's paper account). */
  id: string;
  email: string;
  password: string;
  name: string;
  role: 'CUSTOMER' | 'TRADER' | 'ADMIN' | 'PARTNER';
}

const userId = (n: number) => `00000000-0000-4000-9000-${String(n).padStart(12, '0')}`;

export const DEMO_USERS: DemoUser[] = [
  { id: userId(1), email: 'admin@mercado.dev', password: 'admin-password-123', name: 'Ada Admin', role: 'ADMIN' },
  { id: userId(2), email: 'customer@mercado.dev', password: 'customer-password-123', name: 'Carl Customer', role: 'CUSTOMER' },
  { id: userId(3), email: 'partner@mercado.dev', password: 'partner-password-123', name: 'Pat Partner', role: 'PARTNER' },
  { id: userId(4), email: 'trader@mercado.dev', password: 'trader-password-123', name: 'Tess Trader', role: 'TRADER' },
];

export interface DemoPaperAccount {
  userId: string;
  label: string;
  startingBalances: Record<string, string>;
}

/** The demo trader can place orders at once on a paper account. */
export const DEMO_PAPER_ACCOUNTS: DemoPaperAccount[] = [{ userId: userId(4), label: 'Demo paper', startingBalances: { USDT: '100000', BTC: '0.5', ETH: '5' } }];

/** Category tree: parent slugs before children. */
export const DEMO_CATEGORIES = [
  { slug: 'indicators', name: 'Indicators', parent: null },
  { slug: 'momentum', name: 'Momentum', parent: 'indicators' },
  { slug: 'trend', name: 'Trend', parent: 'indicators' },
  { slug: 'volume', name: 'Volume', parent: 'indicators' },
  { slug: 'plans', name: 'Plans', parent: null },
  { slug: 'goods', name: 'Goods', parent: null },
  { slug: 'hardware', name: 'Hardware', parent: 'goods' },
  { slug: 'books', name: 'Books', parent: 'goods' },
  { slug: 'apparel', name: 'Apparel', parent: 'goods' },
] as const;

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

export const DEMO_PRODUCTS: DemoProduct[] = [
  { id: id(1), sku: 'IND-RSI-DIV', name: 'RSI Divergence Pro', description: 'Spots regular and hidden RSI divergences on any timeframe.', kind: 'INDICATOR', priceAmount: 4900, currency: 'USD', category: 'momentum', attributes: { platform: 'TradingView', timeframes: ['5m', '1h', '4h'] } },
  { id: id(2), sku: 'IND-MACD-X', name: 'MACD Crossover Alerts', description: 'MACD signal-line crossovers with trend filter and alerts.', kind: 'INDICATOR', priceAmount: 2900, currency: 'USD', category: 'momentum', attributes: { platform: 'TradingView' } },
  { id: id(3), sku: 'IND-STOCH-RSI', name: 'Stochastic RSI Zones', description: 'Overbought and oversold zones from stochastic RSI.', kind: 'INDICATOR', priceAmount: 1900, currency: 'USD', category: 'momentum', attributes: { platform: 'TradingView' } },
  { id: id(4), sku: 'IND-SUPERTREND', name: 'Supertrend Ribbon', description: 'Multi-period supertrend ribbon for trend following.', kind: 'INDICATOR', priceAmount: 3900, currency: 'USD', category: 'trend', attributes: { platform: 'TradingView' } },
  { id: id(5), sku: 'IND-ICHIMOKU', name: 'Ichimoku Cloud Signals', description: 'Kumo breakouts and TK crosses as alerts.', kind: 'INDICATOR', priceAmount: 4500, currency: 'USD', category: 'trend', attributes: { platform: 'TradingView' } },
  { id: id(6), sku: 'IND-ADX-DMI', name: 'ADX DMI Trend Strength', description: 'Trend strength with directional movement crossovers.', kind: 'INDICATOR', priceAmount: 2500, currency: 'USD', category: 'trend', attributes: { platform: 'TradingView' } },
  { id: id(7), sku: 'IND-VWAP-BANDS', name: 'Anchored VWAP Bands', description: 'Anchored VWAP with standard deviation bands.', kind: 'INDICATOR', priceAmount: 3500, currency: 'USD', category: 'volume', attributes: { platform: 'TradingView' } },
  { id: id(8), sku: 'IND-VOL-PROFILE', name: 'Volume Profile Levels', description: 'Point of control and value area levels from volume profile.', kind: 'INDICATOR', priceAmount: 5900, currency: 'USD', category: 'volume', attributes: { platform: 'TradingView' } },
  { id: id(9), sku: 'IND-OBV-DIV', name: 'OBV Divergence Finder', description: 'On-balance volume divergences against price.', kind: 'INDICATOR', priceAmount: 1500, currency: 'USD', category: 'volume', attributes: { platform: 'TradingView' } },
  { id: id(10), sku: 'PLAN-FREE', name: 'Free plan', description: '50 signals a month, standard screenshots.', kind: 'PLAN', priceAmount: 0, currency: 'USD', category: 'plans', attributes: { signalsPerMonth: 50, interval: 'month' } },
  { id: id(11), sku: 'PLAN-PRO', name: 'Pro plan', description: '1,000 signals a month, priority screenshots.', kind: 'PLAN', priceAmount: 1900, currency: 'USD', category: 'plans', attributes: { signalsPerMonth: 1000, interval: 'month' } },
  { id: id(12), sku: 'PLAN-PREMIUM', name: 'Premium plan', description: 'Unlimited signals, first in the screenshot queue.', kind: 'PLAN', priceAmount: 4900, currency: 'USD', category: 'plans', attributes: { signalsPerMonth: 100000, interval: 'month' } },
  { id: id(13), sku: 'PLAN-PRO-YEAR', name: 'Pro plan, yearly', description: 'The Pro plan billed yearly.', kind: 'PLAN', priceAmount: 19000, currency: 'USD', category: 'plans', attributes: { signalsPerMonth: 1000, interval: 'year' } },
  { id: id(14), sku: 'GOOD-HW-WALLET', name: 'Hardware Wallet', description: 'Cold storage for your keys, USB-C.', kind: 'GOOD', priceAmount: 7900, currency: 'USD', category: 'hardware', attributes: { weightGrams: 35 }, stock: { onHand: 120, lowStockThreshold: 10 } },
  { id: id(15), sku: 'GOOD-MACRO-PAD', name: 'Trading Macro Pad', description: 'Twelve programmable keys for order hotkeys.', kind: 'GOOD', priceAmount: 6900, currency: 'USD', category: 'hardware', attributes: { keys: 12 }, stock: { onHand: 40, lowStockThreshold: 5 } },
  { id: id(16), sku: 'GOOD-MONITOR-ARM', name: 'Triple Monitor Arm', description: 'Holds three screens for charts.', kind: 'GOOD', priceAmount: 14900, currency: 'USD', category: 'hardware', attributes: { screens: 3 }, stock: { onHand: 15, lowStockThreshold: 3 } },
  { id: id(17), sku: 'GOOD-BOOK-TA', name: 'Technical Analysis Handbook', description: 'Charts, patterns and indicators explained.', kind: 'GOOD', priceAmount: 3900, currency: 'USD', category: 'books', attributes: { pages: 480 }, stock: { onHand: 200, lowStockThreshold: 20 } },
  { id: id(18), sku: 'GOOD-BOOK-RISK', name: 'Risk Management for Traders', description: 'Position sizing, drawdown and expectancy.', kind: 'GOOD', priceAmount: 2900, currency: 'USD', category: 'books', attributes: { pages: 320 }, stock: { onHand: 8, lowStockThreshold: 10 } },
  { id: id(19), sku: 'GOOD-HOODIE', name: 'HODL Hoodie', description: 'Heavyweight cotton hoodie.', kind: 'GOOD', priceAmount: 5500, currency: 'USD', category: 'apparel', attributes: { sizes: ['S', 'M', 'L', 'XL'] }, stock: { onHand: 60, lowStockThreshold: 10 } },
  { id: id(20), sku: 'GOOD-MUG', name: 'Candlestick Mug', description: 'A mug with a green candle on it.', kind: 'GOOD', priceAmount: 1800, currency: 'USD', category: 'apparel', attributes: { volumeMl: 350 }, stock: { onHand: 0, lowStockThreshold: 5 } },
];
