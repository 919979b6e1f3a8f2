import type { EntityManager } from '../../../kit/src';
import { Decimal, type DecimalValue } from '../shared/decimal';

/** A paper account cannot fund a change: a free (or locked) balance would go below zero. */
export class InsufficientBalanceError extends Error {
  constructor(
    readonly accountId: string,
    readonly assets: string[],
  ) {
    super(`paper account ${accountId} lacks ${assets.join(', ')}`);
    this.name = 'InsufficientBalanceError';
  }
}

/**
 * What one transaction changes in one paper account: deltas of free and locked per asset. They are
 * applied by `trade_change_apply` (Migration0003OrderWrites), each on its row as locked, in asset
 * order; one that would leave free or locked below zero refuses the whole change.
 */
export class BalanceDeltas {
  private readonly deltas = new Map<string, { free: Decimal; locked: Decimal }>();

  add(asset: string, free: DecimalValue, locked: DecimalValue = 0): void {
    const current = this.deltas.get(asset) ?? { free: new Decimal(0), locked: new Decimal(0) };
    current.free = current.free.plus(free);
    current.locked = current.locked.plus(locked);
    this.deltas.set(asset, current);
  }

  /** Moves `amount` from free to locked (an order opens). */
  reserve(asset: string, amount: DecimalValue): void {
    this.add(asset, new Decimal(amount).negated(), amount);
  }

  /** Moves `amount` from locked back to free (an order ends with funds left). */
  release(asset: string, amount: DecimalValue): void {
    this.add(asset, amount, new Decimal(amount).negated());
  }

  entries(): { asset: string; free: Decimal; locked: Decimal }[] {
    return [...this.deltas.entries()]
      .filter(([, delta]) => !delta.free.isZero() || !delta.locked.isZero())
      .map(([asset, delta]) => ({ asset, ...delta }))
      .sort((a, b) => (a.asset < b.asset ? -1 : a.asset > b.asset ? 1 : 0));
  }
}

/** Free balance of one asset now (0 without a row). */
export async function freeBalance(em: EntityManager, accountId: string, asset: string): Promise<string> {
  const rows = await em.execute<{ free: string }[]>(`select "free" from "paper_balance" where "account_id" = ? and "asset" = ?`, [accountId, asset]);
  return rows[0]?.free ?? '0';
}
