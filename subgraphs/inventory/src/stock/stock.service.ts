import { LockMode, QueryOrder } from '@mikro-orm/core';
import { AppError, badInput, orderedBy, requireRole, type EntityManager, type RequestContext } from '../../../kit/src';
import { MAX_ADJUSTMENT, MAX_PRODUCT_ID_LENGTH, MAX_REASON_LENGTH, MAX_THRESHOLD } from './stock.input';
import { ProductKind, type ProductRepresentation } from './product.type';
import { availableOf, StockLevelEntity } from './stock-level.entity';
import { StockMovementEntity } from './stock-movement.entity';
import { crossesIntoLowStock, recordLowStock } from './stock.events';
import type { StockLevel, StockMovement } from './stock.type';

export interface StockServiceOptions {
  lowStockDefaultThreshold: number;
  stockMovementsMaxPage: number;
}

export interface AdjustStockInput {
  productId: string;
  delta: number;
  reason: string;
}

/** Postgres `int` upper bound: on_hand can never go past it. */
const MAX_ON_HAND = 2_147_483_647;
const DEFAULT_MOVEMENTS_PAGE = 50;

export const toStockLevel = (level: StockLevelEntity): StockLevel => ({
  productId: level.productId,
  onHand: level.onHand,
  reserved: level.reserved,
  available: availableOf(level),
  lowStockThreshold: level.lowStockThreshold,
  updatedAt: level.updatedAt,
});

export const toStockMovement = (movement: StockMovementEntity): StockMovement => ({
  id: movement.id,
  productId: movement.productId,
  delta: movement.delta,
  reason: movement.reason,
  onHandAfter: movement.onHandAfter,
  actorId: movement.actorId,
  createdAt: movement.createdAt,
});

function assertProductId(productId: string): void {
  if (productId.trim() === '') throw badInput('productId must not be empty', 'productId');
  if (productId.length > MAX_PRODUCT_ID_LENGTH) throw badInput(`productId must be at most ${MAX_PRODUCT_ID_LENGTH} characters`, 'productId');
}

/** The business rules of an adjustment, checked before anything touches the database. */
export function assertAdjustment(input: AdjustStockInput): void {
  assertProductId(input.productId);
  if (!Number.isInteger(input.delta)) throw badInput('delta must be an integer', 'delta');
  if (input.delta === 0) throw badInput('delta must not be 0', 'delta');
  if (Math.abs(input.delta) > MAX_ADJUSTMENT) throw badInput(`delta must be between -${MAX_ADJUSTMENT} and ${MAX_ADJUSTMENT}`, 'delta');
  if (input.reason.trim() === '') throw badInput('reason must not be empty', 'reason');
  if (input.reason.length > MAX_REASON_LENGTH) throw badInput(`reason must be at most ${MAX_REASON_LENGTH} characters`, 'reason');
}

/** Stock levels and the stock ledger. Every method takes the request context first. */
export class StockService {
  constructor(private readonly options: StockServiceOptions) {}

  /**
   * `Product.stock`: null for unlimited kinds, the level for a GOOD (zeros with the default
   * threshold when it has no row yet). Levels are loaded through one DataLoader per request,
   * so the N representations of one `_entities` call cost one query.
   */
  async stockOf(ctx: RequestContext, product: ProductRepresentation): Promise<StockLevel | null> {
    if (product.kind === undefined || product.kind === null) {
      throw badInput('Product.stock needs the product kind: the router sends it through @requires(fields: "kind")', 'kind');
    }
    if (product.kind !== ProductKind.GOOD) return null;
    const level = await this.levelLoader(ctx).load(product.id);
    return level ? toStockLevel(level) : this.emptyLevel(product.id);
  }

