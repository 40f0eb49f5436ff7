/**
 * `multiwan link up|down NAME-or-IFACE [--local A] [--peer B] [--gateway G]`:
 * any other link (OpenVPN --up/--down, wg-quick PostUp/PreDown, the admin's
 * scripts). Each option may be given once per family (its family is the
 * address's); what is left out is read from the live interface. With no
 * address at all, `up` brings up every family the interface has an address
 * in, and `down` takes down both. Pure.
 */
import { ConfigError } from '../errors.js';
import { interfaceNameRule, isInterfaceName, parseAddress, type Family } from '../net/address.js';
import type { FamilyState } from '../state/types.js';
import type { LinkEvent } from './types.js';

export interface LinkCommand {
  action: string;
  target: string;
  local?: string[];
  peer?: string[];
  gateway?: string[];
}

export function parseLinkCommand(command: LinkCommand): LinkEvent {
  const problems: string[] = [];
  if (command.action !== 'up' && command.action !== 'down') problems.push(`link: ${JSON.stringify(command.action)} is neither up nor down`);
  if (!isInterfaceName(command.target) && !/^[A-Za-z0-9_-]{1,32}$/.test(command.target)) {
    problems.push(`link: ${JSON.stringify(command.target)} is neither a link name nor an interface name: ${interfaceNameRule}`);
  }
  const families: Partial<Record<Family, FamilyState>> = {};
  for (const key of ['local', 'peer', 'gateway'] as const) {
    for (const text of command[key] ?? []) {
      const parsed = parseAddress(text);
      if (!parsed) {
        problems.push(`link: --${key} ${JSON.stringify(text)} is not an IPv4 or IPv6 address`);
        continue;
      }
      const fs = (families[parsed.family] ??= {});
      if (fs[key]) problems.push(`link: --${key} given twice for IPv${parsed.family}`);
      fs[key] = parsed.address;
    }
  }
  if (command.action === 'down' && Object.keys(families).length) problems.push('link: down takes no addresses');
  if (problems.length) throw new ConfigError(problems.join('\n'), problems);
  const given = ([4, 6] as const).filter((f) => families[f]);
  const action = command.action as 'up' | 'down';
  return {
    action,
    iface: command.target,
    link: command.target,
    kind: 'manual',
    reason: `multiwan link ${action}`,
    // Empty: every family the interface has an address in (up), or both (down).
    families: action === 'down' ? [4, 6] : given,
    ...(families[4] ? { v4: families[4] } : {}),
    ...(families[6] ? { v6: families[6] } : {}),
  };
}
