import { randomUUID } from 'node:crypto';
import type DataLoader from 'dataloader';
import { AppError, badInput, conflict, type EntityManager, isUuid, notFound, orderedBy, type RequestContext, requireRole, requireUuid, requireViewer } from '../../../kit/src';
import type { PaperAccountDefaults } from '../config';
import type { ExchangeAdapters } from '../exchange/adapter-pool';
import { ExchangeError } from '../exchange/exchange-adapter';
import { Decimal, plain } from '../shared/decimal';
import { ExchangeAccountEntity, PaperBalanceEntity } from './account.entity';
import { ASSET_PATTERN, type LinkExchangeAccountInput } from './account.input';
import { Balance, ExchangeAccountKind, toExchangeAccount, type ExchangeAccount } from './account.type';
import { resealCredentials, sealCredentials, sealedWithCurrentKey } from '../../../kit/src/secrets';

export interface AccountServiceOptions {
  paperDefaults: PaperAccountDefaults;
  adapters: ExchangeAdapters;
}

/** Accounts by id, one query per batch (unlinked ones included: their orders still show them). */
export function accountById(ctx: RequestContext): DataLoader<string, ExchangeAccountEntity | null> {
  return ctx.loaders.get<string, ExchangeAccountEntity | null>('account.byId', async (ids) => {
    const valid = [...new Set(ids.filter(isUuid))];
    const rows = valid.length > 0 ? await ctx.em.find(ExchangeAccountEntity, { id: { $in: valid } }) : [];
    return orderedBy(ids, rows, (row) => row.id);
  });
}

const balanceOf = (asset: string, free: string, locked: string): Balance =>
  Object.assign(new Balance(), { asset, free: plain(free), locked: plain(locked), total: plain(new Decimal(free).plus(locked)) });

/**
 * Exchange accounts. An account exists only for its owner: anyone else (ADMINs included) gets
 * NOT_FOUND, so ids cannot be probed. Paper accounts are open to every signed-in user; ccxt
 * accounts trade real money and need the TRADER or ADMIN role.
 */
export class AccountService {
  constructor(private readonly options: AccountServiceOptions) {}

  /** The viewer's linked account `id`; NOT_FOUND for anyone else's, an unknown or an unlinked one. */
  async ownedAccount(ctx: RequestContext, rawId: string, field = 'accountId'): Promise<ExchangeAccountEntity> {
    const viewer = requireViewer(ctx.viewer);
    const id = requireUuid(rawId, field);
    const account = await accountById(ctx).load(id);
    if (!account || account.userId !== viewer.id || account.unlinkedAt !== null) throw notFound('ExchangeAccount', id);
    return account;
  }

  async accounts(ctx: RequestContext): Promise<ExchangeAccount[]> {
    const viewer = requireViewer(ctx.viewer);
    const rows = await ctx.em.find(ExchangeAccountEntity, { userId: viewer.id, unlinkedAt: null }, { orderBy: { createdAt: 'asc', id: 'asc' } });
    return rows.map(toExchangeAccount);
  }

  async account(ctx: RequestContext, id: string): Promise<ExchangeAccount> {
    return toExchangeAccount(await this.ownedAccount(ctx, id, 'id'));
  }

  /** `_entities` for ExchangeAccount: null unless the viewer owns it. */
  async reference(ctx: RequestContext, id: string): Promise<ExchangeAccount | null> {
    if (!ctx.viewer || !isUuid(id)) return null;
    const account = await accountById(ctx).load(id.toLowerCase());
    return account && account.userId === ctx.viewer.id ? toExchangeAccount(account) : null;
  }

  /** Paper: the stored balances. ccxt: the exchange's, fetched now (UPSTREAM_UNAVAILABLE when it does not answer). */
  async balances(ctx: RequestContext, accountId: string): Promise<Balance[]> {
    const account = await this.ownedAccount(ctx, accountId);
    if (account.kind === 'paper') {
      const rows = await ctx.em.find(PaperBalanceEntity, { accountId: account.id }, { orderBy: { asset: 'asc' } });
      return rows.map((row) => balanceOf(row.asset, String(row.free), String(row.locked)));
    }
    const sealed = await this.sealed(ctx.em, account.id);
    try {
      const balances = await this.options.adapters.forAccount(sealed).fetchBalances();
      return balances.map((entry) => balanceOf(entry.asset, entry.free, entry.used));
    } catch (error) {
      throw exchangeFailure(error, 'fetching balances');
    }
  }

  /** Links a paper account (default) or a ccxt exchange account whose credentials the exchange accepts. */
  async link(ctx: RequestContext, input: LinkExchangeAccountInput): Promise<ExchangeAccount> {
    const viewer = requireViewer(ctx.viewer);
    const kind = input.kind ?? ExchangeAccountKind.PAPER;
    if (kind === ExchangeAccountKind.PAPER) return this.linkPaper(ctx, viewer.id, input);
    requireRole(viewer, 'TRADER', 'ADMIN');
    return this.linkCcxt(ctx, viewer.id, input);
  }

