import { Migration } from '@mikro-orm/migrations';

/**
 * `signals_ingest_batch` replaces `signals_ingest`: the webhook's write for many deliveries in one
 * transaction (one commit, one round trip), so concurrent alerts share a WAL flush.
 *
 * Per delivery (`p_deliveries`: [{ key (hex), endpointId, userId, month, limit, signals, events }],
 * keys distinct): claim the dedup key (a live claim means a retry: the signals of the first
 * delivery), count the month's usage against the plan's limit (over it: give the claim back),
 * then insert the signals and SignalReceived events of every delivery that fitted.
 *
 * Locks are taken in one global order, so concurrent batches (of this process or of replicas)
 * cannot deadlock: every dedup key of the batch by key, then usage rows by user and month. A
 * transaction that holds a usage row never waits for a dedup key.
 */
export class Migration0003IngestBatch extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create function "signals_ingest_batch"(p_deliveries jsonb, p_window_seconds int, p_source varchar)
    returns table ("r_index" int, "r_outcome" text, "r_signal_ids" uuid[], "r_used" int) language plpgsql as $$
    declare
      v_created boolean[] := array_fill(false, array[jsonb_array_length(p_deliveries)]);
      v_skipped boolean[] := array_fill(false, array[jsonb_array_length(p_deliveries)]);
      v_delivery record;
      v_ids uuid[];
      v_claimed bytea;
      v_used int;
    begin
      for v_delivery in
        select d."doc", d."index"::int as "index", decode(d."doc" ->> 'key', 'hex') as "key"
          from jsonb_array_elements(p_deliveries) with ordinality as d("doc", "index") order by 3
      loop
        v_ids := array(select (s ->> 'id')::uuid from jsonb_array_elements(v_delivery."doc" -> 'signals') as s);
        insert into "alert_dedup" as a ("key", "endpoint_id", "signal_ids", "expires_at")
          values (v_delivery."key", (v_delivery."doc" ->> 'endpointId')::uuid, v_ids, now() + make_interval(secs => p_window_seconds))
          on conflict ("key") do update set "signal_ids" = excluded."signal_ids", "expires_at" = excluded."expires_at"
            where a."expires_at" <= now()
          returning a."key" into v_claimed;
        if v_claimed is null then
          v_skipped[v_delivery."index"] := true;
          return query select v_delivery."index", 'DUPLICATE'::text, a."signal_ids", null::int from "alert_dedup" a where a."key" = v_delivery."key";
        end if;
      end loop;

      for v_delivery in
        select d."doc", d."index"::int as "index", decode(d."doc" ->> 'key', 'hex') as "key", d."doc" ->> 'userId' as "user_id",
               (d."doc" ->> 'month')::date as "month", (d."doc" ->> 'limit')::int as "limit", jsonb_array_length(d."doc" -> 'signals') as "count"
          from jsonb_array_elements(p_deliveries) with ordinality as d("doc", "index") order by 4, 5, 2
      loop
        continue when v_skipped[v_delivery."index"];
        v_used := null;
        insert into "signal_usage" as u ("user_id", "month", "count")
          select v_delivery."user_id", v_delivery."month", v_delivery."count" where v_delivery."count" <= v_delivery."limit"
          on conflict ("user_id", "month") do update set "count" = u."count" + excluded."count"
            where u."count" + excluded."count" <= v_delivery."limit"
          returning u."count" into v_used;
        if v_used is null then
          delete from "alert_dedup" where "key" = v_delivery."key";
          return query select v_delivery."index", 'QUOTA_EXCEEDED'::text, null::uuid[],
            coalesce((select u."count" from "signal_usage" u where u."user_id" = v_delivery."user_id" and u."month" = v_delivery."month"), 0);
        else
          v_created[v_delivery."index"] := true;
          return query select v_delivery."index", 'CREATED'::text,
            array(select (s ->> 'id')::uuid from jsonb_array_elements(v_delivery."doc" -> 'signals') as s), v_used;
        end if;
      end loop;

      insert into "signal" ("id", "user_id", "endpoint_id", "indicator", "ticker", "exchange", "symbol", "price", "signal_type", "action",
                            "timeframe", "chart_id", "take_profit", "stop_loss", "quantity", "alert_time", "extra", "message", "received_at")
        select s."id", d."doc" ->> 'userId', (d."doc" ->> 'endpointId')::uuid, s."indicator", s."ticker", s."exchange", s."symbol", s."price",
               s."signal_type", s."action", s."timeframe", s."chart_id", s."take_profit", s."stop_loss", s."quantity", s."alert_time", s."extra",
               s."message", s."received_at"
          from jsonb_array_elements(p_deliveries) with ordinality as d("doc", "index"),
               jsonb_to_recordset(d."doc" -> 'signals') as s("id" uuid, "indicator" varchar, "ticker" varchar, "exchange" varchar, "symbol" varchar,
                 "price" numeric, "signal_type" varchar, "action" varchar, "timeframe" varchar, "chart_id" varchar, "take_profit" numeric,
                 "stop_loss" numeric, "quantity" varchar, "alert_time" timestamptz, "extra" jsonb, "message" text, "received_at" timestamptz)
         where v_created[d."index"];
      insert into "outbox" ("id", "type", "version", "occurred_at", "source", "subject", "data")
        select e."id", e."type", 1, e."occurred_at", p_source, e."subject", e."data"
          from jsonb_array_elements(p_deliveries) with ordinality as d("doc", "index"),
               jsonb_to_recordset(d."doc" -> 'events') as e("id" uuid, "type" varchar, "occurred_at" timestamptz, "subject" varchar, "data" jsonb)
         where v_created[d."index"];
    end;
    $$;`);
    this.addSql(`drop function "signals_ingest"(bytea, int, uuid, varchar, date, int, jsonb, jsonb, varchar);`);
  }
}
