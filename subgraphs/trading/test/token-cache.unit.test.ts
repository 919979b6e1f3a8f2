import { AppError, type Viewer } from '../../kit/src';
import { cacheVerifiedTokens } from '../src/shared/token-cache';

/** A compact JWT whose payload carries `exp` (seconds); the signature part is never looked at by the cache. */
const token = (exp: number | null, subject = 'user-1'): string =>
  ['header', Buffer.from(JSON.stringify(exp === null ? { sub: subject } : { sub: subject, exp })).toString('base64url'), 'signature'].join('.');

describe('cacheVerifiedTokens', () => {
  let now: number;
  let calls: string[];
  const viewer = (id: string): Viewer => ({ id, role: 'TRADER', scopes: [] });
  const verify = async (value: string): Promise<Viewer> => {
    calls.push(value);
    if (value.startsWith('bad')) throw new AppError('UNAUTHENTICATED', 'Invalid or expired access token');
    return viewer(JSON.parse(Buffer.from(value.split('.')[1]!, 'base64url').toString('utf8')).sub);
  };

  beforeEach(() => {
    now = 1_000_000_000_000;
    calls = [];
  });

  it('verifies a token once, then answers from memory for at most the TTL', async () => {
    const cached = cacheVerifiedTokens(verify, { ttlMs: 60_000, now: () => now });
    const value = token(now / 1000 + 3600);
    expect(await cached(value)).toEqual(viewer('user-1'));
    now += 59_999;
    expect(await cached(value)).toEqual(viewer('user-1'));
    expect(calls).toHaveLength(1);
    now += 1;
    await cached(value);
    expect(calls).toHaveLength(2);
  });

  it('never answers from memory once the token expired', async () => {
    const cached = cacheVerifiedTokens(verify, { ttlMs: 60_000, now: () => now });
    const value = token(now / 1000 + 10);
    await cached(value);
    now += 10_000;
    await cached(value);
    expect(calls).toHaveLength(2);
  });

  it('remembers neither refused tokens nor tokens without exp', async () => {
    const cached = cacheVerifiedTokens(verify, { now: () => now });
    await expect(cached('bad.token.here')).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    await expect(cached('bad.token.here')).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    const eternal = token(null);
    await cached(eternal);
    await cached(eternal);
    expect(calls).toEqual(['bad.token.here', 'bad.token.here', eternal, eternal]);
  });

  it('keeps at most `size` tokens, forgetting the oldest first', async () => {
    const cached = cacheVerifiedTokens(verify, { size: 2, now: () => now });
    const [a, b, c] = ['a', 'b', 'c'].map((subject) => token(now / 1000 + 3600, subject));
    for (const value of [a!, b!, c!, c!, b!, a!]) await cached(value);
    // c pushed a out; b and c were still remembered; a is verified again.
    expect(calls).toEqual([a, b, c, a]);
  });
});
