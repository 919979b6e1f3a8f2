import { decodeCursor, encodeCursor, queryFingerprint } from '../src/shared/cursor';

const ID = '00000000-0000-4000-8000-000000000001';
const codeOf = (run: () => unknown): unknown => {
  try {
    run();
    return 'no error';
  } catch (error) {
    return (error as { extensions?: { code?: string } }).extensions?.code;
  }
};

describe('keyset cursors', () => {
  const fingerprint = queryFingerprint({ kind: 'PLAN' });

  it('round-trips creation-time and rank positions', () => {
    const createdAt = new Date('2024-05-06T07:08:09.123Z');
    expect(decodeCursor(encodeCursor({ kind: 'created', createdAt, id: ID }, fingerprint), 'created', fingerprint)).toEqual({ kind: 'created', createdAt, id: ID });
    expect(decodeCursor(encodeCursor({ kind: 'rank', rank: 0.0607927, id: ID }, fingerprint), 'rank', fingerprint)).toEqual({ kind: 'rank', rank: 0.0607927, id: ID });
  });

  it('is opaque url-safe text', () => {
    expect(encodeCursor({ kind: 'created', createdAt: new Date(), id: ID }, fingerprint)).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('refuses cursors of another ordering or another query', () => {
    const created = encodeCursor({ kind: 'created', createdAt: new Date(), id: ID }, fingerprint);
    expect(codeOf(() => decodeCursor(created, 'rank', fingerprint))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => decodeCursor(created, 'created', queryFingerprint({ kind: 'GOOD' })))).toBe('BAD_USER_INPUT');
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'a+b/c='],
    ['non-canonical base64', `${encodeCursor({ kind: 'rank', rank: 1, id: ID }, 'f')}B`],
    ['not JSON', Buffer.from('hello').toString('base64url')],
    ['JSON null', Buffer.from('null').toString('base64url')],
    ['wrong version', Buffer.from(JSON.stringify({ v: 9, k: 'c', f: 'x', t: new Date().toISOString(), i: ID })).toString('base64url')],
    ['bad id', Buffer.from(JSON.stringify({ v: 1, k: 'c', f: 'x', t: new Date().toISOString(), i: 'robert); drop table' })).toString('base64url')],
    ['bad time', Buffer.from(JSON.stringify({ v: 1, k: 'c', f: 'x', t: '2024-13-45', i: ID })).toString('base64url')],
    ['negative rank', Buffer.from(JSON.stringify({ v: 1, k: 'r', f: 'x', r: -1, i: ID })).toString('base64url')],
    ['too long', 'A'.repeat(1000)],
  ])('refuses a cursor that is %s', (_label, cursor) => {
    expect(codeOf(() => decodeCursor(cursor, 'created', 'x'))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => decodeCursor(cursor, 'rank', 'x'))).toBe('BAD_USER_INPUT');
  });
});
