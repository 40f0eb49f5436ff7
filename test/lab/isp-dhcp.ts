// The DHCP and router-advertisement servers of an ISP with an Ethernet
// uplink, run in the ISP's namespace on its customer port `cust0`:
//   - DHCPv4: dnsmasq (the default; it raises any lease under 120 s to 120 s,
//     so quick RENEW/REBIND come from short T1/T2 instead), or isc-dhcp-server's
//     `dhcpd -4` (any lease, e.g. 10 s, for EXPIRE within a test);
//   - IPv6 (labs with `ipv6: true`): dnsmasq serving DHCPv6 addresses from the
//     WAN /64 plus RAs with the M flag, or `dhcpd -6` serving addresses AND
//     prefix delegation of the ISP's whole /48 (dnsmasq does no PD), with
//     dnsmasq sending RAs only (`ra-only`: prefix with the A flag, no M flag).
// Lease files live in the lab dir and survive a restart, so a client keeps
// its address when the ISP restarts with another router option.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { findUplink, type IspRole, type Uplink } from './address-plan.js';
import { spawnBackground, type Background } from './exec.js';
import { internalsOf } from './internals.js';
import { nsOf } from './topology.js';
import type { Lab } from './types.js';

export interface IspDhcpOptions {
  /** DHCPv4 server (default dnsmasq). */
  v4?: 'dnsmasq' | 'dhcpd' | 'none';
  /** IPv6 servers, ipv6 labs only (default dnsmasq: DHCPv6 addresses + RA; dhcpd: addresses + PD, RA by dnsmasq). */
  v6?: 'dnsmasq' | 'dhcpd' | 'none';
  /** lease time in seconds, both families (default 120; dnsmasq never goes below 120) */
  leaseSeconds?: number;
  /** DHCPv4 T1 and T2 (options 58/59); default half and 7/8 of the lease */
  renewSeconds?: number;
  rebindSeconds?: number;
  /** the router option (3) handed out (default the ISP's first address, uplink.v4.gateway; the ISP also holds v4.gateway2) */
  router?: string;
  /** DHCPv4 pool (default uplink.v4.pool); moving it away from a client's address makes its next renewal a NAK */
  pool?: [string, string];
}

const READY_MS = 10_000;

/**
 * (Re)starts the ISP's servers with `opts` laid over the options they ran
 * with last (at first: the uplink spec's). Stops the running ones first.
 * Resolves once every server listens.
 */
export async function startIspDhcp(lab: Lab, isp: IspRole, opts: IspDhcpOptions = {}): Promise<void> {
  const u = findUplink(lab.uplinks, isp);
  if (u.kind !== 'dhcp' && u.kind !== 'static') throw new Error(`startIspDhcp: ${isp} is a ${u.kind} uplink, not Ethernet`);
  const i = internalsOf(lab);
  const merged: IspDhcpOptions = { ...i.ispDhcpOptions.get(isp), ...opts };
  await stopIspDhcp(lab, isp);
  i.ispDhcpOptions.set(isp, merged);
  const dir = path.join(lab.dirs.root, isp);
  await mkdir(dir, { recursive: true });
  const ns = nsOf(lab.ns, isp);
  const procs: Background[] = [];
  i.ispServers.set(isp, procs);
  const start = async (argv: string[], ready: RegExp): Promise<void> => {
    const bg = spawnBackground(ns, argv, { mergeStderr: true });
    i.background.add(bg);
    procs.push(bg);
    if ((await bg.waitLine((l) => ready.test(l), READY_MS)) === undefined) {
      await bg.stop(0);
      throw new Error(`lab: ${argv[0]} in ${ns} did not start\n${bg.lines.slice(-20).join('\n')}`);
    }
  };
  const v4 = merged.v4 ?? 'dnsmasq';
  const v6 = lab.ipv6 && u.v6 ? merged.v6 ?? 'dnsmasq' : 'none';
  const dnsmasqArgs = [
    ...(v4 === 'dnsmasq' ? dnsmasqV4(u, merged) : []),
    ...(v6 === 'dnsmasq' ? dnsmasqV6(u, merged, 'dhcp') : v6 === 'dhcpd' ? dnsmasqV6(u, merged, 'ra-only') : []),
  ];
  if (dnsmasqArgs.length > 0) await start(dnsmasq(dir, dnsmasqArgs), /dnsmasq[^:]*: started/);
  if (v4 === 'dhcpd') {
    const conf = path.join(dir, 'dhcpd4.conf');
    await writeFile(conf, dhcpd4Conf(u, merged));
    await start(await dhcpd(dir, 4, conf), /Server starting service/);
  }
  if (v6 === 'dhcpd') {
    const conf = path.join(dir, 'dhcpd6.conf');
    await writeFile(conf, dhcpd6Conf(u, merged));
    await start(await dhcpd(dir, 6, conf), /Server starting service/);
  }
}

