import { ConfigError } from '../errors.js';
import type { Runner } from './run-command.js';

interface JsonAddr {
  family?: string;
  local?: string;
  address?: string;
  scope?: string;
}

/** The IPv4 local and peer address of a live interface (manual `ip-up ppp1`). */
export async function readInterfaceAddress(run: Runner, iface: string): Promise<{ local: string; peer?: string }> {
  const { stdout } = await run(['ip', '-4', '-j', 'addr', 'show', 'dev', iface], { okCodes: [0, 1] });
  let info: JsonAddr[] = [];
  try {
    const parsed = JSON.parse(stdout || '[]') as { addr_info?: JsonAddr[] }[];
    info = parsed.flatMap((entry) => entry.addr_info ?? []);
  } catch {
    info = [];
  }
  const addr = info.find((a) => a.family === 'inet' && a.scope !== 'host' && a.local);
  if (!addr?.local) {
    throw new ConfigError(`interface ${iface} has no IPv4 address (ip -4 addr show dev ${iface}); bring it up first, or pass pppd's six arguments`);
  }
  return { local: addr.local, ...(addr.address && addr.address !== addr.local ? { peer: addr.address } : {}) };
}
