import { randomUUID } from 'node:crypto';
import { Decimal } from 'decimal.js';
import type { EntityManager } from '../../../kit/src';
import { ExchangeAccountEntity, PaperBalanceEntity } from '../accounts/account.entity';

export interface SeedPaperAccount {
  userId: string;
  label: string;
  startingBalances: Record<string, string>;
  /** Defaults: the paper exchange's (0.1 % fee, 5 bps slippage). */
  feeRate?: string;
  slippageBps?: string;
}

/**
 * Paper accounts for demo users who have none yet (matched by user), with their starting balances,
 * so the demo trader can place orders at once. Running it again changes nothing.
 */
export async function seedPaperAccounts(em: EntityManager, accounts: readonly SeedPaperAccount[]): Promise<{ created: number }> {
  const existing = new Set(
    (await em.find(ExchangeAccountEntity, { userId: { $in: accounts.map((account) => account.userId) }, kind: 'paper' }, { fields: ['userId'] })).map((row) => row.userId),
  );
  const missing = accounts.filter((account) => !existing.has(account.userId));
  if (missing.length === 0) return { created: 0 };
  await em.transactional(async (tx) => {
    for (const seed of missing) {
      const account = tx.create(ExchangeAccountEntity, {
        id: randomUUID(),
        userId: seed.userId,
        kind: 'paper',
        exchangeId: 'paper',
        label: seed.label,
        feeRate: new Decimal(seed.feeRate ?? '0.001').toFixed(),
        slippageBps: new Decimal(seed.slippageBps ?? '5').toFixed(),
      });
      // No ORM relation orders the inserts: the account row goes first for the balances' foreign key.
      await tx.persistAndFlush(account);
      for (const [asset, amount] of Object.entries(seed.startingBalances)) {
        tx.persist(tx.create(PaperBalanceEntity, { accountId: account.id, asset, free: new Decimal(amount).toFixed(), locked: '0' }));
      }
    }
  });
  return { created: missing.length };
}
