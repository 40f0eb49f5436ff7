/**
 * pppd runs /etc/ppp/ip-up (and run-parts its hooks) with six arguments:
 *   interface tty speed local-address remote-address ipparam
 * and the same values in PPP_* variables, in an otherwise empty environment.
 * /etc/ppp/ipv6-up passes the same six, with the two IPv6CP link-local
 * addresses (pppd 2.4.9 writes them zero-padded: fe80::0c11:52ff:fe01:0110;
 * they are canonicalised here). By hand, `ip-up ppp1` names just the
 * interface: the addresses are then read from it. Pure.
 */
import { ConfigError } from '../errors.js';
import { interfaceNameRule, isInterfaceName, parseAddress, type Family } from '../net/address.js';
import type { LinkEvent } from './types.js';

export function parsePppEvent(
  action: LinkEvent['action'],
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  family: Family = 4,
): LinkEvent {
  const hook = `${family === 6 ? 'ipv6' : 'ip'}-${action}`;
  const usage = `pppd passes: interface tty speed local-address remote-address [ipparam]; by hand: ${hook} IFACE`;
  const iface = argv[0] ?? env.PPP_IFACE;
  if (iface === undefined || iface === '') {
    throw new ConfigError(`no interface given; ${usage}`);
  }
  if (!isInterfaceName(iface)) {
    throw new ConfigError(`argument 1 (interface) ${JSON.stringify(iface)} is not a valid interface name: ${interfaceNameRule}; ${usage}`);
  }
  const base = { action, iface, kind: 'ppp', reason: hook, families: [family] } as const;
  const manual = argv.length <= 1 && env.PPP_LOCAL === undefined;
  if (manual) return { ...base, families: [family] };

  const local = argv[3] ?? env.PPP_LOCAL;
  const peer = argv[4] ?? env.PPP_REMOTE;
  const ipparam = argv[5] ?? env.PPP_IPPARAM;
  const what = family === 4 ? 'an IPv4 address' : 'an IPv6 link-local address';
  const checked = (value: string | undefined, position: number, name: string) => {
    const parsed = value === undefined ? undefined : parseAddress(value);
    if (!parsed || parsed.family !== family) {
      throw new ConfigError(`argument ${position} (${name}) ${JSON.stringify(value ?? '')} is not ${what}; ${usage}`);
    }
    return parsed.address;
  };
  const localAddress = checked(local, 4, 'local address');
  const peerAddress = checked(peer, 5, 'remote address');
  return {
    ...base,
    families: [family],
    // IPv6CP gives link-locals only: the peer's is the next hop; the link's global address, if any, is read from the interface.
    ...(family === 4 ? { v4: { local: localAddress, peer: peerAddress } } : { v6: { peer: peerAddress } }),
    ...(ipparam ? { ipparam } : {}),
  };
}
