import { Migration } from '@mikro-orm/migrations';
import { OUTBOX_DDL } from '../../../kit/src';

/** Instruments, their candles and the outbox. */
export class Migration0001Init extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "instrument" (
      "symbol" varchar(40) not null,
      "base" varchar(20) not null,
      "quote" varchar(20) not null,
      "exchange" varchar(40) not null,
      "last_price" numeric not null,
      "change24h" numeric null,
      "volume24h" numeric null,
      "price_decimals" int not null,
      "amount_decimals" int not null,
      "volatility" numeric not null,
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      constraint "instrument_pkey" primary key ("symbol"),
      constraint "instrument_last_price_check" check ("last_price" > 0),
      constraint "instrument_volume24h_check" check ("volume24h" >= 0),
      constraint "instrument_decimals_check" check ("price_decimals" between 0 and 18 and "amount_decimals" between 0 and 18),
      constraint "instrument_volatility_check" check ("volatility" >= 0)
    );`);
    this.addSql(`create table "candle" (
      "symbol" varchar(40) not null,
      "timeframe" varchar(3) not null,
      "open_time" timestamptz not null,
      "close_time" timestamptz not null,
      "open" numeric not null,
      "high" numeric not null,
      "low" numeric not null,
      "close" numeric not null,
      "volume" numeric not null,
      constraint "candle_pkey" primary key ("symbol", "timeframe", "open_time"),
      constraint "candle_symbol_fk" foreign key ("symbol") references "instrument" ("symbol") on delete cascade,
      constraint "candle_timeframe_check" check ("timeframe" in ('1m', '5m', '15m', '1h', '4h', '1d')),
      constraint "candle_range_check" check ("close_time" > "open_time" and "low" <= "high" and "volume" >= 0)
    );`);
    for (const statement of OUTBOX_DDL) this.addSql(statement);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists "outbox";');
    this.addSql('drop table if exists "candle";');
    this.addSql('drop table if exists "instrument";');
  }
}
