import { createHash } from 'node:crypto';
import { badInput } from '../../../kit/src';
import { isUuid } from './ids';

/**
 * Opaque keyset cursors: base64url of a small JSON document. `k` tells which ordering
 * the cursor belongs to, `f` fingerprints the query (search and filters) it came from,
 * so a cursor replayed against another query, edited or truncated is refused.
 */
export type CursorPosition =
  | { kind: 'created'; createdAt: Date; id: string }
  | { kind: 'rank'; rank: number; id: string };

interface CursorDocument {
  v: 1;
  k: 'c' | 'r';
  f: string;
  t?: string;
  r?: number;
  i: string;
}

const MAX_CURSOR_LENGTH = 512;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** A short, stable fingerprint of whatever defines a result set. */
export function queryFingerprint(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 12);
}

export function encodeCursor(position: CursorPosition, fingerprint: string): string {
  const document: CursorDocument =
    position.kind === 'created'
      ? { v: 1, k: 'c', f: fingerprint, t: position.createdAt.toISOString(), i: position.id }
      : { v: 1, k: 'r', f: fingerprint, r: position.rank, i: position.id };
  return Buffer.from(JSON.stringify(document), 'utf8').toString('base64url');
}

const invalid = (field: string) => badInput('Invalid cursor', field);

/** Decodes a cursor for the ordering `kind` of the query `fingerprint`; anything else is BAD_USER_INPUT. */
export function decodeCursor(cursor: string, kind: CursorPosition['kind'], fingerprint: string, field = 'after'): CursorPosition {
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) throw invalid(field);
  const bytes = Buffer.from(cursor, 'base64url');
  // Refuse non-canonical encodings (stray bits), which Buffer would silently accept.
  if (bytes.toString('base64url') !== cursor) throw invalid(field);
  let document: Partial<CursorDocument>;
  try {
    document = JSON.parse(bytes.toString('utf8')) as Partial<CursorDocument>;
  } catch {
    throw invalid(field);
  }
  if (typeof document !== 'object' || document === null || document.v !== 1 || !isUuid(document.i)) throw invalid(field);
  if (document.f !== fingerprint) throw badInput('Cursor does not belong to this query', field);
  const id = document.i.toLowerCase();
  if (kind === 'created' && document.k === 'c' && typeof document.t === 'string') {
    const createdAt = new Date(document.t);
    if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== document.t) throw invalid(field);
    return { kind, createdAt, id };
  }
  if (kind === 'rank' && document.k === 'r' && typeof document.r === 'number' && Number.isFinite(document.r) && document.r >= 0) {
    return { kind, rank: document.r, id };
  }
  throw invalid(field);
}
