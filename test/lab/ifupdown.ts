// ifupdown on a router uplink, in the router sandbox (see sandbox.ts): the
// lab's interfaces file is /etc/network/interfaces, ifupdown's state
// (/run/network) is a lab dir, and /etc/network/if-*.d hold only what the
// test installed. ifup/ifdown pass their own environment to the hooks, so
// the hooks see PATH plus what ifupdown sets (IFACE, MODE, PHASE, METHOD,
// ADDRFAM, LOGICAL, VERBOSITY, IF_<OPTION>...).
import { writeFile } from 'node:fs/promises';
import type { Uplink } from './address-plan.js';
import type { ExecResult } from './exec.js';
import { sandboxExec, sandboxPath } from './sandbox.js';
import type { Lab } from './types.js';

/** Writes the sandbox's /etc/network/interfaces. */
export async function writeInterfaces(lab: Lab, text: string): Promise<void> {
  await writeFile(sandboxPath(lab, '/etc/network/interfaces'), text);
}

/** `ifup IFACE` / `ifdown IFACE` (plus `args`, e.g. ['-v'] or ['--force']); never throws on a failure. */
export function ifupdown(
  lab: Lab,
  action: 'up' | 'down',
  iface: string,
  opts: { args?: string[]; timeoutMs?: number } = {},
): Promise<ExecResult> {
  const argv = [action === 'up' ? 'ifup' : 'ifdown', ...(opts.args ?? []), iface];
  return sandboxExec(lab, argv, { reject: false, timeoutMs: opts.timeoutMs ?? 30_000 });
}

/**
 * The stanzas multiwan reads for a static Ethernet uplink: `inet static`
 * with address, netmask and `multiwan-gateway` (not ifupdown's `gateway`,
 * which writes a default route into main), and `inet6 static` in an ipv6 lab.
 * `gateway` overrides the ISP's first address (e.g. uplink.v4.gateway2).
 */
export function staticStanza(u: Uplink, opts: { gateway?: string; gateway6?: string } = {}): string {
  const lines = [
    `iface ${u.iface} inet static`,
    `    address ${u.v4.local}`,
    `    netmask ${u.v4.netmask ?? '255.255.255.255'}`,
    `    multiwan-gateway ${opts.gateway ?? u.v4.gateway ?? u.v4.peer}`,
  ];
  if (u.v6?.local && u.v6.gateway) {
    lines.push(
      '',
      `iface ${u.iface} inet6 static`,
      `    address ${u.v6.local}/64`,
      `    multiwan-gateway ${opts.gateway6 ?? u.v6.gateway}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
