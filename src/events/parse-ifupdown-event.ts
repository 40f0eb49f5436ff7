/**
 * ifupdown runs /etc/network/if-up.d/multiwan (MODE=start, PHASE=post-up)
 * and /etc/network/if-post-down.d/multiwan (MODE=stop, PHASE=post-down) with
 * IFACE, METHOD, ADDRFAM and every stanza option as IF_<OPTION>. Only
 * `static` stanzas are multiwan's to report: `ppp`, `dhcp`, `manual` and the
 * rest are reported by pppd's, dhclient's or dhcpcd's hooks, so no event is
 * applied twice. The next hop is the stanza's own `multiwan-gateway` option
 * (IF_MULTIWAN_GATEWAY): ifupdown's `gateway` writes a default route into
 * main, and a second stanza with one fails on "File exists". IF_ADDRESS
 * comes without its prefix length. Pure. undefined: not multiwan's to report.
 */
import { ConfigError } from '../errors.js';
import type { Family } from '../net/address.js';
import type { LinkEvent } from './types.js';
import { envAddress, envInterface } from './env-values.js';

type Env = Readonly<Record<string, string | undefined>>;

export function parseIfupdownEvent(env: Env): LinkEvent | undefined {
  if (env.METHOD !== 'static') return undefined;
  const family: Family | undefined = env.ADDRFAM === 'inet' ? 4 : env.ADDRFAM === 'inet6' ? 6 : undefined;
  if (!family) return undefined;
  const action = env.MODE === 'start' ? 'up' : env.MODE === 'stop' ? 'down' : undefined;
  if (!action) throw new ConfigError(`ifupdown: MODE=${JSON.stringify(env.MODE ?? '')} is neither start nor stop`);
  const iface = envInterface(env, 'IFACE', 'ifupdown');
  const base = { iface, kind: 'static' as const, reason: action === 'up' ? 'ifup' : 'ifdown', families: [family] };
  if (action === 'down') return { ...base, action };
  const local = envAddress(env, 'IF_ADDRESS', family);
  const gateway = envAddress(env, 'IF_MULTIWAN_GATEWAY', family) ?? envAddress(env, 'IF_GATEWAY', family);
  const fs = { ...(local ? { local } : {}), ...(gateway ? { gateway } : {}) };
  return { ...base, action, ...(family === 4 ? { v4: fs } : { v6: fs }) };
}
