import { badInput } from '../../../kit/src';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

/** A client-supplied order id: must be a UUID (Postgres prints them in lower case). */
export function requireUuid(id: string, field = 'id'): string {
  const normalized = id.trim().toLowerCase();
  if (!isUuid(normalized)) throw badInput(`${field} must be a UUID`, field);
  return normalized;
}

export const MAX_PRODUCT_ID_LENGTH = 100;

/** A client-supplied product id: catalog owns the format, orders only bounds it. */
export function requireProductId(productId: string, field = 'productId'): string {
  const trimmed = productId.trim();
  if (trimmed === '') throw badInput(`${field} must not be empty`, field);
  if (trimmed.length > MAX_PRODUCT_ID_LENGTH) throw badInput(`${field} must be at most ${MAX_PRODUCT_ID_LENGTH} characters`, field);
  return trimmed;
}
