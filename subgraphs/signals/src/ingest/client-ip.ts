import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/** Whether an address is one of our proxies. */
export type ProxyMatcher = (address: string) => boolean;

/** An address (`10.0.0.7`) or a CIDR range (`10.0.0.0/8`, `fd00::/8`); null when it is neither. */
export function parseProxyEntry(entry: string): { address: string; prefix: number | null; family: 'ipv4' | 'ipv6' } | null {
  const [address = '', prefixText, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return null;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (prefixText === undefined) return { address, prefix: null, family };
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  return prefix <= (version === 4 ? 32 : 128) ? { address, prefix, family } : null;
}

/** Matches the configured proxies: addresses and CIDR ranges (entries that parse; config refuses the rest). */
export function proxyMatcher(entries: readonly string[]): ProxyMatcher {
  // Without proxies no address needs checking (a BlockList check builds a SocketAddress each time).
  if (entries.length === 0) return () => false;
  const proxies = new BlockList();
  for (const entry of entries) {
    const parsed = parseProxyEntry(entry);
    if (!parsed) continue;
    if (parsed.prefix === null) proxies.addAddress(parsed.address, parsed.family);
    else proxies.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return (address) => {
    const version = isIP(address);
    return version !== 0 && proxies.check(address, version === 4 ? 'ipv4' : 'ipv6');
  };
}

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
export function clientIp(req: IncomingMessage, isProxy: ProxyMatcher): string | null {
  const peer = normalizeIp(req.socket.remoteAddress);
  if (!peer || !isProxy(peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((hop) => normalizeIp(hop))
    .filter((hop): hop is string => hop !== null && hop !== '');
  for (let index = hops.length - 1; index >= 0; index -= 1) {
    if (!isProxy(hops[index]!)) return hops[index]!;
  }
  return hops[0] ?? peer;
}
