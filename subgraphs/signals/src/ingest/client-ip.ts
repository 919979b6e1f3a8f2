import type { IncomingMessage } from 'node:http';

/** `::ffff:1.2.3.4` (an IPv4 peer on a dual-stack socket) as `1.2.3.4`; anything else as it is. */
export function normalizeIp(address: string | undefined | null): string | null {
  if (!address) return null;
  const trimmed = address.trim();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(trimmed);
  return mapped ? mapped[1]! : trimmed.toLowerCase();
}

/**
 * The address a request came from. X-Forwarded-For is believed only when the TCP peer is a
 * configured proxy, and then read from the right: the first address that is not one of our proxies
 * is the client (entries further left were written by the client itself and prove nothing).
 */
export function clientIp(req: IncomingMessage, trustedProxies: ReadonlySet<string>): string | null {
  const peer = normalizeIp(req.socket.remoteAddress);
  if (!peer || !trustedProxies.has(peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((hop) => normalizeIp(hop))
    .filter((hop): hop is string => hop !== null && hop !== '');
  for (let index = hops.length - 1; index >= 0; index -= 1) {
    if (!trustedProxies.has(hops[index]!)) return hops[index]!;
  }
  return hops[0] ?? peer;
}
