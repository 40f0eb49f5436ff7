// End to end, issue 8: the links that are not pppd's IPv4, each reported by
// the real program that brings it up, in the lab's router sandbox (a private
// mount namespace holding the lab's /etc/network/interfaces, ifupdown's state,
// the hook directories, /etc/multiwan and /run/multiwan):
//   - a static business line: `ifup`/`ifdown` of an `inet static` +
//     `inet6 static` stanza with `multiwan-gateway`, beside a PPP link;
//   - stanzas that are not multiwan's to report (`manual`, `dhcp` run for real
//     with dhclient, `ppp`): the ifupdown hook leaves them alone;
//   - a VPN third link reported with `multiwan link up|down` (by name, by
//     interface, with --local/--peer) and a policy sending one port through it;
//   - `masquerade = false` (a secondary router behind an upstream router that
//     routes the LAN back): the server sees the LAN client itself.
// Every claim is checked by real traffic (the source the server saw; every
// ISP drops any source but its customer's and counts it) and by the kernel.
//
// Lab: isp1 PPP (ppp0), isp2 static Ethernet (eth2), isp3 VPN-like p2p
// (tun0), isp4 DHCP Ethernet (eth4, dnsmasq), dual stack.
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ADDR6,
  PORTS,
  createLab,
  ifupdown,
  installRecorder,
  needsTools,
  productEnv,
  readRecords,
  sandboxExec,
  sandboxInstall,
  spoofDrops,
  startServer,
  startStream,
  staticStanza,
  whoamiDetailed,
  writeInterfaces,
  type HookRecord,
  type IspRole,
  type Lab,
  type Uplink,
  type WhoamiOptions,
} from '../lab/lab.js';
import { NODE } from '../lab/exec.js';
import { CLIENT_JS } from '../lab/traffic.js';
import { dist, ppp } from './helpers.js';

const skip = needsTools('ifup', 'dhclient', 'dnsmasq');
const title = `link kinds end to end: ifupdown, multiwan link, masquerade = false${skip ? ` (skipped: ${skip})` : ''}`;

/** The server's second whoami port: what the VPN policy (port 7000) does not match. */
const OTHER_PORT = 7002;
const ISPS: IspRole[] = ['isp1', 'isp2', 'isp3', 'isp4'];