/** Stops the ISP's DHCP/RA servers (clients then fail to renew; leases run out). */
export async function stopIspDhcp(lab: Lab, isp: IspRole): Promise<void> {
  const i = internalsOf(lab);
  const procs = i.ispServers.get(isp) ?? [];
  await Promise.all(procs.map((bg) => bg.stop(1000)));
  procs.forEach((bg) => i.background.delete(bg));
  i.ispServers.delete(isp);
}

/** What the ISP's servers logged so far (stdout and stderr), for assertions and failure messages. */
export function ispDhcpLog(lab: Lab, isp: IspRole): string[] {
  return (internalsOf(lab).ispServers.get(isp) ?? []).flatMap((bg) => bg.lines);
}

function dnsmasq(dir: string, args: string[]): string[] {
  return [
    'dnsmasq', '--keep-in-foreground', '--log-facility=-', '--conf-file=/dev/null', '--port=0',
    '--no-hosts', '--no-resolv', '--user=root', '--group=root', '--interface=cust0', '--bind-dynamic',
    '--dhcp-authoritative', `--dhcp-leasefile=${path.join(dir, 'dnsmasq.leases')}`,
    `--pid-file=${path.join(dir, 'dnsmasq.pid')}`, '--log-dhcp', ...args,
  ];
}

const lease = (o: IspDhcpOptions): number => o.leaseSeconds ?? 120;

function dnsmasqV4(u: Uplink, o: IspDhcpOptions): string[] {
  const [from, to] = o.pool ?? u.v4.pool ?? [];
  return [
    `--dhcp-range=${from},${to},${u.v4.netmask},${lease(o)}s`,
    `--dhcp-option=3,${o.router ?? u.v4.gateway}`,
    ...(o.renewSeconds ? [`--dhcp-option=option:T1,${o.renewSeconds}`] : []),
    ...(o.rebindSeconds ? [`--dhcp-option=option:T2,${o.rebindSeconds}`] : []),
  ];
}

function dnsmasqV6(u: Uplink, o: IspDhcpOptions, mode: 'dhcp' | 'ra-only'): string[] {
  const [from, to] = u.v6?.pool ?? [];
  return [
    '--enable-ra',
    '--ra-param=cust0,10,600',
    mode === 'dhcp' ? `--dhcp-range=${from},${to},64,${lease(o)}s` : '--dhcp-range=::,constructor:cust0,ra-only',
  ];
}

async function dhcpd(dir: string, family: 4 | 6, conf: string): Promise<string[]> {
  const leases = path.join(dir, `dhcpd${family}.leases`);
  await writeFile(leases, '', { flag: 'a' }); // dhcpd refuses to start without one
  return ['dhcpd', `-${family}`, '-f', '-d', '-cf', conf, '-lf', leases, '-pf', path.join(dir, `dhcpd${family}.pid`), 'cust0'];
}

function timers(o: IspDhcpOptions): string[] {
  return [
    `default-lease-time ${lease(o)};`,
    `max-lease-time ${lease(o)};`,
    `min-lease-time ${lease(o)};`,
    ...(o.renewSeconds ? [`option dhcp-renewal-time ${o.renewSeconds};`] : []),
    ...(o.rebindSeconds ? [`option dhcp-rebinding-time ${o.rebindSeconds};`] : []),
  ];
}

function dhcpd4Conf(u: Uplink, o: IspDhcpOptions): string {
  const [from, to] = o.pool ?? u.v4.pool ?? [];
  const net = u.v4.net.split('/')[0];
  return [
    'authoritative;',
    ...timers(o),
    `subnet ${net} netmask ${u.v4.netmask} {`,
    `  range ${from} ${to};`,
    `  option routers ${o.router ?? u.v4.gateway};`,
    '}',
    '',
  ].join('\n');
}

function dhcpd6Conf(u: Uplink, o: IspDhcpOptions): string {
  const v6 = u.v6;
  if (!v6?.wan || !v6.pool) throw new Error(`dhcpd -6: ${u.isp} has no IPv6 WAN`);
  const [pfx, len] = v6.prefix.split('/');
  return [
    ...timers(o),
    `preferred-lifetime ${Math.ceil((lease(o) * 3) / 4)};`,
    `subnet6 ${v6.wan} {`,
    `  range6 ${v6.pool[0]} ${v6.pool[1]};`,
    `  prefix6 ${pfx} ${pfx} /${len};`,
    '}',
    '',
  ].join('\n');
}
