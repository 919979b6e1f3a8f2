import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { CredentialKeyring } from '../../../kit/src/secrets';
import { resealSessionCookies } from './session.cookies';

/**
 * Re-seals up to `limit` sessions sealed under an older key of SECRETS_KEYS with the current one
 * (rotation: once none is left, the old key can be removed). A session that cannot be opened (its
 * key is gone) stays as it is, and is reported. Returns true once nothing more can be re-sealed.
 */
export async function resealTradingViewSessions(orm: MikroORM, keyring: CredentialKeyring, limit: number, log: Logger): Promise<boolean> {
  const connection = orm.em.getConnection();
  const rows = await connection.execute<{ user_id: string; sealed_cookies: string }[]>(
    `select "user_id", "sealed_cookies" from "tradingview_session" where split_part("sealed_cookies", '.', 2) <> ? order by "user_id" limit ?`,
    [keyring.current.id, limit],
  );
  const unopenable: string[] = [];
  for (const row of rows) {
    let resealed: string;
    try {
      resealed = resealSessionCookies(keyring, row.sealed_cookies, row.user_id);
    } catch {
      unopenable.push(row.user_id);
      continue;
    }
    // Unless the user set new cookies meanwhile.
    await connection.execute(`update "tradingview_session" set "sealed_cookies" = ? where "user_id" = ? and "sealed_cookies" = ?`, [resealed, row.user_id, row.sealed_cookies]);
  }
  if (unopenable.length > 0) log.warn({ users: unopenable }, 'tradingview sessions sealed under a key no longer in SECRETS_KEYS; they cannot be used');
  if (rows.length > unopenable.length) log.info({ resealed: rows.length - unopenable.length }, 'tradingview sessions re-sealed under the current key');
  return rows.length < limit;
}
