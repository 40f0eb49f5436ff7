/**
 * isc-dhcp-client's dhclient-script sources the exit hook with `reason`,
 * `interface` and the lease in `new_*` / `old_*` variables (IPv4:
 * new_ip_address, new_routers; IPv6: new_ip6_address, new_ip6_prefix for a
 * delegated prefix). The fragment hands them to the hook; this turns them
 * into a LinkEvent. Pure. undefined: a reason that changes nothing (PREINIT,
 * MEDIUM, DEPREF6, ...).
 *
 * TIMEOUT: no server answered, and dhclient-script falls back to the old
 * lease if it is still valid and its router answers a ping, else flushes the
 * interface's addresses (its exit status is not visible to exit hooks). So
 * TIMEOUT is an `up` with the lease's address, and the link-state transition
 * brings the link up only if the interface really holds it.
 */
import { ConfigError } from '../errors.js';
import type { LinkEvent } from './types.js';
import { envAddress, envAddressList, envInterface, envPrefixList } from './env-values.js';

type Env = Readonly<Record<string, string | undefined>>;

const UP4 = ['BOUND', 'RENEW', 'REBIND', 'REBOOT', 'TIMEOUT'];
const DOWN4 = ['EXPIRE', 'FAIL', 'RELEASE', 'STOP'];
const UP6 = ['BOUND6', 'RENEW6', 'REBIND6', 'REBOOT6'];
const DOWN6 = ['EXPIRE6', 'RELEASE6', 'STOP6'];

export function parseDhclientEvent(env: Env): LinkEvent | undefined {
  const reason = env.reason ?? '';
  if (![...UP4, ...DOWN4, ...UP6, ...DOWN6].includes(reason)) return undefined;
  const iface = envInterface(env, 'interface', 'dhclient');
  const base = { iface, kind: 'dhcp' as const, reason: `dhclient ${reason}` };
  if (DOWN4.includes(reason)) return { ...base, action: 'down', families: [4] };
  if (DOWN6.includes(reason)) return { ...base, action: 'down', families: [6] };
  if (UP4.includes(reason)) {
    const local = envAddress(env, 'new_ip_address', 4);
    if (!local) throw new ConfigError(`dhclient ${reason} for ${iface} without new_ip_address; nothing to bring up`);
    const gateway = envAddressList(env, 'new_routers', 4)[0];
    return { ...base, action: 'up', families: [4], v4: { local, ...(gateway ? { gateway } : {}) } };
  }
  // DHCPv6 leases carry no router: the next hop comes from the router advertisement (read from the kernel).
  const local = envAddress(env, 'new_ip6_address', 6);
  const prefixes = envPrefixList(env, 'new_ip6_prefix', 6);
  return { ...base, action: 'up', families: [6], v6: { ...(local ? { local } : {}), ...(prefixes.length ? { prefixes } : {}) } };
}
