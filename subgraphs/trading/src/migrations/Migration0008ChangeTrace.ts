import { Migration } from '@mikro-orm/migrations';

/**
 * `trade_change_apply` as Migration0003OrderWrites wrote it, except that each outbox event keeps
 * the `traceparent` the change gives it (the span of the request or trigger that made the change),
 * so the consumers of TradeOrderUpdated and FillExecuted continue that trace.
 */
export class Migration0008ChangeTrace extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create or replace function "trade_change_apply"(p_change jsonb) returns void language plpgsql as $$
    declare
      v_at timestamptz := (p_change ->> 'at')::timestamptz;
      v_expected int;
      v_count int;
      v_delta record;
      v_fill record;
      v_held numeric;
      v_cost numeric;
      v_covered numeric;
      v_cost_out numeric;
    begin
      v_expected := jsonb_array_length(p_change -> 'updated');
      if v_expected > 0 then
        update "trade_order" o set
          "status" = v."status", "filled_quantity" = v."filled_quantity", "average_price" = v."average_price", "fee_total" = v."fee_total",
          "reason" = v."reason", "execution" = v."execution", "trigger_state" = v."trigger_state", "reserved_asset" = v."reserved_asset",
          "reserved_amount" = v."reserved_amount", "exchange_order_id" = v."exchange_order_id", "triggered_at" = v."triggered_at",
          "trigger_tick_at" = v."trigger_tick_at", "updated_at" = v."updated_at", "closed_at" = v."closed_at", "version" = o."version" + 1
        from jsonb_populate_recordset(null::"trade_order", p_change -> 'updated') v
        where o."id" = v."id" and o."version" = v."version";
        get diagnostics v_count = row_count;
        if v_count <> v_expected then
          raise exception using errcode = 'TR005', message = format('%s of %s trade orders were at another version', v_expected - v_count, v_expected);
        end if;
      end if;

      v_expected := jsonb_array_length(p_change -> 'created');
      if v_expected > 0 then
        insert into "trade_order" select * from jsonb_populate_recordset(null::"trade_order", p_change -> 'created')
          on conflict ("user_id", "client_order_id") do nothing;
        get diagnostics v_count = row_count;
        if v_count <> v_expected then
          raise exception using errcode = 'TR001', message = 'client order id taken';
        end if;
      end if;

      if jsonb_array_length(p_change -> 'fills') > 0 then
        insert into "fill" ("id", "order_id", "account_id", "price", "quantity", "fee", "fee_currency", "liquidity", "exchange_trade_id", "executed_at")
          select "id", "order_id", "account_id", "price", "quantity", "fee", "fee_currency", "liquidity", "exchange_trade_id", "executed_at"
            from jsonb_populate_recordset(null::"fill", p_change -> 'fills')
          on conflict ("order_id", "exchange_trade_id") do nothing;
      end if;

      if jsonb_array_length(p_change -> 'history') > 0 then
        insert into "trade_order_history" ("order_id", "status", "filled_quantity", "reason", "at")
          select "order_id", "status", "filled_quantity", "reason", "at" from jsonb_populate_recordset(null::"trade_order_history", p_change -> 'history');
      end if;

      if jsonb_array_length(p_change -> 'events') > 0 then
        insert into "outbox" ("id", "type", "version", "occurred_at", "source", "subject", "data", "traceparent")
          select e."id", e."type", 1, e."occurred_at", p_change ->> 'source', e."subject", e."data", e."traceparent"
            from jsonb_to_recordset(p_change -> 'events') as e("id" uuid, "type" varchar, "occurred_at" timestamptz, "subject" varchar, "data" jsonb, "traceparent" varchar);
      end if;

      for v_delta in
        select * from jsonb_to_recordset(p_change -> 'balances') as d("account_id" uuid, "asset" varchar, "free" numeric, "locked" numeric)
         order by d."account_id", d."asset"
      loop
        update "paper_balance" b set "free" = b."free" + v_delta."free", "locked" = b."locked" + v_delta."locked", "updated_at" = v_at
         where b."account_id" = v_delta."account_id" and b."asset" = v_delta."asset"
           and b."free" + v_delta."free" >= 0 and b."locked" + v_delta."locked" >= 0;
        if not found then
          -- No row, or not enough on it: a debit fails; a credit creates the row (or adds to one created meanwhile).
          if v_delta."free" < 0 or v_delta."locked" < 0 then
            raise exception using errcode = 'TR004', message = 'insufficient balance', detail = v_delta."account_id"::text;
          end if;
          insert into "paper_balance" ("account_id", "asset", "free", "locked", "updated_at")
            values (v_delta."account_id", v_delta."asset", v_delta."free", v_delta."locked", v_at)
            on conflict ("account_id", "asset") do update set "free" = "paper_balance"."free" + excluded."free",
              "locked" = "paper_balance"."locked" + excluded."locked", "updated_at" = excluded."updated_at";
        end if;
      end loop;

      -- Positions at average cost, and the day's realised PnL: a SELL realises proceeds − fee − the cost of what it covers.
      for v_fill in
        select * from rows from (jsonb_to_recordset(p_change -> 'positions')
          as ("account_id" uuid, "symbol" varchar, "side" varchar, "quantity" numeric, "price" numeric, "fee" numeric, "day" date, "at" timestamptz))
          with ordinality as f("account_id", "symbol", "side", "quantity", "price", "fee", "day", "at", "n")
         order by f."n"
      loop
        if v_fill."side" = 'BUY' then
          insert into "account_position" ("account_id", "symbol", "quantity", "cost", "updated_at")
            values (v_fill."account_id", v_fill."symbol", v_fill."quantity", v_fill."quantity" * v_fill."price" + v_fill."fee", v_fill."at")
            on conflict ("account_id", "symbol") do update set "quantity" = "account_position"."quantity" + excluded."quantity",
              "cost" = "account_position"."cost" + excluded."cost", "updated_at" = excluded."updated_at";
          insert into "daily_pnl" ("account_id", "day", "realized", "fees") values (v_fill."account_id", v_fill."day", 0, v_fill."fee")
            on conflict ("account_id", "day") do update set "fees" = "daily_pnl"."fees" + excluded."fees";
        else
          select p."quantity", p."cost" into v_held, v_cost from "account_position" p
           where p."account_id" = v_fill."account_id" and p."symbol" = v_fill."symbol" for update;
          v_held := coalesce(v_held, 0);
          v_covered := least(v_held, v_fill."quantity");
          v_cost_out := case when v_held = 0 then 0 else round(v_cost * v_covered / v_held, 12) end;
          update "account_position" p set "quantity" = p."quantity" - v_covered,
              "cost" = case when p."quantity" - v_covered = 0 then 0 else greatest(p."cost" - v_cost_out, 0) end, "updated_at" = v_fill."at"
           where p."account_id" = v_fill."account_id" and p."symbol" = v_fill."symbol";
          insert into "daily_pnl" ("account_id", "day", "realized", "fees")
            values (v_fill."account_id", v_fill."day", v_covered * v_fill."price" - v_cost_out - v_fill."fee", v_fill."fee")
            on conflict ("account_id", "day") do update set "realized" = "daily_pnl"."realized" + excluded."realized",
              "fees" = "daily_pnl"."fees" + excluded."fees";
        end if;
      end loop;
    end;
    $$;`);
  }
}
