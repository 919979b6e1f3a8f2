import { LockMode, QueryOrder } from '@mikro-orm/core';
import { badInput, notFound, requireViewer, type EntityManager, type RequestContext } from '../../../kit/src';
import { ProductSnapshotEntity } from '../product/product-snapshot.entity';
import { productRef } from '../product/product.type';
import { requireProductId } from '../shared/ids';
import { MAX_AMOUNT } from '../shared/money.type';
import { MAX_LINE_QUANTITY } from './cart.input';
import { CartEntity, CartLineEntity } from './cart.entity';
import type { Cart, CartLine } from './cart.type';

export interface CartServiceOptions {
  defaultCurrency: string;
  cartMaxLines: number;
}

/** A cart as the API shows it; `currencies` lets `total` refuse a cart whose prices changed currency. */
export interface CartView extends Cart {
  currencies: string[];
}

/**
 * The user's cart row, locked (SELECT … FOR UPDATE) until the transaction ends; with `create`,
 * made first when missing. Every cart change and checkout takes this lock, so they serialize per user.
 */
export async function lockCart(tx: EntityManager, userId: string, create: boolean): Promise<CartEntity | null> {
  if (create) {
    const now = new Date();
    await tx.execute(
      'insert into "cart" ("id", "user_id", "created_at", "updated_at") values (gen_random_uuid(), ?, ?, ?) on conflict ("user_id") do nothing',
      [userId, now, now],
      'run',
    );
  }
  return tx.findOne(CartEntity, { userId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
}

/** The lines of a cart in the order their products were first added. */
export const cartLines = (em: EntityManager, cartId: string): Promise<CartLineEntity[]> =>
  em.find(CartLineEntity, { cartId }, { orderBy: { addedAt: QueryOrder.ASC, id: QueryOrder.ASC } });

export async function snapshotsOf(em: EntityManager, productIds: string[]): Promise<Map<string, ProductSnapshotEntity>> {
  if (productIds.length === 0) return new Map();
  const rows = await em.find(ProductSnapshotEntity, { productId: { $in: [...new Set(productIds)] } });
  return new Map(rows.map((row) => [row.productId, row]));
}

function assertQuantity(quantity: number, min: number): void {
  if (!Number.isInteger(quantity) || quantity < min || quantity > MAX_LINE_QUANTITY) {
    throw badInput(`quantity must be between ${min} and ${MAX_LINE_QUANTITY}`, 'quantity');
  }
}

/** The signed-in user's cart; prices always come from the product snapshots, never from the client. */
export class CartService {
  constructor(private readonly options: CartServiceOptions) {}

  /** `cart`: the viewer's cart, made (empty) on first use. */
  async viewerCart(ctx: RequestContext): Promise<CartView> {
    const viewer = requireViewer(ctx.viewer);
    return this.cartOf(ctx, viewer.id);
  }

  /** `User.cart`: only the user themself sees it; null for anyone else (ADMINs included) and anonymous callers. */
  async userCart(ctx: RequestContext, userId: string): Promise<CartView | null> {
    if (!ctx.viewer || ctx.viewer.id !== userId) return null;
    return this.cartOf(ctx, userId);
  }

  /** Adds units of a product (merged with the units already there, at most 100 per product). */
  async add(ctx: RequestContext, rawProductId: string, quantity: number): Promise<CartView> {
    const viewer = requireViewer(ctx.viewer);
    const productId = requireProductId(rawProductId);
    assertQuantity(quantity, 1);
    const product = await ctx.em.findOne(ProductSnapshotEntity, { productId });
    if (!product) throw notFound('Product', productId);
    if (!product.active) throw badInput(`Product ${productId} is not for sale`, 'productId');
    return ctx.em.transactional(async (tx) => {
      const cart = (await lockCart(tx, viewer.id, true))!;
      const lines = await cartLines(tx, cart.id);
      const existing = lines.find((line) => line.productId === productId);
      const merged = (existing?.quantity ?? 0) + quantity;
      if (merged > MAX_LINE_QUANTITY) {
        throw badInput(`A cart holds at most ${MAX_LINE_QUANTITY} units of a product; it already has ${existing?.quantity ?? 0}`, 'quantity');
      }
      if (!existing && lines.length >= this.options.cartMaxLines) throw badInput(`A cart holds at most ${this.options.cartMaxLines} products`, 'productId');
      const others = await snapshotsOf(tx, lines.filter((line) => line.productId !== productId).map((line) => line.productId));
      const otherCurrencies = [...new Set([...others.values()].map((snapshot) => snapshot.currency))];
      if (otherCurrencies.some((currency) => currency !== product.currency)) {
        throw badInput(`Your cart holds products priced in ${otherCurrencies.join(', ')}; product ${productId} is priced in ${product.currency}`, 'productId');
      }
      if (existing) existing.quantity = merged;
      else tx.persist(tx.create(CartLineEntity, { cartId: cart.id, productId, quantity }));
      cart.updatedAt = new Date();
      await tx.flush();
      return this.view(tx, cart);
    });
  }

  /** Sets the quantity of a product already in the cart; 0 removes it. */
  async update(ctx: RequestContext, rawProductId: string, quantity: number): Promise<CartView> {
    const viewer = requireViewer(ctx.viewer);
    const productId = requireProductId(rawProductId);
    assertQuantity(quantity, 0);
    if (quantity === 0) return this.remove(ctx, productId);
    return ctx.em.transactional(async (tx) => {
      const cart = await lockCart(tx, viewer.id, false);
      const line = cart ? await tx.findOne(CartLineEntity, { cartId: cart.id, productId }) : null;
      if (!cart || !line) throw notFound('Cart line for product', productId);
      line.quantity = quantity;
      cart.updatedAt = new Date();
      await tx.flush();
      return this.view(tx, cart);
    });
  }

  /** Removes a product from the cart; removing one that is not there changes nothing. */
  async remove(ctx: RequestContext, rawProductId: string): Promise<CartView> {
    const viewer = requireViewer(ctx.viewer);
    const productId = requireProductId(rawProductId);
    return ctx.em.transactional(async (tx) => {
      const cart = (await lockCart(tx, viewer.id, true))!;
      const line = await tx.findOne(CartLineEntity, { cartId: cart.id, productId });
      if (line) {
        tx.remove(line);
        cart.updatedAt = new Date();
        await tx.flush();
      }
      return this.view(tx, cart);
    });
  }

  private async cartOf(ctx: RequestContext, userId: string): Promise<CartView> {
    let cart = await ctx.em.findOne(CartEntity, { userId });
    if (!cart) cart = await ctx.em.transactional(async (tx) => (await lockCart(tx, userId, true))!);
    return this.view(ctx.em, cart);
  }

  /** Prices every line from its product snapshot. */
  private async view(em: EntityManager, cart: CartEntity): Promise<CartView> {
    const lines = await cartLines(em, cart.id);
    const snapshots = await snapshotsOf(em, lines.map((line) => line.productId));
    const viewLines: CartLine[] = [];
    for (const line of lines) {
      const snapshot = snapshots.get(line.productId);
      if (!snapshot) continue; // a line is only added for a known product, and snapshots are never deleted
      viewLines.push({
        product: productRef(line.productId),
        quantity: line.quantity,
        unitPrice: { amount: snapshot.priceAmount, currency: snapshot.currency },
        lineTotal: { amount: snapshot.priceAmount * line.quantity, currency: snapshot.currency },
      });
    }
    const currencies = [...new Set(viewLines.map((line) => line.unitPrice.currency))];
    const amount = viewLines.reduce((sum, line) => sum + line.lineTotal.amount, 0);
    return {
      id: cart.id,
      lines: viewLines,
      currencies,
      total: { amount: Math.min(amount, MAX_AMOUNT), currency: currencies[0] ?? this.options.defaultCurrency },
    };
  }
}

/** `Cart.total`, refused when the cart mixes currencies (a price changed currency after it was added). */
export function cartTotal(cart: CartView): Cart['total'] {
  if (cart.currencies.length > 1) throw badInput(`Your cart mixes currencies (${cart.currencies.join(', ')}); remove the products in one of them`, 'cart');
  if (cart.total.amount >= MAX_AMOUNT) throw badInput('The cart total is too large', 'cart');
  return cart.total;
}
