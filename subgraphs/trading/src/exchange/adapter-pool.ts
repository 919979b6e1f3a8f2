import type { Logger } from 'pino';
import { openCredentials, type CredentialKeyring } from '../../../kit/src/secrets';
import type { ExchangeAdapter, ExchangeCredentials, ExchangeOrder } from './exchange-adapter';

/** What the engine uses of a real exchange: the contract, plus finding an order by our client order id after a timeout. */
export interface TradingAdapter extends ExchangeAdapter {
  recoverOrder(clientOrderId: string, symbol: string): Promise<ExchangeOrder | null>;
}

/** Builds an adapter for an exchange and credentials (the ccxt adapter in production; tests point it at a fake exchange). */
export type AdapterFactory = (options: { exchangeId: string; credentials: ExchangeCredentials; timeoutMs: number; log: Logger }) => TradingAdapter;

/** A ccxt account's sealed credentials, opened only here. */
export interface SealedAccount {
  id: string;
  exchangeId: string;
  credentials: string | null;
}

/**
 * One adapter per linked ccxt account, built on first use from its sealed credentials (opened with
 * the account id as associated data) and kept: ccxt caches markets and rate limits per instance.
 */
export class ExchangeAdapters {
  private readonly adapters = new Map<string, TradingAdapter>();

  constructor(
    private readonly options: { factory: AdapterFactory; keyring: CredentialKeyring | null; timeoutMs: number; log: Logger },
  ) {}

  get enabled(): boolean {
    return this.options.keyring !== null;
  }

  get keyring(): CredentialKeyring | null {
    return this.options.keyring;
  }

  /** An adapter for credentials not stored yet (linking checks them with it); the caller closes it. */
  probe(exchangeId: string, credentials: ExchangeCredentials): TradingAdapter {
    return this.options.factory({ exchangeId, credentials, timeoutMs: this.options.timeoutMs, log: this.options.log });
  }

  forAccount(account: SealedAccount): TradingAdapter {
    const known = this.adapters.get(account.id);
    if (known) return known;
    const { keyring } = this.options;
    if (!keyring || !account.credentials) throw new Error(`account ${account.id} has no usable credentials`);
    const credentials = openCredentials<ExchangeCredentials>(keyring, account.credentials, account.id);
    const adapter = this.probe(account.exchangeId, credentials);
    this.adapters.set(account.id, adapter);
    return adapter;
  }

  /** Forgets (and closes) an account's adapter, e.g. once it is unlinked. */
  async evict(accountId: string): Promise<void> {
    const adapter = this.adapters.get(accountId);
    this.adapters.delete(accountId);
    await adapter?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    const adapters = [...this.adapters.values()];
    this.adapters.clear();
    await Promise.all(adapters.map((adapter) => adapter.close().catch(() => undefined)));
  }
}
