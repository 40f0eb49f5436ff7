// The real DHCP clients on a router uplink, in the router sandbox (see
// sandbox.ts): isc-dhcp-client's dhclient (running /sbin/dhclient-script,
// which sources /etc/dhcp/dhclient-{enter,exit}-hooks.d/*) and dhcpcd-base's
// dhcpcd (running /usr/lib/dhcpcd/dhcpcd-run-hooks, which sources
// /usr/lib/dhcpcd/dhcpcd-hooks/*). Both run in the foreground with their
// logs followed; their pid, lease and DUID files stay in the lab.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Background, ExecResult } from './exec.js';
import { sandboxExec, sandboxStart } from './sandbox.js';
import type { Lab } from './types.js';

export interface DhcpClient {
  /** the client in the foreground, its stdout and stderr lines followed */
  process: Background;
  /** Runs the same client with these control arguments (e.g. ['-n'] for dhcpcd) in the sandbox. */
  control(args: string[]): Promise<ExecResult>;
  /** dhclient -r (hook: RELEASE) / dhcpcd -k (hooks: STOP, STOPPED with a DHCP RELEASE sent); the daemon then exits. */
  release(): Promise<ExecResult>;
  /** dhclient -x (hook: STOP) / dhcpcd -x (hooks: STOP, STOPPED, no RELEASE); the daemon then exits. */
  stop(): Promise<ExecResult>;
}

export interface DhclientOptions {
  /** 6: `dhclient -6` (default 4) */
  family?: 4 | 6;
  /** IPv6: ask for an address (-N, the default when pd is not set) and/or a delegated prefix (-P) */
  na?: boolean;
  pd?: boolean;
  /** dhclient.conf text (-cf); default the host's /etc/dhcp/dhclient.conf (only read) */
  conf?: string;
  /** more arguments before the interface */
  args?: string[];
}

const EXIT_MS = 10_000;

/**
 * `dhclient -d -v` on `iface` (a background process). Its pid and lease files
 * are /var/lib/dhcp/dhclient[6].IFACE.{pid,leases} inside the sandbox (the
 * lab's dir). It renews when the ISP's T1 says (startIspDhcp renewSeconds):
 * dhclient has no "renew now".
 */
export async function startDhclient(lab: Lab, iface: string, o: DhclientOptions = {}): Promise<DhcpClient> {
  const v6 = o.family === 6;
  const name = `dhclient${v6 ? '6' : ''}.${iface}`;
  const family = v6 ? ['-6', ...(o.na || !o.pd ? ['-N'] : []), ...(o.pd ? ['-P'] : [])] : [];
  const conf = o.conf === undefined ? [] : ['-cf', await writeLabFile(lab, `${name}.conf`, o.conf)];
  const files = ['-pf', `/var/lib/dhcp/${name}.pid`, '-lf', `/var/lib/dhcp/${name}.leases`];
  const common = [...family, ...files, ...conf, ...(o.args ?? [])];
  const daemon = sandboxStart(lab, ['dhclient', '-d', '-v', ...common, iface]);
  return client(lab, daemon, (args) => ['dhclient', ...args, '-v', ...common, iface], ['-r'], ['-x']);
}

export interface DhcpcdOptions {
  /** dhcpcd.conf text (-f); default DHCPCD_CONF, plus the PD block when pd is set */
  conf?: string;
  /**
   * request an address and a delegated prefix by DHCPv6 (ia_na 1, ia_pd 2,
   * RS on this interface only). The prefix is assigned nowhere; to delegate
   * it (e.g. `ia_pd 2 lan0/1`, reason DELEGATED6 on lan0) write `conf` and
   * pass the LAN interface in `args` too.
   */
  pd?: boolean;
  /** -4 or -6 only (default both) */
  family?: 4 | 6;
  args?: string[];
}

/**
 * Debian 12's /etc/dhcpcd.conf options, plus `noarp` and `nodelay` (without
 * them dhcpcd spends ~7 s on a random delay and ARP probes before BOUND) and
 * `nodev` (no udev in a namespace: with several interfaces dhcpcd would wait
 * for udev forever and give up with "interface not found").
 */
export const DHCPCD_CONF = `# multiwan lab: Debian 12's dhcpcd.conf, plus noarp, nodelay and nodev
duid
persistent
vendorclassid
option domain_name_servers, domain_name, domain_search
option classless_static_routes
option interface_mtu
option host_name
option rapid_commit
require dhcp_server_identifier
slaac private
noarp
nodelay
nodev
`;

/**
 * `dhcpcd -B -d -f CONF IFACE`: one daemon for this interface in the
 * foreground (its control socket and pid in /run/dhcpcd, leases and DUID in
 * /var/lib/dhcpcd, both lab dirs). control(['-n']) renews now.
 */
export async function startDhcpcd(lab: Lab, iface: string, o: DhcpcdOptions = {}): Promise<DhcpClient> {
  const pd = `noipv6rs\ninterface ${iface}\n  ipv6rs\n  ia_na 1\n  ia_pd 2\n`;
  const text = o.conf ?? `${DHCPCD_CONF}${o.pd ? pd : ''}`;
  const conf = await writeLabFile(lab, `dhcpcd.${iface}.conf`, text);
  const common = ['-f', conf, ...(o.family ? [`-${o.family}`] : []), ...(o.args ?? [])];
  const daemon = sandboxStart(lab, ['dhcpcd', '-B', '-d', ...common, iface]);
  return client(lab, daemon, (args) => ['dhcpcd', ...common, ...args, iface], ['-k'], ['-x']);
}

function client(
  lab: Lab,
  daemon: Background,
  argv: (args: string[]) => string[],
  releaseArgs: string[],
  stopArgs: string[],
): DhcpClient {
  const control = (args: string[]): Promise<ExecResult> => sandboxExec(lab, argv(args), { reject: false, timeoutMs: 30_000 });
  const ending = async (args: string[]): Promise<ExecResult> => {
    const r = await control(args);
    await daemon.waitExit(EXIT_MS);
    return r;
  };
  return { process: daemon, control, release: () => ending(releaseArgs), stop: () => ending(stopArgs) };
}

async function writeLabFile(lab: Lab, name: string, text: string): Promise<string> {
  const file = path.join(lab.dirs.root, name);
  await writeFile(file, text);
  return file;
}
