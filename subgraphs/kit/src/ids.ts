import { badInput } from './errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

/** A client-supplied id: must be a UUID (Postgres prints them in lower case). */
export function requireUuid(id: string, field = 'id'): string {
  const normalized = id.trim().toLowerCase();
  if (!isUuid(normalized)) throw badInput(`${field} must be a UUID`, field);
  return normalized;
}