  /** Hides an account and forgets its credentials; CONFLICT while it has live orders. Its orders and fills stay readable. */
  async unlink(ctx: RequestContext, rawId: string): Promise<ExchangeAccount> {
    const account = await this.ownedAccount(ctx, rawId, 'id');
    await ctx.em.transactional(async (tx) => {
      const { accountIds, liveOrders } = await unlinkAccounts(tx, { id: account.id });
      if (accountIds.length === 0) throw notFound('ExchangeAccount', account.id);
      if (liveOrders > 0) throw conflict(`Account ${account.id} has ${liveOrders} live orders; cancel them first`);
    });
    await this.options.adapters.evict(account.id);
    ctx.log.info({ accountId: account.id }, 'exchange account unlinked');
    return toExchangeAccount(account);
  }

  /**
   * Erasure: unlinks every linked account of `userId` in `tx`, as `unlink` does, and returns their
   * ids (`evict` their adapters once `tx` has committed). Throws while any of them has live orders.
   * Every account of the user, unlinked earlier too, loses what the user wrote or gave: the label
   * (free text, now the exchange's id) and the API key's last characters.
   */
  async eraseAllOf(tx: EntityManager, userId: string): Promise<string[]> {
    const { accountIds, liveOrders } = await unlinkAccounts(tx, { userId });
    if (liveOrders > 0) throw new Error(`user ${userId} still has ${liveOrders} live orders; their accounts stay linked`);
    await tx.execute(`update "exchange_account" set "label" = "exchange_id", "api_key_hint" = null where "user_id" = ?`, [userId], 'run');
    return accountIds;
  }

  /** Forgets (and closes) the adapters of unlinked accounts, so their opened credentials leave memory too. */
  async evict(accountIds: readonly string[]): Promise<void> {
    for (const id of accountIds) await this.options.adapters.evict(id);
  }

  /** Sealed credentials of a ccxt account (the column is lazy: only this reads it). */
  async sealed(em: EntityManager, accountId: string): Promise<{ id: string; exchangeId: string; credentials: string | null }> {
    const [row] = await em.execute<{ id: string; exchange_id: string; credentials: string | null }[]>(
      `select "id", "exchange_id", "credentials" from "exchange_account" where "id" = ?`,
      [accountId],
    );
    if (!row) throw notFound('ExchangeAccount', accountId);
    return { id: row.id, exchangeId: row.exchange_id, credentials: row.credentials };
  }

  /**
   * Key rotation: re-seals every stored credential not sealed under the current key (the previous
   * keys still open them). Returns how many were re-sealed. Safe to run on every start.
   */
  async resealAll(em: EntityManager): Promise<number> {
    const keyring = this.options.adapters.keyring;
    if (!keyring) return 0;
    const rows = await em.execute<{ id: string; credentials: string }[]>(`select "id", "credentials" from "exchange_account" where "credentials" is not null`);
    let resealed = 0;
    for (const row of rows) {
      if (sealedWithCurrentKey(keyring, row.credentials)) continue;
      const next = resealCredentials(keyring, row.credentials, row.id);
      const result = await em.execute<{ affectedRows: number }>(
        `update "exchange_account" set "credentials" = ? where "id" = ? and "credentials" = ?`,
        [next, row.id, row.credentials],
        'run',
      );
      resealed += result.affectedRows;
    }
    return resealed;
  }

  private async linkPaper(ctx: RequestContext, userId: string, input: LinkExchangeAccountInput): Promise<ExchangeAccount> {
    const defaults = this.options.paperDefaults;
    const feeRate = input.feeRate ?? defaults.feeRate;
    const slippageBps = input.slippageBps ?? defaults.slippageBps;
    if (new Decimal(feeRate).greaterThanOrEqualTo(1)) throw badInput('feeRate must be below 1 (a fraction: 0.001 is 0.1 %)', 'feeRate');
    if (new Decimal(slippageBps).greaterThanOrEqualTo(10_000)) throw badInput('slippageBps must be below 10000', 'slippageBps');
    const balances = new Map<string, string>();
    for (const entry of input.startingBalances ?? Object.entries(defaults.startingBalances).map(([asset, amount]) => ({ asset, amount }))) {
      if (!ASSET_PATTERN.test(entry.asset)) throw badInput('asset must be 1 to 20 capital letters or digits', 'startingBalances');
      if (balances.has(entry.asset)) throw badInput(`startingBalances names ${entry.asset} twice`, 'startingBalances');
      balances.set(entry.asset, new Decimal(entry.amount).toFixed());
    }
    const account = ctx.em.create(ExchangeAccountEntity, {
      id: randomUUID(),
      userId,
      kind: 'paper',
      exchangeId: 'paper',
      label: input.label?.trim() || 'Paper',
      feeRate: new Decimal(feeRate).toFixed(),
      slippageBps: new Decimal(slippageBps).toFixed(),
    });
    await ctx.em.transactional(async (tx) => {
      // No ORM relation orders the inserts: the account row goes first for the balances' foreign key.
      await tx.persistAndFlush(account);
      for (const [asset, amount] of balances) tx.persist(tx.create(PaperBalanceEntity, { accountId: account.id, asset, free: amount, locked: '0' }));
    });
    ctx.log.info({ accountId: account.id, kind: 'paper' }, 'paper account linked');
    return toExchangeAccount(account);
  }

