import { Migration } from '@mikro-orm/migrations';
import { OUTBOX_DDL } from '../../../kit/src';

export class Migration0001Init extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "users" (
      "id" uuid not null,
      "email" varchar(254) not null,
      "password_hash" text not null,
      "name" varchar(100) not null,
      "role" varchar(20) not null default 'CUSTOMER',
      "created_at" timestamptz not null,
      "updated_at" timestamptz not null,
      "failed_login_count" int not null default 0,
      "locked_until" timestamptz null,
      "totp_secret" text null,
      "totp_enabled" boolean not null default false,
      "totp_last_step" int null,
      constraint "users_pkey" primary key ("id"),
      constraint "users_email_unique" unique ("email"),
      constraint "users_email_lowercase" check ("email" = lower("email")),
      constraint "users_role_check" check ("role" in ('CUSTOMER', 'TRADER', 'ADMIN', 'PARTNER')),
      constraint "users_totp_enabled_has_secret" check (not "totp_enabled" or "totp_secret" is not null)
    );`);
    this.addSql(`create table "refresh_token" (
      "id" uuid not null,
      "user_id" uuid not null references "users" ("id") on delete cascade,
      "family_id" uuid not null,
      "token_hash" varchar(64) not null,
      "created_at" timestamptz not null,
      "expires_at" timestamptz not null,
      "used_at" timestamptz null,
      "revoked_at" timestamptz null,
      constraint "refresh_token_pkey" primary key ("id"),
      constraint "refresh_token_token_hash_unique" unique ("token_hash")
    );`);
    this.addSql('create index "refresh_token_user_id_index" on "refresh_token" ("user_id");');
    this.addSql('create index "refresh_token_family_id_index" on "refresh_token" ("family_id");');
    for (const statement of OUTBOX_DDL) this.addSql(statement);
  }
}