describe.skipIf(!!skip)(title, () => {
  let lab: Lab;
  let ppp0: Uplink;
  let eth2: Uplink;
  let tun0: Uplink;
  let eth4: Uplink;

  const rtr = async (argv: string[]) => (await lab.exec(lab.ns.rtr, argv)).stdout;
  const multiwan = (args: string[]) => lab.exec(lab.ns.rtr, [dist('multiwan'), ...args], { env: productEnv(lab), reject: false });
  const seen = async (opts: WhoamiOptions) => {
    const r = await whoamiDetailed(lab, { timeoutMs: 2000, ...opts });
    return r.counts;
  };
  /** The router's own connections to the server, bound to one of its addresses: what the server saw. */
  const fromRouter = async (bind: string, count: number) => {
    const host = isIP(bind) === 6 ? ADDR6.server : lab.addr.server;
    const argv = [NODE, CLIENT_JS, 'whoami', '--host', host, '--port', String(PORTS.whoami), '--bind', bind,
      '--count', String(count), '--timeout', '2000', '--concurrency', '4'];
    return (JSON.parse((await lab.exec(lab.ns.rtr, argv)).stdout) as { counts: Record<string, number> }).counts;
  };
  const linkState = async (name: string) => {
    const file = path.join(lab.dirs.run, `link-${name}.json`);
    return existsSync(file) ? (JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>) : undefined;
  };
  const tableOf = async (name: string): Promise<number> => {
    const status = JSON.parse((await multiwan(['status', '--json'])).stdout) as { links: { name: string; table?: number }[] };
    const table = status.links.find((l) => l.name === name)?.table;
    if (table === undefined) throw new Error(`no table for ${name}`);
    return table;
  };
  const noSpoofing = async () => {
    for (const isp of ISPS) expect(await spoofDrops(lab, isp), `packets ${isp} dropped for a wrong source`).toBe(0);
  };
  const ifupOk = async (action: 'up' | 'down', iface: string) => {
    const r = await ifupdown(lab, action, iface);
    expect(r.exitCode, `if${action} ${iface}: ${r.stdout}${r.stderr}`).toBe(0);
    return `${r.stdout}${r.stderr}`;
  };

  beforeAll(async () => {
    for (const bundle of ['ip-up', 'ip-down', 'ifupdown-hook', 'dhcp-hook', 'multiwan']) {
      if (!existsSync(dist(bundle))) throw new Error(`dist/${bundle} is missing: run \`npm run build\` (npm test does)`);
    }
    lab = await createLab({ ipv6: true, uplinks: ['ppp', 'static', 'vpn', { kind: 'dhcp', dhcp: { v6: 'none' } }] });
    [ppp0, eth2, tun0, eth4] = lab.uplinks as [Uplink, Uplink, Uplink, Uplink];
    await lab.installHooks(dist('ip-up'), dist('ip-down'));
    await sandboxInstall(lab, '/etc/network/if-up.d/multiwan', dist('ifupdown-hook'));
    await sandboxInstall(lab, '/etc/network/if-post-down.d/multiwan', dist('ifupdown-hook'));
    await sandboxInstall(lab, '/usr/lib/multiwan/dhcp-hook', dist('dhcp-hook'));
    await sandboxInstall(lab, '/etc/dhcp/dhclient-enter-hooks.d/multiwan', path.resolve('hooks/dhclient-enter-hook'), 0o644);
    await sandboxInstall(lab, '/etc/dhcp/dhclient-exit-hooks.d/multiwan', path.resolve('hooks/dhclient-exit-hook'), 0o644);
    await installRecorder(lab, ['ifupdown']);
    await startServer(lab, { whoami: [OTHER_PORT], host: '::' });
  });

  afterEach(async () => {
    // Each test starts from nothing multiwan made and every uplink unconfigured by ifupdown.
    for (const iface of [eth2.iface, eth4.iface]) await ifupdown(lab, 'down', iface, { args: ['--force'] });
    await multiwan(['down']);
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('ifup of a static stanza (inet + inet6, multiwan-gateway) brings the line into service beside ppp0; ifdown takes it out', async () => {
    await lab.writeConfig(`lan = ["192.168.10.0/24", "${eth2.v6!.lan}"]
[link.dsl]
interface = "${ppp0.iface}"
[link.biz]
interface = "${eth2.iface}"
prefixes6 = ["${eth2.v6!.prefix}"]
`);
    await ppp(lab, 'up', 'ppp0');
    await writeInterfaces(lab, staticStanza(eth2));
    const up = await ifupOk('up', eth2.iface);
    // One line per family, from if-up.d: the inet stanza, then the inet6 one.
    expect(up).toContain('multiwan: biz (eth2) up; in service: dsl, biz');
    expect(up).toContain('multiwan: biz (eth2) up (IPv6); in service: dsl, biz');

    // The state and the kernel: the gateway from multiwan-gateway, no default route in main.
    expect(await linkState('biz')).toMatchObject({
      iface: 'eth2',
      kind: 'static',
      v4: { local: eth2.v4.local, gateway: eth2.v4.gateway },
      v6: { local: eth2.v6!.local, gateway: eth2.v6!.gateway },
    });
    const table = await tableOf('biz');
    expect(await rtr(['ip', 'route', 'show', 'table', String(table)])).toContain(`default via ${eth2.v4.gateway} dev eth2`);
    expect(await rtr(['ip', '-6', 'route', 'show', 'table', String(table)])).toContain(`default via ${eth2.v6!.gateway} dev eth2`);
    expect(await rtr(['ip', '-6', 'rule'])).toMatch(new RegExp(`from ${eth2.v6!.prefix.replace('/', '\\/')} lookup ${table}`));
    expect(await rtr(['ip', 'route', 'show', 'default'])).toBe('');
    expect(await rtr(['ip', '-6', 'route', 'show', 'default'])).toBe('');

    // Traffic: new connections by both lines, each with its own source.
    const both = await seen({ count: 60 });
    expect(both.error ?? 0).toBe(0);
    expect(Object.keys(both).sort()).toEqual([ppp0.v4.local, eth2.v4.local].sort());
    // The router's own traffic from the line's addresses leaves by it.
    expect(await fromRouter(eth2.v4.local, 5)).toEqual({ [eth2.v4.local]: 5 });
    expect(await fromRouter(eth2.v6!.local!, 5)).toEqual({ [eth2.v6!.local!]: 5 });
    // IPv6 from the line's delegated prefix leaves through isp2, not NATed.
    expect(await seen({ from: ADDR6.client('isp2'), count: 10 })).toEqual({ [ADDR6.client('isp2')]: 10 });
    await noSpoofing();

    const down = await ifupOk('down', eth2.iface);
    expect(down).toMatch(/multiwan: biz \(eth2\) down/);
    const after = await linkState('biz');
    expect(after?.v4).toBeUndefined();
    expect(after?.v6).toBeUndefined();
    expect(await rtr(['ip', 'route', 'show', 'table', String(table)])).toBe('');
    expect(await rtr(['ip', '-6', 'route', 'show', 'table', String(table)])).toBe('');
    expect(await rtr(['ip', '-6', 'rule'])).not.toContain(eth2.v6!.prefix);
    expect(await seen({ count: 20 })).toEqual({ [ppp0.v4.local]: 20 });
    await noSpoofing();
  });

  it('manual, dhcp and ppp stanzas are left to their own hooks: the ifupdown hook applies nothing of them', async () => {
    await lab.writeConfig(`lan = ["192.168.10.0/24"]
[link.dsl]
interface = "${ppp0.iface}"
[link.biz]
interface = "${eth2.iface}"
[link.cable]
interface = "${eth4.iface}"
`);
    await ppp(lab, 'up', 'ppp0');
    const dsl = await linkState('dsl');
    const recorded = (await readRecords(lab, 'ifupdown')).length;
    const postUp = async (iface: string): Promise<HookRecord | undefined> =>
      (await readRecords(lab, 'ifupdown')).slice(recorded).find((r) => r.reason === 'post-up' && r.env.IFACE === iface);

    // manual: the admin's own commands configure the address (and would call `multiwan link up`).
    await writeInterfaces(lab, `iface ${eth2.iface} inet manual
    up ip addr add ${eth2.v4.local}/24 dev ${eth2.iface}
    down ip addr flush dev ${eth2.iface}
    multiwan-gateway ${eth2.v4.gateway}

iface ${eth4.iface} inet dhcp
`);
    const manual = await ifupOk('up', eth2.iface);
    expect((await postUp(eth2.iface))?.env).toMatchObject({ METHOD: 'manual', MODE: 'start', IF_MULTIWAN_GATEWAY: eth2.v4.gateway });
    expect(manual).not.toContain('multiwan:');
    expect(await rtr(['ip', '-br', '-4', 'addr', 'show', eth2.iface])).toContain(`${eth2.v4.local}/24`);
    expect(await linkState('biz')).toBeUndefined();

    // dhcp, for real: ifup runs dhclient against isp4's dnsmasq; dhclient's own
    // hook reports the lease, ifupdown's hook (METHOD=dhcp) adds nothing.
    const dhcp = await ifupOk('up', eth4.iface);
    expect((await postUp(eth4.iface))?.env).toMatchObject({ METHOD: 'dhcp', MODE: 'start' });
    const cable = await linkState('cable');
    expect(cable, dhcp).toMatchObject({ iface: 'eth4', kind: 'dhcp', v4: { gateway: eth4.v4.gateway } });
    const leased = (cable as { v4: { local: string } }).v4.local;
    expect(leased).toMatch(/^100\.64\.4\.1\d\d$/);
    expect(dhcp.match(/multiwan: cable \(eth4\) up/g) ?? []).toHaveLength(1);
    expect(await rtr(['ip', 'route', 'show', 'default'])).toBe(''); // the enter hook kept dhclient's router out of main
    const two = await seen({ count: 40 });
    expect(Object.keys(two).sort()).toEqual([ppp0.v4.local, leased].sort());

    // ppp: ifup would run `pon`, which needs a real modem; its hooks get what
    // ifupdown gives any stanza, so run the hook with that environment.
    const ifupdownEnv = (mode: 'start' | 'stop') => [
      'IFACE=ppp0', 'LOGICAL=ppp0', 'ADDRFAM=inet', 'METHOD=ppp', `MODE=${mode}`,
      `PHASE=${mode === 'start' ? 'post-up' : 'post-down'}`, 'VERBOSITY=0', 'IF_PROVIDER=dsl',
    ];
    for (const [mode, hook] of [['start', 'if-up.d'], ['stop', 'if-post-down.d']] as const) {
      const r = await sandboxExec(lab, ['env', ...ifupdownEnv(mode), `/etc/network/${hook}/multiwan`], { reject: false });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(`${r.stdout}${r.stderr}`).toBe('');
    }
    expect(await linkState('dsl')).toEqual(dsl);

    // ifdown of the manual and dhcp stanzas: only dhclient's RELEASE takes cable out.
    await ifupOk('down', eth2.iface);
    expect(await linkState('biz')).toBeUndefined();
    const release = await ifupOk('down', eth4.iface);
    expect(release.match(/multiwan: cable \(eth4\) down/g) ?? [], release).toHaveLength(1);
    expect((await linkState('cable'))?.v4).toBeUndefined();
    expect(await linkState('dsl')).toEqual(dsl);
    expect(await seen({ count: 20 })).toEqual({ [ppp0.v4.local]: 20 });
    await noSpoofing();
  });

  it('multiwan link up/down for a VPN third link: its policy port leaves by it, the rest by the balanced links; down falls back', async () => {
    await lab.writeConfig(`lan = ["192.168.10.0/24"]
[link.dsl]
interface = "${ppp0.iface}"
[link.biz]
interface = "${eth2.iface}"
[link.vpn]
interface = "${tun0.iface}"
tier = 2

[[policy]]
name = "via-vpn"
protocol = "tcp"
dst_port = [7000]
via = ["vpn"]
`);
    await ppp(lab, 'up', 'ppp0');
    await writeInterfaces(lab, staticStanza(eth2));
    await ifupOk('up', eth2.iface);
    const balanced = [ppp0.v4.local, eth2.v4.local].sort();
    const through = async () => ({ policy: await seen({ count: 20, port: 7000 }), rest: await seen({ count: 40, port: OTHER_PORT }) });

    // By its name, nothing given: the address and peer come from tun0.
    const byName = await multiwan(['link', 'up', 'vpn']);
    expect(byName.exitCode, byName.stderr).toBe(0);
    expect(byName.stdout).toContain('multiwan: vpn (tun0) up; in service: dsl, biz, vpn');
    expect(await linkState('vpn')).toMatchObject({ iface: 'tun0', kind: 'manual', v4: { local: tun0.v4.local, peer: tun0.v4.peer } });
    expect((await linkState('vpn'))?.v6).toBeUndefined(); // tun0 has only link-locals
    let t = await through();
    expect(t.policy).toEqual({ [tun0.v4.local]: 20 });
    expect(t.rest.error ?? 0).toBe(0);
    expect(Object.keys(t.rest).sort()).toEqual(balanced); // tier 2: never in the balanced default

    // By its interface: the policy falls back to the balanced links.
    const down = await multiwan(['link', 'down', 'tun0']);
    expect(down.exitCode, down.stderr).toBe(0);
    expect((await linkState('vpn'))?.v4).toBeUndefined();
    expect(await rtr(['ip', 'rule'])).not.toContain(`from ${tun0.v4.local} `);
    t = await through();
    expect(t.policy.error ?? 0).toBe(0);
    expect(Object.keys(t.policy).sort()).toEqual(balanced);

    // By its interface with the addresses given.
    const explicit = await multiwan(['link', 'up', 'tun0', '--local', tun0.v4.local, '--peer', tun0.v4.peer!]);
    expect(explicit.exitCode, explicit.stderr).toBe(0);
    expect(await linkState('vpn')).toMatchObject({ iface: 'tun0', kind: 'manual', v4: { local: tun0.v4.local, peer: tun0.v4.peer } });
    t = await through();
    expect(t.policy).toEqual({ [tun0.v4.local]: 20 });
    expect(Object.keys(t.rest).sort()).toEqual(balanced);

    await noSpoofing();
  });

  it('multiwan link up of a VPN with an IPv6 address: both families read from tun0, or given per family; its prefix leaves by it', async () => {
    const global6 = '2001:db8:3:ff::2';
    await lab.writeConfig(`lan = ["192.168.10.0/24", "${tun0.v6!.lan}"]
[link.dsl]
interface = "${ppp0.iface}"
[link.vpn]
interface = "${tun0.iface}"
prefixes6 = ["${tun0.v6!.prefix}"]
`);
    await ppp(lab, 'up', 'ppp0');
    await lab.exec(lab.ns.rtr, ['ip', '-6', 'addr', 'add', `${global6}/128`, 'dev', tun0.iface, 'nodad']);
    try {
      const table = async () => String(await tableOf('vpn'));
      const auto = await multiwan(['link', 'up', 'tun0']);
      expect(auto.exitCode, auto.stderr).toBe(0);
      expect(await linkState('vpn')).toMatchObject({ v4: { local: tun0.v4.local, peer: tun0.v4.peer }, v6: { local: global6 } });
      expect(await rtr(['ip', '-6', 'route', 'show', 'table', await table()])).toMatch(/^default dev tun0/m);
      expect(await seen({ from: ADDR6.client('isp3'), count: 10 })).toEqual({ [ADDR6.client('isp3')]: 10 });
      expect(await fromRouter(global6, 4)).toEqual({ [global6]: 4 });

      await multiwan(['link', 'down', 'vpn']);
      expect(await rtr(['ip', '-6', 'rule'])).not.toContain(tun0.v6!.prefix);
      const given = await multiwan(['link', 'up', 'vpn', '--local', tun0.v4.local, '--peer', tun0.v4.peer!,
        '--local', global6, '--gateway', tun0.v6!.peerLinkLocal]);
      expect(given.exitCode, given.stderr).toBe(0);
      expect(await linkState('vpn')).toMatchObject({ v6: { local: global6, gateway: tun0.v6!.peerLinkLocal } });
      expect(await rtr(['ip', '-6', 'route', 'show', 'table', await table()])).toContain(`default via ${tun0.v6!.peerLinkLocal} dev tun0`);
      expect(await seen({ from: ADDR6.client('isp3'), count: 10 })).toEqual({ [ADDR6.client('isp3')]: 10 });
      expect(await seen({ count: 20 })).toMatchObject({ [tun0.v4.local]: expect.any(Number) });
      await noSpoofing();
    } finally {
      await lab.exec(lab.ns.rtr, ['ip', '-6', 'addr', 'del', `${global6}/128`, 'dev', tun0.iface], { reject: false });
    }
  });

  it('multiwan link up with a --local the interface does not hold brings nothing up, and says so without claiming it is up', async () => {
    await lab.writeConfig(`lan = ["192.168.10.0/24"]
[link.dsl]
interface = "${ppp0.iface}"
[link.vpn]
interface = "${tun0.iface}"
`);
    await ppp(lab, 'up', 'ppp0');
    const wrong = await multiwan(['link', 'up', 'vpn', '--local', '100.64.3.99']);
    expect(`${wrong.stdout}${wrong.stderr}`).toContain('does not hold 100.64.3.99');
    expect((await linkState('vpn'))?.v4).toBeUndefined();
    expect(await seen({ count: 20 })).toEqual({ [ppp0.v4.local]: 20 });
    expect(wrong.stdout, 'the last line must not say the link came up').not.toMatch(/multiwan: vpn \(\S+\) up/);
  });

  it('masquerade = false: the upstream routes the LAN back, the server sees the LAN client, its connections stay on that link', async () => {
    await lab.writeConfig(`lan = ["192.168.10.0/24"]
[link.upstream]
interface = "${ppp0.iface}"
masquerade = false
weight = 1
[link.biz]
interface = "${eth2.iface}"
weight = 3
`);
    // The upstream router (isp1) knows the LAN is behind us, and accepts its
    // sources as its customer's; the internet routes the LAN to isp1.
    const isp1 = lab.ns.isp1;
    const lan = '192.168.10.0/24';
    await lab.exec(isp1, ['ip', 'route', 'add', lan, 'dev', 'cust0']);
    await lab.exec(lab.ns.srv, ['ip', 'route', 'add', lan, 'via', '203.0.113.1', 'dev', 'isp1']);
    const accepted = await lab.exec(isp1, ['nft', '-e', '-a', 'insert', 'rule', 'inet', 'labisp', 'forward',
      'iifname', 'cust0', 'ip', 'saddr', lan, 'counter', 'name', 'forwarded', 'accept']);
    const handle = /# handle (\d+)/.exec(accepted.stdout)?.[1];
    try {
      await ppp(lab, 'up', 'ppp0');
      // A long connection through the upstream while it is the only link.
      const stream = await startStream(lab);
      expect((await stream.stats()).seenAs).toBe(lab.addr.client);

      // The static line comes up, preferred 3:1: new connections spread,
      // those through the upstream keep the client's address.
      await writeInterfaces(lab, staticStanza(eth2));
      await ifupOk('up', eth2.iface);
      const spread = await seen({ count: 80 });
      expect(spread.error ?? 0).toBe(0);
      expect(Object.keys(spread).sort()).toEqual([lab.addr.client, eth2.v4.local].sort());
      expect(spread[eth2.v4.local]!).toBeGreaterThan(spread[lab.addr.client]!);

      // The stream's packets stayed on ppp0: a packet of it sent by eth2 would
      // carry the LAN source (no NAT binding), isp2 would drop and count it,
      // and the stream would stall.
      const stats = await stream.stop();
      expect(stats.error).toBeUndefined();
      expect(stats.alive, JSON.stringify(stats)).toBe(true);
      expect(stats.seenAs).toBe(lab.addr.client);
      expect(stats.lines).toBeGreaterThan(20);
      // nft: no masquerade for ppp0, masquerade for eth2.
      const nat = await rtr(['nft', 'list', 'chain', 'inet', 'multiwan', 'nat_postrouting']);
      expect(nat).toContain('oifname "eth2" masquerade');
      expect(nat).not.toContain('ppp0');
      await noSpoofing();
    } finally {
      if (handle) await lab.exec(isp1, ['nft', 'delete', 'rule', 'inet', 'labisp', 'forward', 'handle', handle], { reject: false });
      await lab.exec(isp1, ['ip', 'route', 'del', lan], { reject: false });
      await lab.exec(lab.ns.srv, ['ip', 'route', 'del', lan], { reject: false });
    }
  });
});
