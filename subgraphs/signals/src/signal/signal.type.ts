import { Directive, Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { PageInfo } from '../shared/connection.type';
import type { ScreenshotStatusValue, SignalEntity, SignalResultValue } from './signal.entity';

export enum SignalResult {
  PENDING = 'PENDING',
  WIN = 'WIN',
  LOSS = 'LOSS',
  SKIP = 'SKIP',
}
registerEnumType(SignalResult, {
  name: 'SignalResult',
  description: 'PENDING until the price feed touches the take-profit (WIN) or stop-loss (LOSS), or the owner marks it.',
  valuesConfig: { SKIP: { description: 'Marked by the owner as not taken.' } },
});

export enum ScreenshotStatus {
  PENDING = 'PENDING',
  READY = 'READY',
  FAILED = 'FAILED',
}
registerEnumType(ScreenshotStatus, { name: 'ScreenshotStatus' });

export enum SignalAction {
  BUY = 'BUY',
  SELL = 'SELL',
  CLOSE = 'CLOSE',
  NONE = 'NONE',
}
registerEnumType(SignalAction, {
  name: 'SignalAction',
  valuesConfig: { CLOSE: { description: 'Close or reduce a position (either side).' }, NONE: { description: 'The alert only informs.' } },
});

@ObjectType('SignalScreenshot', { description: 'The chart at the moment the alert arrived, taken by a headless Chromium.' })
export class SignalScreenshot {
  @Field(() => ScreenshotStatus)
  status!: ScreenshotStatus;

  @Field(() => String, { nullable: true, description: 'A signed, expiring URL of the PNG; set when READY.' })
  url!: string | null;

  @Field(() => String, { nullable: true, description: 'Why there is no screenshot; set when FAILED.' })
  error!: string | null;
}

/** A signal; `screenshot`, `endpoint`, `user` and `instrument` are field resolvers. */
@ObjectType('Signal', { description: 'A TradingView alert received on one of the owner\'s webhook endpoints. Only its owner sees it. Prices are decimal strings.' })
@Directive('@key(fields: "id")')
export class Signal {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true, description: 'The indicator or strategy that fired, from the alert or the endpoint\'s default.' })
  indicator!: string | null;

  @Field(() => String, { description: 'The ticker as sent, e.g. BINANCE:BTCUSDT.' })
  ticker!: string;

  @Field(() => String, { nullable: true, description: 'e.g. BINANCE.' })
  exchange!: string | null;

  @Field(() => String, { description: 'ccxt unified symbol, e.g. BTC/USDT (a perpetual: BTC/USDT:USDT).' })
  symbol!: string;

  @Field(() => String, { nullable: true, description: 'The price the alert reported.' })
  price!: string | null;

  @Field(() => String, { nullable: true, description: 'What happened, as the alert words it, e.g. Bullish divergence.' })
  signalType!: string | null;

  @Field(() => SignalAction)
  action!: SignalAction;

  @Field(() => String, { nullable: true, description: 'Chart timeframe, e.g. 15m.' })
  timeframe!: string | null;

  @Field(() => String, { nullable: true, description: 'The TradingView chart layout id, when the alert names one.' })
  chartId!: string | null;

  @Field(() => String, { nullable: true, description: 'Take-profit price (a percent in the alert or the endpoint\'s default is turned into a price from `price`).' })
  takeProfit!: string | null;

  @Field(() => String, { nullable: true, description: 'Stop-loss price.' })
  stopLoss!: string | null;

  @Field(() => String, { nullable: true, description: 'Quantity as sent (e.g. "0.1" or "50%").' })
  quantity!: string | null;

  @Field(() => Date, { nullable: true, description: 'When TradingView says the alert fired.' })
  alertTime!: Date | null;

  @Field(() => String, { nullable: true, description: 'Free text the alert carried.' })
  message!: string | null;

  @Field(() => Date, { description: 'When the webhook stored it.' })
  receivedAt!: Date;

  @Field(() => SignalResult)
  result!: SignalResult;

  @Field(() => String, { nullable: true, description: 'The price that resolved the signal.' })
  exitPrice!: string | null;

  @Field(() => String, { nullable: true, description: 'Percent of the entry price won (positive) or lost (negative), a decimal string.' })
  profitLoss!: string | null;

  @Field(() => String, { nullable: true })
  notes!: string | null;

  @Field(() => Date, { nullable: true })
  resolvedAt!: Date | null;

  /** Not fields: for the field resolvers and access checks. */
  userId!: string;
  endpointId!: string;
  screenshotStatus!: ScreenshotStatusValue;
  screenshotFile!: string | null;
  screenshotError!: string | null;
}

@ObjectType('SignalEdge')
export class SignalEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Signal)
  node!: Signal;
}

@ObjectType('SignalConnection', { description: 'Newest first.' })
export class SignalConnection {
  @Field(() => [SignalEdge])
  edges!: SignalEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

/**
 * DESIGN.md gives `SignalStats` to analytics, which does not exist yet; signals answers it from its
 * own tables until then (the figures are all signals' own data).
 */
@ObjectType('SignalStats', { description: 'The viewer\'s signal figures.' })
export class SignalStats {
  @Field(() => Int, { description: 'Every signal received.' })
  total!: number;

  @Field(() => Int, { description: 'Signals received this calendar month (UTC); what the quota counts.' })
  thisMonth!: number;

  @Field(() => Int, { description: 'Signals whose screenshot is still being taken.' })
  screenshotsPending!: number;

  @Field(() => Int)
  wins!: number;

  @Field(() => Int)
  losses!: number;

  @Field(() => String, { nullable: true, description: 'WIN / (WIN + LOSS) in percent, a decimal string; null before anything resolved.' })
  winRate!: string | null;

  @Field(() => String, { description: 'The plan the quota comes from: free, pro or premium.' })
  plan!: string;

  @Field(() => Int, { description: 'Signals the plan allows per calendar month.' })
  monthlyQuota!: number;

  @Field(() => Date, { description: 'When this month\'s count starts again from zero.' })
  quotaResetsAt!: Date;
}

export function toSignal(entity: SignalEntity): Signal {
  return Object.assign(new Signal(), {
    id: entity.id,
    indicator: entity.indicator,
    ticker: entity.ticker,
    exchange: entity.exchange,
    symbol: entity.symbol,
    price: plain(entity.price),
    signalType: entity.signalType,
    action: entity.action as SignalAction,
    timeframe: entity.timeframe,
    chartId: entity.chartId,
    takeProfit: plain(entity.takeProfit),
    stopLoss: plain(entity.stopLoss),
    quantity: entity.quantity,
    alertTime: entity.alertTime,
    message: entity.message,
    receivedAt: entity.receivedAt,
    result: entity.result as SignalResultValue as SignalResult,
    exitPrice: plain(entity.exitPrice),
    profitLoss: plain(entity.profitLoss),
    notes: entity.notes,
    resolvedAt: entity.resolvedAt,
    userId: entity.userId,
    endpointId: entity.endpointId,
    screenshotStatus: entity.screenshotStatus,
    screenshotFile: entity.screenshotFile,
    screenshotError: entity.screenshotError,
  });
}

/** Postgres numeric as a plain decimal string without trailing zeros. */
export function plain(value: string | number | null): string | null {
  if (value === null || value === undefined) return null;
  const text = String(value);
  if (!text.includes('.')) return text;
  const trimmed = text.replace(/0+$/, '');
  return trimmed.endsWith('.') ? trimmed.slice(0, -1) : trimmed;
}
