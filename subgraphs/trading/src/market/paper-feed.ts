import { EventEmitter } from 'node:events';
import { Decimal } from 'decimal.js';
import { CandleAggregator } from './candle-aggregator';
import type { Candle, MarketFeed, MarketFeedEvents, Tick } from './market-feed';

const YEAR_MS = 365 * 24 * 60 * 60_000;
const DAY_MS = 24 * 60 * 60_000;

/** What the simulation needs to know about an instrument. */
export interface PaperInstrument {
  symbol: string;
  /** Starting price, a decimal string. */
  price: string;
  /** Annualised volatility as a fraction (`0.6` = 60 %): how far the random walk wanders. */
  volatility: string;
  /** Prices are rounded to this many decimals (the tick size). */
  priceDecimals: number;
  /** Volumes are rounded to this many decimals (the lot size). */
  amountDecimals: number;
  /** Typical base volume traded in 24 h; each tick trades its share of it on average. */
  dailyVolume: string;
}

export interface PaperFeedOptions {
  instruments: readonly PaperInstrument[];
  /** Seed of the pseudo-random generator: the same seed and tick times give the same ticks. */
  seed: number;
  /** Milliseconds between ticks when started (default 250). */
  tickMs?: number;
  /** Time source, ms since the epoch (default Date.now). */
  clock?: () => number;
  /** Tick every `tickMs` once started (default true). False: the owner calls `tick(time)`, as tests do. */
  autoTick?: boolean;
  /** Recent closed one-minute candles, so 24 h change and volume continue across restarts. */
  history?: readonly Candle[];
}

/** mulberry32: a small, fast 32-bit generator; good enough for a simulation, fully reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SymbolState {
  instrument: PaperInstrument;
  volatility: number;
  dailyVolume: Decimal;
  /** The unrounded simulated price; the published price is this rounded to the tick size. */
  fair: Decimal;
  /** The tick size: no price goes below it. */
  minimum: Decimal;
  lastTime: number | null;
  candles: CandleAggregator;
}

/**
 * A simulated market for running offline: each instrument follows a geometric random walk
 * (zero drift, its own volatility), with random volume around its typical daily volume. Every
 * tick moves every instrument and emits a `tick` per instrument; when a minute turns it emits the
 * closed one-minute `candle`. Deterministic: the walk depends only on the seed and the tick times.
 */
export class PaperFeed implements MarketFeed {
  readonly kind = 'paper' as const;
  readonly exchange = 'paper';
  readonly events = new EventEmitter<MarketFeedEvents>();
  private readonly random: () => number;
  private readonly states: SymbolState[];
  private readonly tickMs: number;
  private readonly clock: () => number;
  private readonly autoTick: boolean;
  private started = false;
  private timer: NodeJS.Timeout | null = null;
  private spareGaussian: number | null = null;

  constructor(options: PaperFeedOptions) {
    this.random = seededRandom(options.seed);
    this.tickMs = options.tickMs ?? 250;
    this.clock = options.clock ?? Date.now;
    this.autoTick = options.autoTick ?? true;
    this.states = options.instruments.map((instrument) => ({
      instrument,
      volatility: Number(instrument.volatility),
      dailyVolume: new Decimal(instrument.dailyVolume),
      fair: new Decimal(instrument.price),
      minimum: new Decimal(10).pow(-instrument.priceDecimals),
      lastTime: null,
      candles: new CandleAggregator(instrument.symbol, options.history ?? []),
    }));
  }

  get symbols(): string[] {
    return this.states.map((state) => state.instrument.symbol);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.events.emit('status', { state: 'live', session: 1, mode: 'paper' });
    if (this.autoTick) this.timer = setInterval(() => this.tick(), this.tickMs);
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.events.emit('status', { state: 'stopped', session: 1 });
  }

  /**
   * Moves every instrument one step to `time` (default: the clock) and emits the ticks, plus the
   * one-minute candles the step closed. Returns the ticks.
   */
  tick(time: number = this.clock()): Tick[] {
    const ticks: Tick[] = [];
    const closed: Candle[] = [];
    for (const state of this.states) {
      const { instrument } = state;
      const elapsed = state.lastTime === null ? this.tickMs : Math.max(0, time - state.lastTime);
      state.lastTime = time;
      // ln(P1/P0) ~ N(-σ²t/2, σ²t): a martingale, so prices neither drift up nor down on average.
      const sigma = state.volatility * Math.sqrt(elapsed / YEAR_MS);
      const factor = Math.exp(sigma * this.gaussian() - (sigma * sigma) / 2);
      state.fair = state.fair.times(factor.toPrecision(15));
      const rounded = state.fair.toDecimalPlaces(instrument.priceDecimals, Decimal.ROUND_HALF_EVEN);
      const price = rounded.lessThan(state.minimum) ? state.minimum : rounded;
      // Exponentially distributed volume whose mean is this step's share of the daily volume.
      const share = -Math.log(1 - this.random());
      const volume = state.dailyVolume
        .times(elapsed)
        .div(DAY_MS)
        .times(share.toPrecision(15))
        .toDecimalPlaces(instrument.amountDecimals, Decimal.ROUND_DOWN);
      const candle = state.candles.add(price, volume, time);
      if (candle) closed.push(candle);
      const stats = state.candles.stats();
      ticks.push({
        symbol: instrument.symbol,
        exchange: this.exchange,
        lastPrice: price.toFixed(),
        change24h: stats.change24h,
        volume24h: new Decimal(stats.volume24h).toDecimalPlaces(instrument.amountDecimals, Decimal.ROUND_DOWN).toFixed(),
        timestamp: time,
      });
    }
    for (const candle of closed) this.events.emit('candle', candle);
    for (const tick of ticks) this.events.emit('tick', tick);
    return ticks;
  }

  /** Standard normal draws by Box–Muller, using both values of each pair. */
  private gaussian(): number {
    if (this.spareGaussian !== null) {
      const spare = this.spareGaussian;
      this.spareGaussian = null;
      return spare;
    }
    const u = 1 - this.random();
    const v = this.random();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spareGaussian = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }
}
