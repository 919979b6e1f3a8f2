import { badInput } from '../../../kit/src';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Pattern class-validator decorators use for ID arguments. */
export const UUID_PATTERN = UUID;

export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

/** Postgres prints uuids in lower case; keys compared with rows must be too. */
export const normalizeId = (id: string): string => id.trim().toLowerCase();

/** A client-supplied id that must be a UUID; anything else is the client's mistake. */
export function requireUuid(id: string, field = 'id'): string {
  const normalized = normalizeId(id);
  if (!isUuid(normalized)) throw badInput(`${field} must be a UUID`, field);
  return normalized;
}
