import { Migration } from '@mikro-orm/migrations';
import { OUTBOX_DDL } from '../../../kit/src';
import { INBOX_DDL } from '../../../kit/src/events';

/**
 * Webhook endpoints (token and passphrase stored hashed), signals, the dedup claims of retried
 * alerts, monthly usage per user, users' plans (from PlanChanged), the audit log of refused
 * deliveries, the outbox and the inbox, and `signals_ingest`: the
 * webhook's whole write in one round trip.
 */
export class Migration0001Init extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "webhook_endpoint" (
      "id" uuid not null,
      "user_id" varchar(100) not null,
      "name" varchar(100) not null,
      "token_hash" bytea not null,
      "passphrase_salt" bytea null,
      "passphrase_hash" bytea null,
      "tradingview_ips_only" boolean not null default false,
      "default_exchange" varchar(50) null,
      "default_timeframe" varchar(10) null,
      "default_indicator" varchar(100) null,
      "default_take_profit" varchar(40) null,
      "default_stop_loss" varchar(40) null,
      "created_at" timestamptz(3) not null default now(),
      "token_rotated_at" timestamptz(3) not null default now(),
      "revoked_at" timestamptz(3) null,
      constraint "webhook_endpoint_pkey" primary key ("id"),
      constraint "webhook_endpoint_token_hash_unique" unique ("token_hash"),
      constraint "webhook_endpoint_passphrase_check" check (("passphrase_salt" is null) = ("passphrase_hash" is null))
    );`);
    this.addSql(`create index "webhook_endpoint_user_idx" on "webhook_endpoint" ("user_id", "created_at");`);

    this.addSql(`create table "signal" (
      "id" uuid not null,
      "user_id" varchar(100) not null,
      "endpoint_id" uuid not null,
      "indicator" varchar(200) null,
      "ticker" varchar(100) not null,
      "exchange" varchar(50) null,
      "symbol" varchar(100) not null,
      "price" numeric null,
      "signal_type" varchar(50) null,
      "action" varchar(10) not null,
      "timeframe" varchar(10) null,
      "chart_id" varchar(100) null,
      "take_profit" numeric null,
      "stop_loss" numeric null,
      "quantity" varchar(50) null,
      "alert_time" timestamptz(3) null,
      "extra" jsonb null,
      "message" text null,
      "received_at" timestamptz(3) not null,
      "screenshot_status" varchar(10) not null default 'PENDING',
      "screenshot_file" varchar(300) null,
      "screenshot_error" varchar(500) null,
      "result" varchar(10) not null default 'PENDING',
      "exit_price" numeric null,
      "profit_loss" numeric null,
      "notes" text null,
      "resolved_at" timestamptz(3) null,
      constraint "signal_pkey" primary key ("id"),
      constraint "signal_endpoint_fk" foreign key ("endpoint_id") references "webhook_endpoint" ("id"),
      constraint "signal_action_check" check ("action" in ('BUY', 'SELL', 'CLOSE', 'NONE')),
      constraint "signal_result_check" check ("result" in ('PENDING', 'WIN', 'LOSS', 'SKIP')),
      constraint "signal_screenshot_status_check" check ("screenshot_status" in ('PENDING', 'READY', 'FAILED'))
    );`);
    this.addSql(`create index "signal_user_received_idx" on "signal" ("user_id", "received_at" desc, "id" desc);`);
    this.addSql(`create index "signal_user_symbol_received_idx" on "signal" ("user_id", "symbol", "received_at" desc, "id" desc);`);
    // What the outcome watcher loads at start: open signals it can judge against the price feed.
    this.addSql(`create index "signal_watch_idx" on "signal" ("symbol") where "result" = 'PENDING' and "price" is not null and "take_profit" is not null and "stop_loss" is not null and "action" in ('BUY', 'SELL');`);
    this.addSql(`create index "signal_screenshot_pending_idx" on "signal" ("received_at") where "screenshot_status" = 'PENDING';`);

    // A retried alert claims the same key; a claim older than the window is taken over by a new alert.
    this.addSql(`create table "alert_dedup" (
      "key" bytea not null,
      "endpoint_id" uuid not null,
      "signal_ids" uuid[] not null,
      "expires_at" timestamptz(3) not null,
      constraint "alert_dedup_pkey" primary key ("key")
    );`);
    this.addSql(`create index "alert_dedup_expires_idx" on "alert_dedup" ("expires_at");`);

    this.addSql(`create table "signal_usage" (
      "user_id" varchar(100) not null,
      "month" date not null,
      "count" int not null,
      constraint "signal_usage_pkey" primary key ("user_id", "month"),
      constraint "signal_usage_count_check" check ("count" >= 0)
    );`);

    this.addSql(`create table "user_plan" (
      "user_id" varchar(100) not null,
      "plan" varchar(16) not null,
      "changed_at" timestamptz(3) not null,
      constraint "user_plan_pkey" primary key ("user_id"),
      constraint "user_plan_plan_check" check ("plan" in ('free', 'pro', 'premium'))
    );`);

    this.addSql(`create table "webhook_refusal" (
      "id" uuid not null,
      "endpoint_id" uuid null,
      "user_id" varchar(100) null,
      "status" smallint not null,
      "reason" varchar(40) not null,
      "detail" varchar(500) null,
      "remote_ip" varchar(64) null,
      "content_type" varchar(100) null,
      "body" text null,
      "received_at" timestamptz(3) not null default now(),
      constraint "webhook_refusal_pkey" primary key ("id")
    );`);
    this.addSql(`create index "webhook_refusal_endpoint_idx" on "webhook_refusal" ("endpoint_id", "received_at" desc);`);
    this.addSql(`create index "webhook_refusal_received_idx" on "webhook_refusal" ("received_at" desc);`);

    // No OUTBOX_NOTIFY_DDL: a transaction that NOTIFYs takes a database-wide lock for its commit,
    // which serialized the webhook's commits (no group commit; a third of the throughput at 8 in
    // flight). The relay polls instead (every 250 ms); nothing waits on these events sooner.
    for (const statement of [...OUTBOX_DDL, ...INBOX_DDL]) this.addSql(statement);

    /*
     * One call does the webhook's write: claim the dedup key (a live claim means a retry: answer with
     * the signals of the first delivery), count the month's usage against the plan's limit (over it:
     * give the claim back, nothing else is written), insert the signals and their SignalReceived
     * events. Concurrent retries of one alert queue on the claim's row; the first to commit wins.
     */
    this.addSql(`create function "signals_ingest"(
      p_key bytea, p_window_seconds int, p_endpoint_id uuid, p_user_id varchar, p_month date, p_limit int,
      p_signals jsonb, p_events jsonb, p_source varchar
    ) returns table ("r_outcome" text, "r_signal_ids" uuid[], "r_used" int) language plpgsql as $$
    declare
      v_claimed bytea;
      v_count int := jsonb_array_length(p_signals);
      v_used int;
      v_ids uuid[] := array(select (s ->> 'id')::uuid from jsonb_array_elements(p_signals) as s);
    begin
      insert into "alert_dedup" as d ("key", "endpoint_id", "signal_ids", "expires_at")
        values (p_key, p_endpoint_id, v_ids, now() + make_interval(secs => p_window_seconds))
        on conflict ("key") do update set "signal_ids" = excluded."signal_ids", "expires_at" = excluded."expires_at"
          where d."expires_at" <= now()
        returning d."key" into v_claimed;
      if v_claimed is null then
        return query select 'DUPLICATE'::text, d."signal_ids", null::int from "alert_dedup" d where d."key" = p_key;
        return;
      end if;
      insert into "signal_usage" as u ("user_id", "month", "count")
        select p_user_id, p_month, v_count where v_count <= p_limit
        on conflict ("user_id", "month") do update set "count" = u."count" + excluded."count"
          where u."count" + excluded."count" <= p_limit
        returning u."count" into v_used;
      if v_used is null then
        delete from "alert_dedup" where "key" = p_key;
        return query select 'QUOTA_EXCEEDED'::text, null::uuid[],
          coalesce((select u."count" from "signal_usage" u where u."user_id" = p_user_id and u."month" = p_month), 0);
        return;
      end if;
      insert into "signal" ("id", "user_id", "endpoint_id", "indicator", "ticker", "exchange", "symbol", "price", "signal_type", "action",
                            "timeframe", "chart_id", "take_profit", "stop_loss", "quantity", "alert_time", "extra", "message", "received_at")
        select s."id", p_user_id, p_endpoint_id, s."indicator", s."ticker", s."exchange", s."symbol", s."price", s."signal_type", s."action",
               s."timeframe", s."chart_id", s."take_profit", s."stop_loss", s."quantity", s."alert_time", s."extra", s."message", s."received_at"
          from jsonb_to_recordset(p_signals) as s("id" uuid, "indicator" varchar, "ticker" varchar, "exchange" varchar, "symbol" varchar,
               "price" numeric, "signal_type" varchar, "action" varchar, "timeframe" varchar, "chart_id" varchar, "take_profit" numeric,
               "stop_loss" numeric, "quantity" varchar, "alert_time" timestamptz, "extra" jsonb, "message" text, "received_at" timestamptz);
      insert into "outbox" ("id", "type", "version", "occurred_at", "source", "subject", "data")
        select e."id", e."type", 1, e."occurred_at", p_source, e."subject", e."data"
          from jsonb_to_recordset(p_events) as e("id" uuid, "type" varchar, "occurred_at" timestamptz, "subject" varchar, "data" jsonb);
      return query select 'CREATED'::text, v_ids, v_used;
    end;
    $$;`);
  }
}
