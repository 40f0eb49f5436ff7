/**
 * pppd runs /etc/ppp/ip-up (and run-parts its hooks) with six arguments:
 *   interface tty speed local-address remote-address ipparam
 * and the same values in PPP_* variables, in an otherwise empty environment.
 * By hand, `ip-up ppp1` names just the interface. Pure.
 */
import { ConfigError } from '../errors.js';
import { interfaceNameRule, isInterfaceName, parseAddress } from '../net/address.js';
import type { LinkEvent } from './types.js';

export function parsePppEvent(
  action: LinkEvent['action'],
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): LinkEvent {
  const hook = action === 'up' ? 'ip-up' : 'ip-down';
  const usage = `pppd passes: interface tty speed local-address remote-address [ipparam]; by hand: ${hook} IFACE`;
  const iface = argv[0] ?? env.PPP_IFACE;
  if (iface === undefined || iface === '') {
    throw new ConfigError(`no interface given; ${usage}`);
  }
  if (!isInterfaceName(iface)) {
    throw new ConfigError(`argument 1 (interface) ${JSON.stringify(iface)} is not a valid interface name: ${interfaceNameRule}; ${usage}`);
  }
  const manual = argv.length <= 1 && env.PPP_LOCAL === undefined;
  if (manual) return { action, iface };

  const local = argv[3] ?? env.PPP_LOCAL;
  const peer = argv[4] ?? env.PPP_REMOTE;
  const ipparam = argv[5] ?? env.PPP_IPPARAM;
  const checked = (value: string | undefined, position: number, what: string) => {
    const parsed = value === undefined ? undefined : parseAddress(value);
    if (!parsed || parsed.family !== 4) {
      throw new ConfigError(
        `argument ${position} (${what}) ${JSON.stringify(value ?? '')} is not an IPv4 address; ${usage}`,
      );
    }
    return parsed.address;
  };
  return {
    action,
    iface,
    local: checked(local, 4, 'local address'),
    peer: checked(peer, 5, 'remote address'),
    ...(ipparam ? { ipparam } : {}),
  };
}
