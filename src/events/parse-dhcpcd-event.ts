/**
 * dhcpcd's dhcpcd-run-hooks sources /usr/lib/dhcpcd/dhcpcd-hooks/62-multiwan
 * with `reason`, `interface`, `protocol` and the lease (IPv4: new_ip_address,
 * new_routers; DHCPv6: new_dhcp6_ia_na1_ia_addr1, and the prefixes delegated
 * to the uplink as new_dhcp6_ia_pd1_prefix1 with _length; router
 * advertisements: nd1_from, the router). Captured from Debian 12's dhcpcd 9.4
 * (test/lab/CLIENT-VARIABLES.md): PREINIT, NOCARRIER, CARRIER before BOUND;
 * STOP then STOPPED (and RELEASE6) for `dhcpcd -k`; a carrier loss gives
 * NOCARRIER then EXPIRE/EXPIRE6. new_delegated_dhcp6_prefix comes only with
 * DELEGATED6 on the downstream interface a piece of the prefix went to, not
 * on the uplink. Pure. undefined: a reason that changes nothing.
 */
import type { LinkEvent } from './types.js';
import { envAddress, envAddressList, envInterface, envPrefixList } from './env-values.js';

/** Every new_dhcp6_ia_pdN_prefixM with its _length, as canonical prefixes. */
function delegatedPrefixes(env: Env): string[] {
  const keys = Object.keys(env).filter((k) => /^new_dhcp6_ia_pd\d+_prefix\d+$/.test(k)).sort();
  return keys.flatMap((key) => envPrefixList({ [key]: `${env[key]}/${env[`${key}_length`] ?? ''}` }, key, 6));
}

type Env = Readonly<Record<string, string | undefined>>;

const UP4 = ['BOUND', 'RENEW', 'REBIND', 'REBOOT', 'STATIC', 'INFORM'];
const DOWN4 = ['EXPIRE', 'NAK', 'RELEASE', 'STOP'];
const UP6 = ['BOUND6', 'RENEW6', 'REBIND6', 'REBOOT6', 'INFORM6'];
const DOWN6 = ['EXPIRE6', 'RELEASE6', 'STOP6'];
/** The interface lost its carrier, went away, or dhcpcd stopped entirely: nothing of either family is left. */
const DOWN_BOTH = ['NOCARRIER', 'DEPARTED', 'STOPPED'];

export function parseDhcpcdEvent(env: Env): LinkEvent | undefined {
  const reason = env.reason ?? '';
  const known = [...UP4, ...DOWN4, ...UP6, ...DOWN6, ...DOWN_BOTH, 'ROUTERADVERT'];
  if (!known.includes(reason)) return undefined;
  const iface = envInterface(env, 'interface', 'dhcpcd');
  const base = { iface, kind: 'dhcp' as const, reason: `dhcpcd ${reason}` };
  if (DOWN_BOTH.includes(reason)) return { ...base, action: 'down', families: [4, 6] };
  if (DOWN4.includes(reason)) return { ...base, action: 'down', families: [4] };
  if (DOWN6.includes(reason)) return { ...base, action: 'down', families: [6] };
  if (UP4.includes(reason)) {
    const local = envAddress(env, 'new_ip_address', 4);
    if (!local) return undefined;
    const gateway = envAddressList(env, 'new_routers', 4)[0];
    return { ...base, action: 'up', families: [4], v4: { local, ...(gateway ? { gateway } : {}) } };
  }
  if (reason === 'ROUTERADVERT') {
    // An advertisement received (if_up) or expired (if_down): the router is the next hop. Only the router: its
    // nd1_addr1 is the SLAAC address beside the DHCPv6 lease's, and reporting it as the link's address made every
    // advertisement replace the lease's address and drop the delegated prefixes (a changed address starts the
    // family afresh) until the next RENEW6. The transition reads an address from the interface when none is known.
    if (env.if_down === 'true') return { ...base, action: 'down', families: [6] };
    const gateway = envAddress(env, 'nd1_from', 6);
    if (!gateway) return undefined;
    return { ...base, action: 'up', families: [6], v6: { gateway } };
  }
  const local = envAddress(env, 'new_dhcp6_ia_na1_ia_addr1', 6);
  const prefixes = delegatedPrefixes(env);
  if (!local && !prefixes.length) return undefined;
  return { ...base, action: 'up', families: [6], v6: { ...(local ? { local } : {}), ...(prefixes.length ? { prefixes } : {}) } };
}
