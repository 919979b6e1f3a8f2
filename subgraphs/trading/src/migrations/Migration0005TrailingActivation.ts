import { Migration } from '@mikro-orm/migrations';

/**
 * A trailing stop's activation price: it starts trailing once the price reaches it. The column is
 * last, so `trade_change_apply`'s `insert ... select * from jsonb_populate_recordset` takes it as is.
 */
export class Migration0005TrailingActivation extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "trade_order" add column "activation_price" numeric null;`);
  }
}
