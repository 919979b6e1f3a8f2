import { badInput } from '../../../kit/src';
import { openCredentials, resealCredentials, sealCredentials, type CredentialKeyring } from '../../../kit/src/secrets';
import { TRADINGVIEW_CHART_ID, type TradingViewCookie } from '../screenshots/screenshot.capture';

/** TradingView's sign-in cookies: the session and its signature. Every other cookie pasted is dropped. */
export const TRADINGVIEW_SESSION_COOKIES = ['sessionid', 'sessionid_sign'] as const;
/** What `setTradingViewSession(cookies:)` accepts at most (a whole exported cookie jar fits). */
export const MAX_COOKIES_INPUT_LENGTH = 32_768;
/** pino redact paths for the session's cookies wherever a log line might carry them. */
export const TRADINGVIEW_LOG_PATHS = ['cookies', '*.cookies', 'sealedCookies', '*.sealedCookies', '*.*.sealedCookies', 'cookie', '*.cookie'];

/** RFC 6265 cookie-octets: no whitespace, quotes, commas, semicolons or backslashes. */
const COOKIE_VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]{1,4096}$/;
const CHART_URL = /^https?:\/\/(?:[a-z0-9-]+\.)*tradingview\.com\/chart\/(?:[^/?#]*\/)?([A-Za-z0-9]{1,64})\/?(?:[?#].*)?$/i;

/** One stored cookie: the domain is always the configured TradingView host, so none is kept. */
export interface StoredCookie {
  name: string;
  /** Seconds since the epoch; absent for a session cookie. */
  expires?: number;
  value: string;
}

interface SealedSession {
  cookies: StoredCookie[];
}

/** The sealed blob is bound to its owner (and to this purpose): another user's job cannot open it. */
const associatedData = (userId: string): string => `tradingview-session:${userId}`;

const invalid = (message: string) => badInput(message, 'cookies');

/** A pasted cookie's expiry in seconds (Cookie-Editor's `expirationDate`, Puppeteer's `expires`); undefined for a session cookie. */
function expiryOf(entry: Record<string, unknown>): number | undefined {
  const raw = entry.expirationDate ?? entry.expires;
  return typeof raw === 'number' && Number.isFinite(raw) && raw > 0 ? Math.floor(raw) : undefined;
}

function fromJson(text: string): { name: string; value: string; expires?: number }[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The message must not quote the text: it holds the cookies.
    throw invalid('cookies look like JSON but do not parse; paste a JSON cookie list or a Cookie header (sessionid=…; sessionid_sign=…)');
  }
  if (!Array.isArray(parsed)) throw invalid('a JSON cookie list must be an array of { "name", "value" } objects');
  return parsed.map((entry, index) => {
    if (typeof entry !== 'object' || entry === null || typeof (entry as { name?: unknown }).name !== 'string' || typeof (entry as { value?: unknown }).value !== 'string') {
      throw invalid(`cookie ${index + 1} of the list has no string name and value`);
    }
    const cookie = entry as Record<string, unknown> & { name: string; value: string };
    return { name: cookie.name.trim(), value: cookie.value, expires: expiryOf(cookie) };
  });
}

function fromHeader(text: string): { name: string; value: string }[] {
  return text
    .replace(/^cookie\s*:/i, '')
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part, index) => {
      const equals = part.indexOf('=');
      if (equals <= 0) throw invalid(`part ${index + 1} of the Cookie header is not name=value`);
      const value = part.slice(equals + 1).trim();
      return { name: part.slice(0, equals).trim(), value: value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value };
    });
}

/**
 * TradingView's session cookies from what the user pasted: a JSON cookie list (as browser cookie
 * extensions and Puppeteer export them) or a Cookie header (`sessionid=…; sessionid_sign=…`). Keeps
 * sessionid and sessionid_sign, which must both be there with plain cookie values, unexpired.
 * Errors name cookies, never values.
 */
export function parseSessionCookies(input: string, now: Date = new Date()): StoredCookie[] {
  const text = input.trim();
  if (text === '') throw invalid('cookies must not be empty: paste the sessionid and sessionid_sign cookies of a signed-in TradingView browser');
  if (text.length > MAX_COOKIES_INPUT_LENGTH) throw invalid(`cookies must be at most ${MAX_COOKIES_INPUT_LENGTH} characters`);
  const pasted = text.startsWith('[') || text.startsWith('{') ? fromJson(text) : fromHeader(text);
  const kept = new Map<string, StoredCookie>();
  for (const cookie of pasted) {
    if (!(TRADINGVIEW_SESSION_COOKIES as readonly string[]).includes(cookie.name)) continue;
    if (!COOKIE_VALUE.test(cookie.value)) throw invalid(`the ${cookie.name} cookie's value is not a valid cookie value (1 to 4096 characters, no spaces, quotes, commas or semicolons)`);
    const { expires } = cookie as { expires?: number };
    if (expires !== undefined && expires * 1000 <= now.getTime()) throw invalid(`the ${cookie.name} cookie has expired; sign in to TradingView again and copy fresh cookies`);
    const seen = kept.get(cookie.name);
    if (seen && seen.value !== cookie.value) throw invalid(`the ${cookie.name} cookie is given twice with different values`);
    kept.set(cookie.name, expires === undefined ? { name: cookie.name, value: cookie.value } : { name: cookie.name, value: cookie.value, expires });
  }
  const missing = TRADINGVIEW_SESSION_COOKIES.filter((name) => !kept.has(name));
  if (missing.length > 0) throw invalid(`cookies must include TradingView's ${missing.join(' and ')} cookie${missing.length > 1 ? 's' : ''} (from a signed-in browser)`);
  return TRADINGVIEW_SESSION_COOKIES.map((name) => kept.get(name)!);
}

/** A default chart: its id, or its URL (https://www.tradingview.com/chart/<id>/); null for "" (none). */
export function parseChartId(input: string): string | null {
  const text = input.trim();
  if (text === '') return null;
  const id = CHART_URL.exec(text)?.[1] ?? text;
  if (!TRADINGVIEW_CHART_ID.test(id)) throw badInput('defaultChartId must be a TradingView chart id (letters and digits, as in tradingview.com/chart/<id>/) or that chart URL', 'defaultChartId');
  return id;
}

export function sealSessionCookies(keyring: CredentialKeyring, cookies: StoredCookie[], userId: string): string {
  const session: SealedSession = { cookies };
  return sealCredentials(keyring, session, associatedData(userId));
}

/** The cookies Chromium sends to TradingView for this user's job; throws when the blob is not this user's or was tampered with. */
export function openSessionCookies(keyring: CredentialKeyring, sealed: string, userId: string): TradingViewCookie[] {
  const session = openCredentials<SealedSession>(keyring, sealed, associatedData(userId));
  return session.cookies.map((cookie) => ({ name: cookie.name, value: cookie.value, httpOnly: true, ...(cookie.expires ? { expires: cookie.expires } : {}) }));
}

/** Re-seals under the current key (rotation); throws when the blob cannot be opened. */
export function resealSessionCookies(keyring: CredentialKeyring, sealed: string, userId: string): string {
  return resealCredentials(keyring, sealed, associatedData(userId));
}
