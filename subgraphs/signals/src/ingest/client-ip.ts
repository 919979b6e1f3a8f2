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
 * The block an address is counted in: an IPv4 address alone, an IPv6 one by its /64 (`2001:db8:1:2::/64`).
 * One host commonly holds a whole /64 and can send from any address in it, so counting IPv6 senders
 * address by address would give each of them 2^64 allowances.
 */
export function addressBlock(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = address.split('%')[0]!.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (::ffff:1.2.3.4 is normalized earlier) lies in the low 64 bits either way.
  const missing = 8 - left.length - right.length - right.filter((group) => group.includes('.')).length;
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, missing)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/64`;
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
