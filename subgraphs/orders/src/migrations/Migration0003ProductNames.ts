import { Migration } from '@mikro-orm/migrations';

/** Product names from catalog's ProductChanged, kept on each order line at checkout (for the buyer's mail). */
export class Migration0003ProductNames extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table "product_snapshot" add column "name" varchar(200) null;');
    this.addSql('alter table "order_line" add column "name" varchar(200) null;');
  }

  override async down(): Promise<void> {
    this.addSql('alter table "order_line" drop column if exists "name";');
    this.addSql('alter table "product_snapshot" drop column if exists "name";');
  }
}
