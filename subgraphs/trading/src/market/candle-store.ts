import type { EntityManager } from '../../../kit/src';
import type { Candle } from './market-feed';
import { bucketStart, ROLLUPS, TIMEFRAMES, type Timeframe } from './timeframes';

/** Rows per multi-row insert: 9 parameters each stays far below Postgres' 65535. */
const CHUNK = 1_000;

const UPSERT_SET = `"close_time" = excluded."close_time", "open" = excluded."open", "high" = excluded."high",
  "low" = excluded."low", "close" = excluded."close", "volume" = excluded."volume"`;

/** Writes candles of one timeframe; a candle already stored for (symbol, timeframe, open time) is replaced. */
export async function upsertCandles(em: EntityManager, timeframe: Timeframe, candles: readonly Candle[]): Promise<void> {
  for (let start = 0; start < candles.length; start += CHUNK) {
    const chunk = candles.slice(start, start + CHUNK);
    const params: unknown[] = [];
    const rows = chunk.map((candle) => {
      params.push(candle.symbol, timeframe, new Date(candle.openTime), new Date(candle.closeTime), candle.open, candle.high, candle.low, candle.close, candle.volume);
      return '(?, ?, ?, ?, ?, ?, ?, ?, ?)';
    });
    await em.execute(
      `insert into "candle" ("symbol", "timeframe", "open_time", "close_time", "open", "high", "low", "close", "volume")
       values ${rows.join(', ')}
       on conflict ("symbol", "timeframe", "open_time") do update set ${UPSERT_SET}`,
      params,
      'run',
    );
  }
}

/**
 * Recomputes the longer candles that contain `changed` candles of `timeframe`, from the stored
 * shorter ones (5m, 15m, 1h from 1m; 4h, 1d from 1h), open ones included: after each closed
 * minute the 1h candle of that hour holds every minute so far. Computing from stored rows keeps
 * the result right across restarts and replicas.
 */
export async function rollUpCandles(em: EntityManager, timeframe: Timeframe, changed: readonly Pick<Candle, 'symbol' | 'openTime'>[]): Promise<void> {
  const touched = new Map<Timeframe, Map<number, Set<string>>>();
  const own = new Map<number, Set<string>>();
  for (const candle of changed) {
    const symbols = own.get(candle.openTime) ?? new Set<string>();
    symbols.add(candle.symbol);
    own.set(candle.openTime, symbols);
  }
  touched.set(timeframe, own);
  for (const rollup of ROLLUPS) {
    const sources = touched.get(rollup.from);
    if (!sources) continue;
    const targets = new Map<number, Set<string>>();
    for (const [openTime, symbols] of sources) {
      const bucket = bucketStart(openTime, rollup.timeframe);
      const set = targets.get(bucket) ?? new Set<string>();
      for (const symbol of symbols) set.add(symbol);
      targets.set(bucket, set);
    }
    for (const [bucket, symbols] of targets) {
      const list = [...symbols];
      const open = new Date(bucket);
      const close = new Date(bucket + TIMEFRAMES[rollup.timeframe]);
      await em.execute(
        `insert into "candle" ("symbol", "timeframe", "open_time", "close_time", "open", "high", "low", "close", "volume")
         select "symbol", ?::varchar, ?::timestamptz, ?::timestamptz,
                (array_agg("open" order by "open_time"))[1], max("high"), min("low"),
                (array_agg("close" order by "open_time" desc))[1], sum("volume")
         from "candle"
         where "timeframe" = ? and "open_time" >= ? and "open_time" < ? and "symbol" in (${list.map(() => '?').join(', ')})
         group by "symbol"
         on conflict ("symbol", "timeframe", "open_time") do update set ${UPSERT_SET}`,
        [rollup.timeframe, open, close, rollup.from, open, close, ...list],
        'run',
      );
    }
    touched.set(rollup.timeframe, targets);
  }
}

/** Stores candles of `timeframe` and rolls them up into the longer timeframes, in one transaction. */
export async function recordCandles(em: EntityManager, timeframe: Timeframe, candles: readonly Candle[]): Promise<void> {
  if (candles.length === 0) return;
  await em.transactional(async (tx) => {
    await upsertCandles(tx, timeframe, candles);
    await rollUpCandles(tx, timeframe, candles);
  });
}