  private async linkCcxt(ctx: RequestContext, userId: string, input: LinkExchangeAccountInput): Promise<ExchangeAccount> {
    const { adapters } = this.options;
    const exchangeId = input.exchangeId?.trim();
    if (!exchangeId) throw badInput('exchangeId is required for a CCXT account', 'exchangeId');
    if (exchangeId === 'paper') throw badInput('use kind PAPER for a paper account', 'exchangeId');
    const apiKey = input.apiKey?.trim() ?? '';
    const secret = input.secret?.trim() ?? '';
    if (apiKey === '') throw badInput('apiKey is required for a CCXT account', 'apiKey');
    if (secret === '') throw badInput('secret is required for a CCXT account', 'secret');
    const keyring = adapters.keyring;
    if (!keyring) throw new AppError('UPSTREAM_UNAVAILABLE', 'Real exchange accounts are not enabled on this server (no CREDENTIALS_KEYS configured)');
    const credentials = { apiKey, secret, ...(input.password ? { password: input.password } : {}) };
    let probe;
    try {
      probe = adapters.probe(exchangeId, credentials);
    } catch {
      throw badInput(`ccxt has no exchange "${exchangeId}"`, 'exchangeId');
    }
    try {
      // The exchange itself checks the credentials: a key it refuses is never stored.
      await probe.fetchBalances();
    } catch (error) {
      throw exchangeFailure(error, 'checking the credentials');
    } finally {
      await probe.close().catch(() => undefined);
    }
    const id = randomUUID();
    const account = ctx.em.create(ExchangeAccountEntity, {
      id,
      userId,
      kind: 'ccxt',
      exchangeId,
      label: input.label?.trim() || exchangeId,
      credentials: sealCredentials(keyring, credentials, id),
      apiKeyHint: apiKey.slice(-4),
      feeRate: '0',
      slippageBps: '0',
    });
    await ctx.em.persistAndFlush(account);
    ctx.log.info({ accountId: id, kind: 'ccxt', exchangeId }, 'exchange account linked');
    return toExchangeAccount(account);
  }
}

/**
 * Unlinks the linked accounts `where` picks, in `tx`: hidden, credentials forgotten. They are locked
 * first, so a placement in flight (it holds a key-share lock on its account) commits before, and a
 * later one finds them unlinked. Nothing changes while any of them has live orders (`liveOrders`).
 */
async function unlinkAccounts(tx: EntityManager, where: { id: string } | { userId: string }): Promise<{ accountIds: string[]; liveOrders: number }> {
  const [column, value] = 'id' in where ? ['id', where.id] : ['user_id', where.userId];
  const locked = await tx.execute<{ id: string }[]>(`select "id" from "exchange_account" where "${column}" = ? and "unlinked_at" is null order by "id" for update`, [value]);
  const accountIds = locked.map((row) => row.id);
  if (accountIds.length === 0) return { accountIds, liveOrders: 0 };
  const ids = accountIds.map(() => '?::uuid').join(', ');
  const [live] = await tx.execute<{ count: string }[]>(
    `select count(*) as "count" from "trade_order" where "account_id" in (${ids}) and "status" in ('NEW', 'OPEN', 'PARTIALLY_FILLED')`,
    accountIds,
  );
  const liveOrders = Number(live!.count);
  if (liveOrders === 0) await tx.execute(`update "exchange_account" set "unlinked_at" = now(), "credentials" = null where "id" in (${ids})`, accountIds, 'run');
  return { accountIds, liveOrders };
}

/** An exchange failure as the client sees it: refused credentials are their input, the rest is upstream. */
export function exchangeFailure(error: unknown, doing: string): AppError {
  if (error instanceof ExchangeError) {
    if (error.kind === 'AUTH') return new AppError('BAD_USER_INPUT', `The exchange refused the API credentials while ${doing}`, { field: 'apiKey' });
    if (error.kind === 'REJECTED') return new AppError('BAD_USER_INPUT', `The exchange refused the request while ${doing}: ${error.message}`);
    return new AppError('UPSTREAM_UNAVAILABLE', `The exchange did not answer while ${doing}; try again`);
  }
  return new AppError('UPSTREAM_UNAVAILABLE', `The exchange failed while ${doing}; try again`);
}
