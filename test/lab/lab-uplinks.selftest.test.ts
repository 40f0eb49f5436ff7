// Selftest of the lab's uplink kinds, IPv6 and router sandbox, independent of
// the product: fixtures/record-hook.sh stands in for multiwan in every hook
// directory and records what the REAL clients (dhclient, dhcpcd, ifupdown,
// pppd's scripts) pass it. One dual-stack lab: isp1 PPP, isp2 DHCP (dnsmasq
// for IPv4 + RA, dhcpd -6 for addresses and prefix delegation), isp3 static
// Ethernet, isp4 a VPN-like p2p link.
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADDR6,
  createLab,
  ifupdown,
  installRecorder,
  listLabNamespaces,
  needsTools,
  ppp6,
  readRecords,
  resetIspCounters,
  run,
  sandboxExec,
  sandboxInstall,
  sandboxPath,
  spoofDrops,
  startDhclient,
  startDhcpcd,
  startIspDhcp,
  staticStanza,
  waitRecord,
  whoamiDetailed,
  writeInterfaces,
  type HookRecord,
  type Lab,
  type Uplink,
} from './lab';

const skip = needsTools('dhclient', 'dhcpcd', 'ifup', 'dnsmasq', 'dhcpd', 'ipv6up');
const title = `lab uplinks, IPv6 and router sandbox selftest${skip ? ` (skipped: ${skip})` : ''}`;

/** Variables a hook must never see: they would come from the test, not from the client. */
const LEAKS = /^(VITEST|NODE_|npm_|HOME$|USER$|MULTIWAN_|TEST)/;
const leaks = (r: HookRecord): string[] => Object.keys(r.env).filter((k) => LEAKS.test(k));

