import { Migration } from '@mikro-orm/migrations';

/**
 * The webhook keeps the endpoints it served in memory (IngestStore), so an alert costs one round
 * trip instead of two. `signals_endpoint_state` fingerprints everything the webhook reads about an
 * endpoint (its row, the owner's plan and TradingView session); each delivery carries the
 * fingerprint it was judged on, and `signals_ingest_batch` answers `STALE`, writing nothing, when
 * it no longer matches: the webhook then judges the alert again on a fresh lookup. A revoked,
 * rotated, changed or deleted endpoint is therefore never accepted from memory. Each SignalReceived
 * now also keeps the `traceparent` of the request that received its alert.
 */
export class Migration0006EndpointState extends Migration {
  override async up(): Promise<void> {
    // PL/pgSQL keeps the plan of its query for the session; a SQL function's would be made again in every statement that calls it.
    this.addSql(`create function "signals_endpoint_state"(p_endpoint_id uuid) returns text language plpgsql stable as $$
    declare
      v_state text;
    begin
      select md5(e::text || '|' || coalesce(p."plan", 'free') || '|' || coalesce(t::text, '')) into v_state
        from "webhook_endpoint" e left join "user_plan" p on p."user_id" = e."user_id"
             left join "tradingview_session" t on t."user_id" = e."user_id"
       where e."id" = p_endpoint_id;
      return v_state;
    end;
    $$;`);
    this.addSql(`create or replace function "signals_ingest_batch"(p_deliveries jsonb, p_window_seconds int, p_source varchar)
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
        if "signals_endpoint_state"((v_delivery."doc" ->> 'endpointId')::uuid) is distinct from v_delivery."doc" ->> 'endpointState' then
          v_skipped[v_delivery."index"] := true;
          return query select v_delivery."index", 'STALE'::text, null::uuid[], null::int;
          continue;
        end if;
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
      insert into "outbox" ("id", "type", "version", "occurred_at", "source", "subject", "data", "traceparent")
        select e."id", e."type", 1, e."occurred_at", p_source, e."subject", e."data", e."traceparent"
          from jsonb_array_elements(p_deliveries) with ordinality as d("doc", "index"),
               jsonb_to_recordset(d."doc" -> 'events') as e("id" uuid, "type" varchar, "occurred_at" timestamptz, "subject" varchar, "data" jsonb, "traceparent" varchar)
         where v_created[d."index"];
    end;
    $$;`);
  }
}