  /** Adds or removes units; writes the ledger line (and a LowStock event on crossing) in the same transaction. */
  async adjust(ctx: RequestContext, input: AdjustStockInput): Promise<StockLevel> {
    const viewer = requireRole(ctx.viewer, 'ADMIN');
    assertAdjustment(input);
    const { productId, delta } = input;
    const reason = input.reason.trim();
    const level = await ctx.em.transactional(async (tx) => {
      const level = await this.lockLevel(tx, productId);
      const previousAvailable = availableOf(level);
      const onHandAfter = level.onHand + delta;
      if (onHandAfter - level.reserved < 0) {
        throw new AppError(
          'OUT_OF_STOCK',
          `Cannot remove ${-delta} units of product ${productId}: only ${previousAvailable} available (${level.onHand} on hand, ${level.reserved} reserved)`,
          { productId, available: previousAvailable, delta },
        );
      }
      if (onHandAfter > MAX_ON_HAND) throw badInput(`Adding ${delta} units would exceed the largest stock level (${MAX_ON_HAND})`, 'delta');
      level.onHand = onHandAfter;
      level.updatedAt = new Date();
      tx.persist(
        tx.create(StockMovementEntity, { productId, delta, reason, onHandAfter, reservedDelta: 0, reservedAfter: level.reserved, actorId: viewer.id, createdAt: new Date() }),
      );
      const available = availableOf(level);
      if (crossesIntoLowStock(previousAvailable, available, level.lowStockThreshold)) {
        recordLowStock(tx, {
          productId,
          onHand: level.onHand,
          reserved: level.reserved,
          available,
          previousAvailable,
          lowStockThreshold: level.lowStockThreshold,
        });
      }
      return level;
    });
    ctx.log.info({ productId, delta, onHand: level.onHand, actorId: viewer.id }, 'stock adjusted');
    return toStockLevel(level);
  }

  /** Sets the threshold below which a LowStock event is emitted; creates the level row when missing. */
  async setLowStockThreshold(ctx: RequestContext, productId: string, threshold: number): Promise<StockLevel> {
    requireRole(ctx.viewer, 'ADMIN');
    assertProductId(productId);
    if (!Number.isInteger(threshold) || threshold < 0 || threshold > MAX_THRESHOLD) {
      throw badInput(`threshold must be between 0 and ${MAX_THRESHOLD}`, 'threshold');
    }
    const level = await ctx.em.transactional(async (tx) => {
      const level = await this.lockLevel(tx, productId, threshold);
      if (level.lowStockThreshold !== threshold) {
        level.lowStockThreshold = threshold;
        level.updatedAt = new Date();
      }
      return level;
    });
    return toStockLevel(level);
  }

  /** The ledger of one product, newest first. */
  async movements(ctx: RequestContext, productId: string, first?: number | null): Promise<StockMovement[]> {
    requireRole(ctx.viewer, 'ADMIN');
    assertProductId(productId);
    const max = this.options.stockMovementsMaxPage;
    const limit = first ?? Math.min(DEFAULT_MOVEMENTS_PAGE, max);
    if (!Number.isInteger(limit) || limit < 1 || limit > max) throw badInput(`first must be between 1 and ${max}`, 'first');
    const rows = await ctx.em.find(StockMovementEntity, { productId }, { orderBy: { id: QueryOrder.DESC }, limit });
    return rows.map(toStockMovement);
  }

  private emptyLevel(productId: string): StockLevel {
    return { productId, onHand: 0, reserved: 0, available: 0, lowStockThreshold: this.options.lowStockDefaultThreshold, updatedAt: null };
  }

  private levelLoader(ctx: RequestContext) {
    return ctx.loaders.get<string, StockLevelEntity | null>('stockByProduct', async (productIds) => {
      const rows = await ctx.em.find(StockLevelEntity, { productId: { $in: [...productIds] } });
      return orderedBy(productIds, rows, (row) => row.productId);
    });
  }

  /**
   * Creates the level row when missing (catalog owns product existence; inventory accepts any id)
   * and locks it with SELECT … FOR UPDATE until the transaction ends, so concurrent changes to one
   * product run one after the other and none is lost.
   */
  private async lockLevel(tx: EntityManager, productId: string, threshold = this.options.lowStockDefaultThreshold): Promise<StockLevelEntity> {
    const now = new Date();
    await tx
      .createQueryBuilder(StockLevelEntity)
      .insert({ productId, onHand: 0, reserved: 0, lowStockThreshold: threshold, createdAt: now, updatedAt: now })
      .onConflict('productId')
      .ignore()
      .execute();
    return tx.findOneOrFail(StockLevelEntity, { productId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  }
}