describe.skipIf(!!skip)(title, () => {
  let lab: Lab;
  let eth2: Uplink;
  let eth3: Uplink;
  const host: { resolv?: string; runNetwork?: boolean } = {};

  beforeAll(async () => {
    host.resolv = await readFile('/etc/resolv.conf', 'utf8');
    host.runNetwork = existsSync('/run/network');
    lab = await createLab({
      ipv6: true,
      uplinks: ['ppp', { kind: 'dhcp', dhcp: { v6: 'dhcpd', renewSeconds: 2, rebindSeconds: 4 } }, 'static', 'vpn'],
    });
    [, eth2, eth3] = lab.uplinks as [Uplink, Uplink, Uplink, Uplink];
    await installRecorder(lab, ['dhclient', 'dhcpcd', 'ifupdown', 'ppp']);
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  const rtr = (argv: string[]) => lab.exec(lab.ns.rtr, argv).then((r) => r.stdout);

  it('builds a dual-stack lab with a PPP, a DHCP, a static and a VPN uplink', async () => {
    expect(lab.uplinks.map((u) => `${u.isp}:${u.kind}:${u.iface}`)).toEqual([
      'isp1:ppp:ppp0', 'isp2:dhcp:eth2', 'isp3:static:eth3', 'isp4:vpn:tun0',
    ]);
    const addrs = await rtr(['ip', '-br', 'addr']);
    expect(addrs).toMatch(/^ppp0@\S+\s+UP\s+100\.64\.1\.2 peer 100\.64\.1\.1\/32 fe80::c11:52ff:fe01:102 peer fe80::c11:52ff:fe01:101\/128/m);
    expect(addrs).toMatch(/^eth2@\S+\s+UP\s+fe80::6d:77ff:fe00:202\/64\s*$/m);
    expect(eth2.v6?.linkLocal).toBe('fe80::6d:77ff:fe00:202');
    expect(addrs).toMatch(/^tun0@\S+\s+UP\s+100\.64\.4\.2 peer 100\.64\.4\.1\/32/m);
    expect(await rtr(['ip', '-4', 'route', 'show', 'default'])).toBe('');
    expect(await rtr(['ip', '-6', 'route', 'show', 'default'])).toBe('');
    const lan = (await lab.exec(lab.ns.lan, ['ip', '-6', '-br', 'addr', 'show', 'eth0'])).stdout;
    for (const isp of ['isp1', 'isp2', 'isp3', 'isp4'] as const) expect(lan).toContain(`${ADDR6.client(isp)}/64`);
  });

  it('carries IPv6 from each ISP prefix through that ISP; an ISP drops a foreign source prefix', async () => {
    const [ppp0, , , tun0] = lab.uplinks as [Uplink, Uplink, Uplink, Uplink];
    const via = async (u: Uplink) => {
      await rtr(['ip', '-6', 'route', 'replace', 'default', 'via', u.v6!.peerLinkLocal, 'dev', u.iface]);
    };
    try {
      await via(ppp0);
      expect((await whoamiDetailed(lab, { from: ADDR6.client('isp1'), count: 4 })).counts).toEqual({ [ADDR6.client('isp1')]: 4 });
      await resetIspCounters(lab, 'isp1');
      const foreign = await whoamiDetailed(lab, { from: ADDR6.client('isp2'), count: 2, timeoutMs: 800 });
      expect(foreign.counts).toEqual({ error: 2 });
      expect(await spoofDrops(lab, 'isp1')).toBeGreaterThan(0);
      await via(tun0);
      expect((await whoamiDetailed(lab, { from: ADDR6.client('isp4'), count: 2 })).counts).toEqual({ [ADDR6.client('isp4')]: 2 });
      // and IPv4 from the router itself over the VPN-like link
      await rtr(['ip', 'route', 'replace', 'default', 'dev', 'tun0']);
      expect((await whoamiDetailed(lab, { from: lab.ns.rtr, count: 2 })).counts).toEqual({ '100.64.4.2': 2 });
    } finally {
      await lab.exec(lab.ns.rtr, ['ip', '-6', 'route', 'del', 'default'], { reject: false });
      await lab.exec(lab.ns.rtr, ['ip', 'route', 'del', 'default'], { reject: false });
    }
  });

  it('dhclient: BOUND from dnsmasq, RENEW with a new router, RELEASE; the hook sees only what dhclient gives', async () => {
    const client = await startDhclient(lab, 'eth2');
    const bound = await waitRecord(lab, 'dhclient', (r) => r.reason === 'BOUND', 15_000);
    expect(bound, client.process.lines.join('\n')).toBeDefined();
    const leased = bound!.env.new_ip_address ?? '';
    expect(bound!.env).toMatchObject({ reason: 'BOUND', interface: 'eth2', new_routers: eth2.v4.gateway, new_subnet_mask: '255.255.255.0' });
    expect(leased).toMatch(/^100\.64\.2\.1\d\d$/);
    expect(leaks(bound!)).toEqual([]);
    // dhclient-script configured the kernel and the leased address carries traffic
    expect(await rtr(['ip', '-br', '-4', 'addr', 'show', 'eth2'])).toContain(`${leased}/24`);
    expect(await rtr(['ip', 'route', 'show', 'default'])).toContain(`default via ${eth2.v4.gateway} dev eth2`);
    expect((await whoamiDetailed(lab, { from: lab.ns.rtr, count: 2 })).counts).toEqual({ [leased]: 2 });

    const seen = (await readRecords(lab, 'dhclient')).length;
    await startIspDhcp(lab, 'isp2', { router: eth2.v4.gateway2 });
    const renew = await waitRecord(lab, 'dhclient', (r) => r.reason === 'RENEW' && r.env.new_routers === eth2.v4.gateway2, 10_000, seen);
    expect(renew?.env).toMatchObject({ old_routers: eth2.v4.gateway, new_ip_address: leased, old_ip_address: leased });

    await client.release();
    expect(client.process.exited).toBe(true);
    const release = await waitRecord(lab, 'dhclient', (r) => r.reason === 'RELEASE', 5000);
    expect(release?.env.old_ip_address).toBe(leased);
    expect(await rtr(['ip', '-br', '-4', 'addr', 'show', 'eth2'])).not.toContain(leased);
    await startIspDhcp(lab, 'isp2', { router: eth2.v4.gateway });
    // everything it wrote stayed in the lab
    expect(existsSync(sandboxPath(lab, '/var/lib/dhcp/dhclient.eth2.leases'))).toBe(true);
    expect(existsSync('/var/lib/dhcp/dhclient.eth2.leases')).toBe(false);
    expect(await readFile('/etc/resolv.conf', 'utf8')).toBe(host.resolv);
  });

  it('dhcpcd: BOUND, and BOUND6 with the prefix dhcpd -6 delegates; -k gives STOP then STOPPED', async () => {
    const client = await startDhcpcd(lab, 'eth2', { pd: true });
    const bound = await waitRecord(lab, 'dhcpcd', (r) => r.reason === 'BOUND', 15_000);
    expect(bound, client.process.lines.join('\n')).toBeDefined();
    expect(bound!.env).toMatchObject({ interface: 'eth2', protocol: 'dhcp', new_routers: eth2.v4.gateway, new_subnet_cidr: '24' });
    expect(bound!.env.new_ip_address).toMatch(/^100\.64\.2\.1\d\d$/);
    const bound6 = await waitRecord(lab, 'dhcpcd', (r) => r.reason === 'BOUND6', 15_000);
    expect(bound6?.env).toMatchObject({
      interface: 'eth2', protocol: 'dhcp6', new_dhcp6_ia_pd1_prefix1: '2001:db8:2::', new_dhcp6_ia_pd1_prefix1_length: '48',
    });
    expect(bound6?.env.new_dhcp6_ia_na1_ia_addr1).toMatch(/^2001:db8:ff02::1[0-9a-f]{2}$/);
    expect([...leaks(bound!), ...leaks(bound6!)]).toEqual([]);

    const seen = (await readRecords(lab, 'dhcpcd')).length;
    await client.release();
    expect(client.process.exited).toBe(true);
    const after = (await readRecords(lab, 'dhcpcd')).slice(seen).map((r) => r.reason);
    expect(after).toContain('STOP');
    expect(after.indexOf('STOPPED')).toBeGreaterThan(after.indexOf('STOP'));
    // -k removed the lease; the DUID stays, in the lab
    expect(existsSync(sandboxPath(lab, '/var/lib/dhcpcd/duid'))).toBe(true);
    expect(existsSync('/var/lib/dhcpcd/eth2.lease') || existsSync('/var/lib/dhcpcd/eth2.lease6')).toBe(false);
  });

  it('ifup/ifdown of a static stanza: if-up.d and if-post-down.d get IFACE, METHOD, IF_ADDRESS, IF_NETMASK, IF_MULTIWAN_GATEWAY', async () => {
    await writeInterfaces(lab, staticStanza(eth3));
    const up = await ifupdown(lab, 'up', 'eth3');
    expect(up.exitCode, up.stderr).toBe(0);
    const records = await readRecords(lab, 'ifupdown');
    const postUp = (fam: string) => records.find((r) => r.reason === 'post-up' && r.env.ADDRFAM === fam);
    expect(postUp('inet')?.env).toMatchObject({
      IFACE: 'eth3', METHOD: 'static', MODE: 'start', PHASE: 'post-up',
      IF_ADDRESS: '100.64.3.2', IF_NETMASK: '255.255.255.0', IF_MULTIWAN_GATEWAY: '100.64.3.1',
    });
    expect(postUp('inet6')?.env).toMatchObject({ IF_ADDRESS: '2001:db8:ff03::2', IF_NETMASK: '64', IF_MULTIWAN_GATEWAY: '2001:db8:ff03::1' });
    expect(leaks(postUp('inet')!)).toEqual([]);
    expect(await rtr(['ip', '-br', 'addr', 'show', 'eth3'])).toMatch(/100\.64\.3\.2\/24 2001:db8:ff03::2\/64/);
    await lab.exec(lab.ns.rtr, ['ping', '-c', '1', '-W', '2', '100.64.3.1']);
    expect(existsSync(sandboxPath(lab, '/run/network/ifstate.eth3'))).toBe(true);

    await ifupdown(lab, 'down', 'eth3');
    const postDown = (await readRecords(lab, 'ifupdown')).find((r) => r.reason === 'post-down' && r.env.ADDRFAM === 'inet');
    expect(postDown?.env).toMatchObject({ IFACE: 'eth3', MODE: 'stop', IF_ADDRESS: '100.64.3.2' });
    expect(await rtr(['ip', '-br', '-4', 'addr', 'show', 'eth3'])).not.toContain('100.64.3.2');
    expect(existsSync('/run/network')).toBe(host.runNetwork);
  });

  it("runs pppd's ipv6-up and ipv6-down with the IPv6CP link-locals (gone by ipv6-down)", async () => {
    const up = await ppp6(lab, 'up', 'ppp0', { ipparam: 'isp1' });
    expect(up.hookFailed, up.stdout + up.stderr).toBe(false);
    const rec = (await readRecords(lab, 'ppp')).filter((r) => r.argv.startsWith('/etc/ppp/ipv6-up.d/'));
    expect(rec.at(-1)?.argv).toBe('/etc/ppp/ipv6-up.d/zz-record ppp0 /dev/ttyS0 115200 fe80::0c11:52ff:fe01:0102 fe80::0c11:52ff:fe01:0101 isp1');
    expect(rec.at(-1)?.env).toMatchObject({ PPP_IFACE: 'ppp0', PPP_LOCAL: 'fe80::0c11:52ff:fe01:0102', PPP_IPPARAM: 'isp1' });
    const down = await ppp6(lab, 'down', 'ppp0', { ipparam: 'isp1' });
    expect(down.hookFailed).toBe(false);
    expect((await readRecords(lab, 'ppp')).some((r) => r.argv.startsWith('/etc/ppp/ipv6-down.d/zz-record ppp0 '))).toBe(true);
    expect(await rtr(['ip', '-6', 'addr', 'show', 'dev', 'ppp0'])).toBe('');
    await ppp6(lab, 'up', 'ppp0');
    expect(await rtr(['ip', '-6', 'addr', 'show', 'dev', 'ppp0'])).toContain('fe80::c11:52ff:fe01:102 peer fe80::c11:52ff:fe01:101');
  });

  it('runs a program by hand in the sandbox with the lab\'s /etc/multiwan and /usr/lib/multiwan, and a clean environment', async () => {
    await lab.writeConfig('# lab\n');
    await sandboxInstall(lab, '/usr/lib/multiwan/dhcp-hook', { text: '#!/bin/sh\necho "args: $*"\ncat /etc/multiwan/multiwan.toml\nenv | LC_ALL=C sort\n' });
    const r = await sandboxExec(lab, ['/usr/lib/multiwan/dhcp-hook', 'dhclient']);
    expect(r.stdout).toContain('args: dhclient\n# lab\n');
    const names = r.stdout.split('\n').filter((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l)).map((l) => l.split('=')[0]);
    expect(names.sort()).toEqual(['PATH', 'PWD']);
    expect(existsSync('/usr/lib/multiwan/dhcp-hook')).toBe(false);
    const iface = await sandboxExec(lab, ['ip', '-br', 'addr', 'show', 'tun0']);
    expect(iface.stdout).toContain('100.64.4.2 peer 100.64.4.1/32');
  });

  it('destroy() kills every daemon it started and removes the namespaces and the temp dir', async () => {
    await startDhclient(lab, 'eth2');
    const pids: number[] = [];
    for (const ns of Object.values(lab.ns)) {
      const { stdout } = await run(['ip', 'netns', 'pids', ns]);
      pids.push(...stdout.split(/\s+/).filter(Boolean).map(Number));
    }
    expect(pids.length).toBeGreaterThanOrEqual(4); // server, dnsmasq, dhcpd -6, dhclient
    await lab.destroy();
    // Killed processes may stay zombies a while: PID 1 here reaps late.
    const running = (pid: number): boolean => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    expect(pids.filter(running)).toEqual([]);
    expect((await listLabNamespaces()).filter((n) => n.startsWith(`mwt${lab.id}`))).toEqual([]);
    expect(existsSync(lab.dirs.root)).toBe(false);
  });
});
