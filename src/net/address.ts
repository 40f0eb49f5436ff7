/**
 * Parsing and canonical text of addresses and prefixes. Pure.
 * Everything that reaches an `ip` or `nft` command line passes through here.
 */
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;

export interface Prefix {
  family: Family;
  /** Canonical text: `a.b.c.d/len`, or the bare address for a host (/32, /128). */
  text: string;
  address: string;
  length: number;
}

/** Canonical address text, or undefined when `text` is not one plain IPv4/IPv6 address. */
export function parseAddress(text: string): { family: Family; address: string } | undefined {
  if (typeof text !== 'string' || text.length > 45) return undefined;
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    return { family: 4, address: ipaddr.IPv4.parse(text).toString() };
  }
  if (text.includes(':') && ipaddr.IPv6.isValid(text) && !text.includes('%')) {
    return { family: 6, address: ipaddr.IPv6.parse(text).toString() };
  }
  return undefined;
}

/**
 * A prefix `addr/len` (or a bare address, a host prefix). Returns a reason
 * string when it is not valid, so callers can tell the admin how to fix it.
 */
export function parsePrefix(text: string): Prefix | string {
  if (typeof text !== 'string') return 'is not a string';
  const [addrText = '', lenText, extra] = text.split('/');
  if (extra !== undefined) return `"${text}" has more than one "/"`;
  const addr = parseAddress(addrText);
  if (!addr) return `"${text}" is not an IPv4 or IPv6 prefix (like 192.0.2.0/24 or 2001:db8::/32)`;
  const max = addr.family === 4 ? 32 : 128;
  let length = max;
  if (lenText !== undefined) {
    if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) {
      return `"${text}" has a prefix length that is not 0 to ${max}`;
    }
    length = Number(lenText);
  }
  const network = networkOf(addr.address, length);
  if (network !== addr.address) {
    return `"${text}" has host bits set; write ${network}/${length}`;
  }
  const textOut = length === max ? addr.address : `${addr.address}/${length}`;
  return { family: addr.family, text: textOut, address: addr.address, length };
}

/** The network address of `address/length`. */
export function networkOf(address: string, length: number): string {
  const parsed = ipaddr.parse(address);
  const bytes = parsed.toByteArray();
  for (let bit = length; bit < bytes.length * 8; bit++) {
    const i = bit >> 3;
    bytes[i] = (bytes[i] ?? 0) & ~(0x80 >> (bit & 7));
  }
  return ipaddr.fromByteArray(bytes).toString();
}

/** Interface names as the kernel allows them, minus what would be unsafe to pass on. */
export function isInterfaceName(name: unknown): name is string {
  return typeof name === 'string' && /^[A-Za-z0-9_.:-]{1,15}$/.test(name) && name !== '.' && name !== '..';
}

export const interfaceNameRule =
  '1 to 15 letters, digits, "_", ".", ":" or "-" (no "/", no spaces)';

/** Whether `address` lies in `prefix` (canonical texts; false across families). */
export function prefixContains(prefix: string, address: string): boolean {
  const parsed = parsePrefix(prefix);
  const addr = parseAddress(address);
  if (typeof parsed === 'string' || !addr || parsed.family !== addr.family) return false;
  return ipaddr.parse(addr.address).match(ipaddr.parse(parsed.address), parsed.length);
}
