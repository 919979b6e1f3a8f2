import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { conflict, notFound, requireViewer, type RequestContext } from '../../../kit/src';
import type { Product } from '../product/product.type';
import { ProductEntity } from '../product/product.entity';
import { decodeCursor, encodeCursor, queryFingerprint } from '../shared/cursor';
import { normalizeId } from '../shared/ids';
import { pageOf, pageSize, type PageArgs } from '../shared/pagination';
import { ReviewEntity } from './review.entity';
import type { AddReviewArgs } from './review.input';
import { toReview, type Review, type ReviewConnection } from './review.type';

const alreadyReviewed = () => conflict('You have already reviewed this product');

/**
 * Adds the viewer's review of an active product and bumps the product's rating sum and count in
 * the same transaction, so `averageRating` never needs an aggregate query. One review per user and
 * product: checked first, and enforced by a unique index against concurrent requests.
 */
export async function addReview(ctx: RequestContext, args: AddReviewArgs): Promise<Review> {
  const viewer = requireViewer(ctx.viewer);
  const productId = normalizeId(args.productId);
  try {
    const review = await ctx.em.transactional(async (em) => {
      if ((await em.count(ProductEntity, { id: productId, active: true })) === 0) throw notFound('Product', productId);
      if ((await em.count(ReviewEntity, { productId, authorId: viewer.id })) > 0) throw alreadyReviewed();
      const created = em.create(ReviewEntity, { productId, authorId: viewer.id, rating: args.rating, text: args.text.trim() });
      await em.flush();
      await em.execute('update product set rating_sum = rating_sum + ?, rating_count = rating_count + 1 where id = ?', [args.rating, productId], 'run');
      return created;
    });
    return toReview(review);
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) throw alreadyReviewed();
    throw error;
  }
}

/** A product's reviews, newest first, keyset-paginated on (created_at, id). */
export async function listReviews(ctx: RequestContext, product: Product, args: PageArgs): Promise<ReviewConnection> {
  const size = pageSize(args.first);
  const fingerprint = queryFingerprint({ reviewsOf: product.id });
  const position = args.after ? decodeCursor(args.after, 'created', fingerprint) : null;
  const after =
    position?.kind === 'created'
      ? { $or: [{ createdAt: { $lt: position.createdAt } }, { createdAt: position.createdAt, id: { $lt: position.id } }] }
      : {};
  const rows = await ctx.em.find(ReviewEntity, { productId: product.id, ...after }, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: size + 1 });
  const page = pageOf(rows, size, args.after, (row) => encodeCursor({ kind: 'created', createdAt: row.createdAt, id: row.id }, fingerprint));
  return {
    edges: page.items.map((row, index) => ({ cursor: page.cursors[index]!, node: toReview(row) })),
    pageInfo: page.pageInfo,
    totalCount: product.reviewCount,
  };
}
