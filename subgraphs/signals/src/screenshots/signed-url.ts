import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a signature protects: a stored PNG, or a chart page Chromium is sent to. */
export type SignedPurpose = 'screenshot-file' | 'chart-page';

export type Verdict = 'ok' | 'expired' | 'invalid';

/** Shortest signing secret accepted (bytes): HMAC-SHA256 wants a key of at least its output size. */
export const MIN_URL_SECRET_BYTES = 32;

/**
 * HMAC-SHA256 signatures over `<subject>\n<expires>` with one key per purpose (derived from the
 * secret), so a signature made for a chart page is never valid for a file and vice versa.
 */
export class UrlSigner {
  private readonly keys: Record<SignedPurpose, Buffer>;

  constructor(secret: string) {
    if (Buffer.byteLength(secret) < MIN_URL_SECRET_BYTES) throw new Error(`the screenshot URL secret must be at least ${MIN_URL_SECRET_BYTES} bytes`);
    const derive = (purpose: SignedPurpose) => createHmac('sha256', secret).update(`mercado-signals:${purpose}`).digest();
    this.keys = { 'screenshot-file': derive('screenshot-file'), 'chart-page': derive('chart-page') };
  }

  /** `expires` is in seconds since the epoch. */
  sign(purpose: SignedPurpose, subject: string, expires: number): string {
    return createHmac('sha256', this.keys[purpose]).update(`${subject}\n${expires}`).digest('base64url');
  }

  /** Checks a signature in constant time; `expires` and `signature` come from the query string. */
  verify(purpose: SignedPurpose, subject: string, expires: string | null, signature: string | null, now = Date.now()): Verdict {
    if (!expires || !signature || !/^\d{1,12}$/.test(expires)) return 'invalid';
    const expected = Buffer.from(this.sign(purpose, subject, Number(expires)));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
    return Number(expires) * 1000 <= now ? 'expired' : 'ok';
  }
}

/** Seconds since the epoch, `ttlSeconds` from now. */
export const expiresIn = (ttlSeconds: number, now = Date.now()): number => Math.floor(now / 1000) + Math.max(1, Math.floor(ttlSeconds));
