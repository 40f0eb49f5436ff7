// pppd's side of a PPP link: the scripts pppd runs when IPCP or IPv6CP comes
// up or goes down, run as pppd runs them (cleared environment, six
// arguments) inside the router sandbox, so Debian's /etc/ppp/ip-up and
// /etc/ppp/ipv6-up run-parts the lab's ip-up.d / ipv6-up.d.
import { findUplink, pppdLinkLocalArg } from './address-plan.js';
import { sandboxArgv } from './sandbox.js';
import type { Lab, PppResult } from './types.js';

const PPP_TIMEOUT_MS = 30_000;
/** Debian's scripts exit 0 whatever run-parts says: a hook's failure only shows in its output. */
const HOOK_FAILED = /exited with return code|exited because of uncaught signal|terminated by signal/;

export type PppScript = 'ip-up' | 'ip-down' | 'ipv6-up' | 'ipv6-down';

export interface PppOptions {
  ipparam?: string;
  /** the six arguments, instead of the uplink's */
  args?: string[];
  /** bounds the whole run (default 30 s); on expiry everything it started is killed and hookFailed is true */
  timeoutMs?: number;
}

/** Runs /etc/ppp/<script> with these arguments the way pppd does. */
export async function runPppScript(lab: Lab, script: PppScript, args: string[], timeoutMs = PPP_TIMEOUT_MS): Promise<PppResult> {
  const argv = sandboxArgv(lab.dirs, ['env', '-i', `/etc/ppp/${script}`, ...args]);
  const r = await lab.exec(lab.ns.rtr, argv, { reject: false, timeoutMs });
  const hookFailed = r.exitCode !== 0 || HOOK_FAILED.test(r.stderr) || HOOK_FAILED.test(r.stdout);
  return { ...r, hookFailed };
}

/** ip-up / ip-down of a p2p uplink: iface, tty, speed, local, peer, ipparam. */
export function pppIpv4(lab: Lab, action: 'up' | 'down', iface: string, o: PppOptions = {}): Promise<PppResult> {
  const args = o.args ?? defaultArgs(lab, iface, 4, o.ipparam);
  return runPppScript(lab, action === 'up' ? 'ip-up' : 'ip-down', args, o.timeoutMs);
}

/**
 * IPv6CP up or down on a p2p uplink of an `ipv6: true` lab, as pppd 2.4.9
 * does it: up adds the link-local pair (`addr LOCAL peer PEER`) and then runs
 * ipv6-up; down removes it first, then runs ipv6-down (the interface has lost
 * them when the script runs). Arguments 4 and 5 are the link-locals the way
 * pppd writes them, zero-padded (`fe80::0c11:52ff:fe01:0102`).
 */
export async function ppp6(lab: Lab, action: 'up' | 'down', iface: string, o: PppOptions = {}): Promise<PppResult> {
  const u = findUplink(lab.uplinks, iface);
  if (!u.v6 || (u.kind !== 'ppp' && u.kind !== 'vpn')) throw new Error(`ppp6: ${iface} is not a p2p uplink of an ipv6 lab`);
  const addr = ['ip', '-6', 'addr', action === 'up' ? 'replace' : 'del', u.v6.linkLocal, 'peer', u.v6.peerLinkLocal, 'dev', u.iface];
  await lab.exec(lab.ns.rtr, action === 'up' ? [...addr, 'nodad'] : addr, { reject: action === 'up' });
  const args = o.args ?? defaultArgs(lab, iface, 6, o.ipparam);
  return runPppScript(lab, action === 'up' ? 'ipv6-up' : 'ipv6-down', args, o.timeoutMs);
}

function defaultArgs(lab: Lab, iface: string, family: 4 | 6, ipparam = ''): string[] {
  const u = findUplink(lab.uplinks, iface);
  if (family === 4) return [u.iface, '/dev/ttyS0', '115200', u.v4.local, u.v4.peer ?? '', ipparam];
  if (!u.v6) throw new Error(`ppp6: ${iface} has no IPv6`);
  return [u.iface, '/dev/ttyS0', '115200', pppdLinkLocalArg(u.v6.linkLocal), pppdLinkLocalArg(u.v6.peerLinkLocal), ipparam];
}
