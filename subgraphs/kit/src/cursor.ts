import { badInput } from './errors';
import { isUuid } from './ids';

/** Position of a row in a newest-first keyset listing: (at desc, id desc), id a UUID. */
export interface KeysetPosition {
  at: Date;
  id: string;
}

const MAX_CURSOR_LENGTH = 256;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Opaque keyset cursor: base64url of `{"t": iso time, "i": id}`. */
export const encodeCursor = (position: KeysetPosition): string =>
  Buffer.from(JSON.stringify({ t: position.at.toISOString(), i: position.id }), 'utf8').toString('base64url');

/** Decodes a cursor made by `encodeCursor`; anything else is BAD_USER_INPUT. */
export function decodeCursor(cursor: string, field = 'after'): KeysetPosition {
  const invalid = () => badInput('Invalid cursor', field);
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) throw invalid();
  const bytes = Buffer.from(cursor, 'base64url');
  if (bytes.toString('base64url') !== cursor) throw invalid();
  let document: unknown;
  try {
    document = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid();
  }
  const { t, i } = (document ?? {}) as { t?: unknown; i?: unknown };
  if (typeof t !== 'string' || !isUuid(i)) throw invalid();
  const at = new Date(t);
  if (Number.isNaN(at.getTime()) || at.toISOString() !== t) throw invalid();
  return { at, id: i.toLowerCase() };
}
