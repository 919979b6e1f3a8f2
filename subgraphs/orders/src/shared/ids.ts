import { badInput } from '../../../kit/src';

export const MAX_PRODUCT_ID_LENGTH = 100;

/** A client-supplied product id: catalog owns the format, orders only bounds it. */
export function requireProductId(productId: string, field = 'productId'): string {
  const trimmed = productId.trim();
  if (trimmed === '') throw badInput(`${field} must not be empty`, field);
  if (trimmed.length > MAX_PRODUCT_ID_LENGTH) throw badInput(`${field} must be at most ${MAX_PRODUCT_ID_LENGTH} characters`, field);
  return trimmed;
}
