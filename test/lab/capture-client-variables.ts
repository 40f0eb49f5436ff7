// `npx tsx test/lab/capture-client-variables.ts [OUT.md]` (root; ~3 minutes):
// drives the real dhclient, dhcpcd, ifup/ifdown and pppd scripts through
// every event the lab can provoke, with fixtures/record-hook.sh as their
// only hook, and writes what each hook call saw (reason, argv, environment)
// to test/lab/CLIENT-VARIABLES.md (generated; the notes at its top are in
// NOTES below). Not part of the test suite.
import { unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createLab,
  DHCPCD_CONF,
  installRecorder,
  ifupdown,
  needsTools,
  ppp6,
  readRecords,
  sandboxPath,
  startDhclient,
  startDhcpcd,
  startIspDhcp,
  staticStanza,
  stopIspDhcp,
  waitRecord,
  writeInterfaces,
  type DhcpClient,
  type HookRecord,
  type Lab,
  type RecordedClient,
} from './lab.js';

const OUT = process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'CLIENT-VARIABLES.md');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What was done when, to label the records. */
const steps: Array<{ at: number; client: RecordedClient; label: string }> = [];
const missed: string[] = [];

function mark(client: RecordedClient, label: string): void {
  steps.push({ at: Date.now() / 1000, client, label });
  console.log(`[${client}] ${label}`);
}

/** Waits for a record of `client` with this reason after the last mark; notes a miss. */
async function expectReason(lab: Lab, client: RecordedClient, reason: string, timeoutMs: number, extra?: (r: HookRecord) => boolean): Promise<boolean> {
  const since = steps.at(-1)?.at ?? 0;
  const hit = await waitRecord(lab, client, (r) => r.reason === reason && r.at >= since && (extra?.(r) ?? true), timeoutMs);
  if (!hit) {
    missed.push(`${client} ${reason} (${steps.at(-1)?.label})`);
    console.log(`   !! no ${reason} within ${timeoutMs} ms`);
  }
  return !!hit;
}

/** dhclient gives up after `reboot` (INIT-REBOOT) plus `timeout` (DISCOVER) seconds. */
const TIMEOUT_CONF = 'reboot 2;\ntimeout 3;\nretry 60;\n';

async function dhclientScenarios(lab: Lab): Promise<void> {
  const eth1 = lab.uplinks[0]!;
  mark('dhclient', 'dhclient -d eth1 (dnsmasq, T1 2 s, T2 4 s)');
  let c: DhcpClient = await startDhclient(lab, 'eth1');
  await expectReason(lab, 'dhclient', 'BOUND', 15_000);
  mark('dhclient', 'T1 elapses');
  await expectReason(lab, 'dhclient', 'RENEW', 10_000);
  mark('dhclient', `ISP restarts dnsmasq with router ${eth1.v4.gateway2}`);
  await startIspDhcp(lab, 'isp1', { router: eth1.v4.gateway2 });
  await expectReason(lab, 'dhclient', 'RENEW', 10_000, (r) => r.env.new_routers === eth1.v4.gateway2);
  mark('dhclient', 'ISP stops dnsmasq past T2, then starts it again (an ACK to the broadcast T2 request)');
  await stopIspDhcp(lab, 'isp1');
  await sleep(6000);
  await startIspDhcp(lab, 'isp1', { router: eth1.v4.gateway });
  // ISC dhclient 4.4 never enters its REBINDING state for IPv4: this ACK is reported as RENEW.
  await expectReason(lab, 'dhclient', 'RENEW', 15_000, (r) => r.env.new_routers === eth1.v4.gateway);
  mark('dhclient', 'dhclient -x');
  await c.stop();
  await expectReason(lab, 'dhclient', 'STOP', 5000);
  mark('dhclient', 'dhclient -d eth1 again, with a valid lease in its lease file');
  c = await startDhclient(lab, 'eth1');
  await expectReason(lab, 'dhclient', 'REBOOT', 15_000);
  mark('dhclient', 'dhclient -x; ISP stops; dhclient (timeout 3) starts with the valid lease');
  await c.stop();
  await stopIspDhcp(lab, 'isp1');
  c = await startDhclient(lab, 'eth1', { conf: TIMEOUT_CONF });
  await expectReason(lab, 'dhclient', 'TIMEOUT', 20_000);
  mark('dhclient', 'dhclient -r (no server)');
  await c.release();
  await expectReason(lab, 'dhclient', 'RELEASE', 5000);
  mark('dhclient', 'lease file removed; dhclient (timeout 3) with no server');
  await unlink(sandboxPath(lab, '/var/lib/dhcp/dhclient.eth1.leases')).catch(() => undefined);
  c = await startDhclient(lab, 'eth1', { conf: TIMEOUT_CONF });
  await expectReason(lab, 'dhclient', 'FAIL', 20_000);
  await c.process.stop(1000);
  await startIspDhcp(lab, 'isp1');

  mark('dhclient', 'dhclient -d eth2 (dhcpd -4, lease 12 s) and dhclient -6 -N -P eth2 (dhcpd -6, lease 12 s)');
  const v4 = await startDhclient(lab, 'eth2');
  const v6 = await startDhclient(lab, 'eth2', { family: 6, na: true, pd: true });
  await expectReason(lab, 'dhclient', 'BOUND', 15_000);
  await expectReason(lab, 'dhclient', 'BOUND6', 15_000, (r) => !!r.env.new_ip6_prefix);
  mark('dhclient', 'T1 elapses (IPv6)');
  await expectReason(lab, 'dhclient', 'RENEW6', 10_000);
  mark('dhclient', 'ISP eth2 stops its servers: leases run out');
  await stopIspDhcp(lab, 'isp2');
  await expectReason(lab, 'dhclient', 'EXPIRE', 20_000);
  await expectReason(lab, 'dhclient', 'EXPIRE6', 20_000);
  mark('dhclient', 'ISP eth2 starts again; dhclient -6 -x; dhclient -r');
  await startIspDhcp(lab, 'isp2');
  await expectReason(lab, 'dhclient', 'BOUND6', 20_000);
  await v6.stop();
  await expectReason(lab, 'dhclient', 'STOP6', 5000);
  await v4.release();

  mark('dhclient', 'dhclient -6 -N -P eth1 (dhcpd -6, T1 2 s, T2 4 s)');
  const c6 = await startDhclient(lab, 'eth1', { family: 6, na: true, pd: true });
  await expectReason(lab, 'dhclient', 'BOUND6', 15_000);
  mark('dhclient', 'ISP stops dhcpd -6 past T2, then starts it again');
  await sleep(1000);
  await stopIspDhcp(lab, 'isp1');
  await sleep(6000);
  await startIspDhcp(lab, 'isp1');
  await expectReason(lab, 'dhclient', 'REBIND6', 20_000);
  mark('dhclient', 'dhclient -6 -r');
  await c6.release();
  await expectReason(lab, 'dhclient', 'RELEASE6', 5000);
}

async function dhcpcdScenarios(lab: Lab): Promise<void> {
  const eth1 = lab.uplinks[0]!;
  mark('dhcpcd', 'dhcpcd -B eth1 with ia_na + ia_pd (dnsmasq v4 + RA, dhcpd -6 PD; T1 2 s, T2 4 s)');
  let d = await startDhcpcd(lab, 'eth1', { pd: true });
  await expectReason(lab, 'dhcpcd', 'BOUND', 15_000);
  await expectReason(lab, 'dhcpcd', 'BOUND6', 15_000);
  mark('dhcpcd', 'T1 elapses');
  await expectReason(lab, 'dhcpcd', 'RENEW', 10_000);
  await expectReason(lab, 'dhcpcd', 'RENEW6', 10_000);
  mark('dhcpcd', `ISP restarts dnsmasq with router ${eth1.v4.gateway2}`);
  await startIspDhcp(lab, 'isp1', { router: eth1.v4.gateway2 });
  await expectReason(lab, 'dhcpcd', 'RENEW', 10_000, (r) => r.env.new_routers === eth1.v4.gateway2);
  mark('dhcpcd', 'ISP stops its servers past T2, then starts them again');
  await stopIspDhcp(lab, 'isp1');
  await sleep(6000);
  await startIspDhcp(lab, 'isp1', { router: eth1.v4.gateway });
  await expectReason(lab, 'dhcpcd', 'REBIND', 15_000);
  await expectReason(lab, 'dhcpcd', 'REBIND6', 15_000);
  mark('dhcpcd', 'carrier lost (ISP side of eth1 down)');
  await lab.carrier('eth1', false);
  await expectReason(lab, 'dhcpcd', 'NOCARRIER', 10_000);
  mark('dhcpcd', 'carrier back');
  await lab.carrier('eth1', true);
  await expectReason(lab, 'dhcpcd', 'CARRIER', 10_000);
  await expectReason(lab, 'dhcpcd', 'REBOOT', 15_000);
  mark('dhcpcd', 'ISP moves its pool away from the leased address: next renewal');
  await startIspDhcp(lab, 'isp1', { pool: ['100.64.1.200', '100.64.1.220'] });
  await expectReason(lab, 'dhcpcd', 'NAK', 10_000);
  await expectReason(lab, 'dhcpcd', 'BOUND', 15_000);
  await startIspDhcp(lab, 'isp1', { pool: eth1.v4.pool });
  mark('dhcpcd', 'dhcpcd -k (release)');
  await d.release();
  await expectReason(lab, 'dhcpcd', 'STOPPED', 10_000);
  mark('dhcpcd', 'dhcpcd -B eth1 again, then dhcpcd -x (stop without release)');
  d = await startDhcpcd(lab, 'eth1', { pd: true });
  await expectReason(lab, 'dhcpcd', 'BOUND', 15_000);
  await d.stop();
  await expectReason(lab, 'dhcpcd', 'STOPPED', 10_000);
  mark('dhcpcd', 'ISP stops; dhcpcd -4 (lastlease, reboot 3) starts with the lease left by -x');
  await stopIspDhcp(lab, 'isp1');
  d = await startDhcpcd(lab, 'eth1', { family: 4, conf: `${DHCPCD_CONF}lastlease\nreboot 3\n` });
  await expectReason(lab, 'dhcpcd', 'TIMEOUT', 15_000);
  await d.stop();
  await startIspDhcp(lab, 'isp1');

  mark('dhcpcd', 'dhcpcd -B eth1 lan0 with `ia_pd 2 lan0/1` (the prefix delegated to the LAN port)');
  const delegating = `${DHCPCD_CONF}noipv6rs\nallowinterfaces eth1 lan0\ninterface eth1\n  ipv6rs\n  ia_na 1\n  ia_pd 2 lan0/1\ninterface lan0\n  noipv4\n`;
  d = await startDhcpcd(lab, 'eth1', { conf: delegating, args: ['lan0'] });
  await expectReason(lab, 'dhcpcd', 'DELEGATED6', 15_000);
  // it still holds the DHCPv6 lease that -x left: it rebinds it
  await expectReason(lab, 'dhcpcd', 'REBIND6', 15_000);
  await d.release();

  mark('dhcpcd', 'dhcpcd -B eth2 with ia_na + ia_pd (dhcpd -4 and -6, lease 12 s)');
  d = await startDhcpcd(lab, 'eth2', { pd: true });
  await expectReason(lab, 'dhcpcd', 'BOUND', 15_000);
  await expectReason(lab, 'dhcpcd', 'BOUND6', 15_000);
  mark('dhcpcd', 'ISP eth2 stops its servers: leases run out');
  await stopIspDhcp(lab, 'isp2');
  await expectReason(lab, 'dhcpcd', 'EXPIRE', 30_000);
  await expectReason(lab, 'dhcpcd', 'EXPIRE6', 30_000);
  await d.stop();
  await startIspDhcp(lab, 'isp2');

  mark('dhcpcd', 'dhcpcd -B eth3 with `static ip_address` (no server)');
  const conf = `${DHCPCD_CONF}interface eth3\n  static ip_address=100.64.3.50/24\n  static routers=100.64.3.1\n`;
  d = await startDhcpcd(lab, 'eth3', { family: 4, conf });
  await expectReason(lab, 'dhcpcd', 'STATIC', 10_000);
  mark('dhcpcd', 'eth3 deleted under dhcpcd');
  await lab.exec(lab.ns.rtr, ['ip', 'link', 'del', 'eth3']);
  await expectReason(lab, 'dhcpcd', 'DEPARTED', 10_000);
  await d.process.stop(1000);
}

async function ifupdownScenarios(lab: Lab): Promise<void> {
  const eth3 = lab.uplinks[2]!;
  await writeInterfaces(lab, `${staticStanza(eth3)}\niface eth1 inet dhcp\n`);
  mark('ifupdown', 'ifup eth3 (inet static + inet6 static with multiwan-gateway)');
  console.log((await ifupdown(lab, 'up', 'eth3')).stderr);
  mark('ifupdown', 'ifdown eth3');
  console.log((await ifupdown(lab, 'down', 'eth3')).stderr);
  mark('ifupdown', 'ifup eth1 (inet dhcp: ifupdown starts dhclient)');
  console.log((await ifupdown(lab, 'up', 'eth1', { timeoutMs: 60_000 })).stderr);
  mark('ifupdown', 'ifdown eth1');
  console.log((await ifupdown(lab, 'down', 'eth1')).stderr);
}

async function pppScenarios(lab: Lab): Promise<void> {
  mark('ppp', 'ip-up, ipv6-up, ipv6-down, ip-down of ppp0 (ipparam isp4)');
  for (const r of [
    await lab.ppp('up', 'ppp0', { ipparam: 'isp4' }),
    await ppp6(lab, 'up', 'ppp0', { ipparam: 'isp4' }),
    await ppp6(lab, 'down', 'ppp0', { ipparam: 'isp4' }),
    await lab.ppp('down', 'ppp0', { ipparam: 'isp4' }),
  ]) if (r.hookFailed) console.log(r.stdout, r.stderr);
}

// ───────────────────────────── the report ─────────────────────────────

const NOTES = `# What the real clients pass their hooks (captured)

Generated by \`npx tsx test/lab/capture-client-variables.ts\` (as root) from
real runs in the namespace lab: Debian 12's isc-dhcp-client 4.4.3-P1
(dhclient + /sbin/dhclient-script), dhcpcd-base 9.4.1 (dhcpcd-run-hooks),
ifupdown 0.8.41 and ppp 2.4.9's /etc/ppp scripts, against dnsmasq 2.90 and
isc-dhcp-server 4.4.3-P1 in the ISP namespaces. The only hook installed was
test/lab/fixtures/record-hook.sh, which dumps \`env\` (exported variables:
what a program called from the hook sees) — dhclient: as an exit hook
(/etc/dhcp/dhclient-exit-hooks.d; the enter hooks run in the same
dhclient-script process with the same variables), dhcpcd: as
/usr/lib/dhcpcd/dhcpcd-hooks/99-record, ifupdown: in if-{pre-up,up,down,post-down}.d,
pppd: in ip{,v6}-{up,down}.d. Nothing was added to the clients' environment:
they ran in the lab's router sandbox with PATH only (see test/lab/sandbox.ts).

Lab addresses: uplink n is eth<n> (100.64.n.0/24, ISP .1, second gateway .254,
pool .100-.199; IPv6 WAN 2001:db8:ff0n::/64, delegated 2001:db8:n::/48);
ppp0 is 100.64.4.2 peer 100.64.4.1 with link-locals fe80::c11:52ff:fe04:102 /
::101.

## Notes for the parsers

- **dhclient** runs /sbin/dhclient-script with a fresh environment it builds:
  \`reason\`, \`interface\`, \`pid\`, \`new_*\` / \`old_*\` (\`old_*\` only when a
  previous lease is known), \`requested_*\` flags, \`PATH\`, \`dad_wait_time\`;
  \`PWD\` is the sandbox's cwd (/). \`new_subnet_mask\` is dotted; there is no
  prefix length variable for IPv4 (dhcpcd has \`new_subnet_cidr\`).
  \`new_routers\` may hold several space-separated routers. A sourced hook's
  \`$0\` is /sbin/dhclient-script and its \`$@\` are run_hook's (the hook's own
  path): no information there. \`new_host_name\` is dnsmasq echoing the
  client's own name; dhclient-script may call \`hostname\` with it (the lab's
  sandbox has its own UTS namespace).
- **dhclient -6** passes one BOUND6/RENEW6/REBIND6 per IA: with \`-N -P\` one call
  carries \`new_ip6_address\` + \`new_ip6_prefixlen\` (128), another
  \`new_ip6_prefix\` (e.g. 2001:db8:1::/48). No router, no gateway variable at
  all: the IPv6 next hop comes from RAs (the kernel's, only with accept_ra=2 on
  a forwarding router) or from configuration. \`old_ip6_*\` come with
  RENEW6/REBIND6/EXPIRE6/RELEASE6/STOP6.
- **dhcpcd** runs dhcpcd-run-hooks with its own environment: \`reason\`,
  \`interface\`, \`protocol\` (dhcp, dhcp6, ra, static…), \`pid\`, \`ifcarrier\`,
  \`ifmetric\`, \`interface_order\`, \`if_up\`/\`if_down\`, \`new_*\`/\`old_*\`
  (\`new_subnet_cidr\` as well as \`new_subnet_mask\`). DHCPv6 comes as
  \`new_dhcp6_*\`: the address \`new_dhcp6_ia_na1_ia_addr1\`, the delegated
  prefix \`new_dhcp6_ia_pd1_prefix1\` (e.g. 2001:db8:1::) plus
  \`new_dhcp6_ia_pd1_prefix1_length\` (48), on the requesting interface with
  reason BOUND6/RENEW6/REBIND6/REBOOT6. **\`new_delegated_dhcp6_prefix\` is NOT
  on the uplink**: dhcpcd sets it only on a *downstream* interface it assigns
  a piece of the prefix to (\`ia_pd 2 lan0/1\`, reason DELEGATED6 on lan0,
  value the address it put there, e.g. 2001:db8:1:1::1/64). RAs: reason
  ROUTERADVERT with \`nd1_*\` (\`nd1_from\` is the router's link-local, the
  IPv6 next hop; \`nd1_prefix_information1_*\` the advertised prefix).
  dhcpcd also adds its own routes in main: \`default via <router>\` (metric
  1000+ifindex) for IPv4 and for the RA router, and an \`unreachable <PD
  prefix> dev lo\` reject route.
- **dhcpcd -k** sends a RELEASE but the hooks see STOP then STOPPED (and
  RELEASE6 for the DHCPv6 lease): there is no IPv4 RELEASE reason in 9.4;
  **dhcpcd -x** (see the timeline) ends with STOPPED. A carrier loss gives
  NOCARRIER and EXPIRE/EXPIRE6 right away (dhcpcd drops the leases), its
  return CARRIER then REBOOT. Without \`lastlease\`, a reboot that gets no
  answer is reported as EXPIRE even when the lease is still valid; with it,
  TIMEOUT.
- **ifupdown** hooks get ifup's environment with ifupdown's own PATH, plus
  \`IFACE\`, \`LOGICAL\`, \`ADDRFAM\` (inet, inet6), \`METHOD\` (static, dhcp…),
  \`MODE\` (start/stop), \`PHASE\` (pre-up, post-up, pre-down, post-down; the
  scripts are in if-up.d for post-up, if-down.d for pre-down),
  \`IFUPDOWN_<iface>\` (the phase), \`VERBOSITY\`, and \`IF_<OPTION>\` for every
  stanza option (\`multiwan-gateway\` → \`IF_MULTIWAN_GATEWAY\`). \`IF_ADDRESS\`
  never carries a prefix length: \`address 2001:db8:ff03::2/64\` arrives as
  IF_ADDRESS=2001:db8:ff03::2 and IF_NETMASK=64; inet's IF_NETMASK is dotted.
  inet6 static adds its defaults (IF_AUTOCONF, IF_DAD_ATTEMPTS, …). With an
  \`inet\` and an \`inet6\` stanza, ifdown takes inet down first (the link goes
  down and takes the IPv6 address with it: inet6's own removal then fails
  with "ipv6: address not found", harmlessly).
- **pppd** scripts: the lab runs them like the existing ip-up runner (cleared
  environment, six arguments); Debian's /etc/ppp/ip{,v6}-up export
  \`PPP_IFACE\`, \`PPP_TTY\`, \`PPP_SPEED\`, \`PPP_LOCAL\`, \`PPP_REMOTE\`,
  \`PPP_IPPARAM\` (+ \`PPP_TTYNAME\` for IPv4) to the .d scripts. For IPv6CP
  arguments 4/5 are the link-locals zero-padded as pppd writes them. (A real
  pppd also passes its own variables — IFNAME, IPLOCAL/IPREMOTE or
  LLLOCAL/LLREMOTE, PPPD_PID, … — which the lab does not simulate.)
`;

function stepOf(r: HookRecord, client: RecordedClient): string {
  const s = steps.filter((x) => x.client === client && x.at <= r.at + 0.001).at(-1);
  return s?.label ?? '?';
}

/** Every call in order: the sequences matter as much as the variables. */
function timeline(all: Record<RecordedClient, HookRecord[]>): string[] {
  const out = ['\n## Timeline (every hook call, in order)\n'];
  for (const client of ['dhclient', 'dhcpcd', 'ifupdown', 'ppp'] as const) {
    out.push(`### ${client}`, '');
    let last = '';
    for (const r of all[client]) {
      const step = stepOf(r, client);
      if (step !== last) out.push(`- *${step}*`);
      last = step;
      const e = r.env;
      const what = [
        e.interface ?? e.IFACE ?? e.PPP_IFACE,
        e.protocol,
        e.ADDRFAM && `${e.ADDRFAM}/${e.METHOD}`,
        e.new_ip_address && `new ${e.new_ip_address} via ${e.new_routers ?? '-'}`,
        e.old_ip_address && `old ${e.old_ip_address} via ${e.old_routers ?? '-'}`,
        e.new_ip6_address && `new ${e.new_ip6_address}`,
        e.new_ip6_prefix && `new prefix ${e.new_ip6_prefix}`,
        e.old_ip6_address && `old ${e.old_ip6_address}`,
        e.old_ip6_prefix && `old prefix ${e.old_ip6_prefix}`,
        e.new_dhcp6_ia_na1_ia_addr1 && `new ${e.new_dhcp6_ia_na1_ia_addr1}`,
        e.new_dhcp6_ia_pd1_prefix1 && `new prefix ${e.new_dhcp6_ia_pd1_prefix1}/${e.new_dhcp6_ia_pd1_prefix1_length}`,
        e.old_dhcp6_ia_na1_ia_addr1 && `old ${e.old_dhcp6_ia_na1_ia_addr1}`,
        e.old_dhcp6_ia_pd1_prefix1 && `old prefix ${e.old_dhcp6_ia_pd1_prefix1}/${e.old_dhcp6_ia_pd1_prefix1_length}`,
        e.nd1_from && `RA from ${e.nd1_from}`,
        e.new_delegated_dhcp6_prefix && `delegated ${e.new_delegated_dhcp6_prefix}`,
        e.old_delegated_dhcp6_prefix && `old delegated ${e.old_delegated_dhcp6_prefix}`,
        e.IF_ADDRESS && `IF_ADDRESS ${e.IF_ADDRESS}`,
        client === 'ppp' && r.argv,
      ].filter(Boolean);
      out.push(`  - ${client === 'ppp' ? path.basename(path.dirname(r.argv.split(' ')[0] ?? '')) : r.reason}: ${what.join(', ')}`);
    }
    out.push('');
  }
  return out;
}

function report(all: Record<RecordedClient, HookRecord[]>): string {
  const out = [NOTES];
  for (const client of ['dhclient', 'dhcpcd', 'ifupdown', 'ppp'] as const) {
    const records = all[client];
    out.push(`\n## ${client}\n`);
    const byReason = new Map<string, HookRecord[]>();
    for (const r of records) {
      const key = client === 'ifupdown' ? `${r.reason} ${r.env.ADDRFAM ?? ''} ${r.env.METHOD ?? ''}`.trim() : client === 'ppp' ? r.argv.split(' ')[0] ?? r.reason : r.reason;
      byReason.set(key, [...(byReason.get(key) ?? []), r]);
    }
    out.push('| reason | calls | first seen during | variables (besides PATH, PWD) |', '| --- | --- | --- | --- |');
    for (const [reason, rs] of byReason) {
      const names = [...new Set(rs.flatMap((r) => Object.keys(r.env)))].filter((n) => n !== 'PATH' && n !== 'PWD' && !n.startsWith('requested_')).sort();
      out.push(`| ${reason} | ${rs.length} | ${stepOf(rs[0]!, client)} | ${names.map((n) => `\`${n}\``).join(' ')} |`);
    }
    out.push('', `### ${client}: one dump per reason (the first)`, '');
    for (const [reason, rs] of byReason) {
      const r = rs[0]!;
      const env = Object.entries(r.env).filter(([k]) => !k.startsWith('requested_')).map(([k, v]) => `${k}=${v}`);
      const requested = Object.keys(r.env).filter((k) => k.startsWith('requested_'));
      out.push(`#### ${reason} — ${stepOf(r, client)}`, '', '```', `argv: ${r.argv}`, ...env, ...(requested.length ? [`(and ${requested.join(' ')}, each =1)`] : []), '```', '');
    }
  }
  out.push('\n## Could not trigger here\n');
  out.push(...(missed.length ? missed.map((m) => `- ${m}`) : ['- (every step above produced its reason)']));
  out.push(...NOT_TRIED.map((m) => `- ${m}`), '');
  out.push(...timeline(all));
  return out.join('\n');
}

const NOT_TRIED = [
  'dhclient REBIND (IPv4): ISC dhclient 4.4.3 broadcasts its request after T2 but never enters the REBINDING state, so the ACK to it is reported as RENEW (see the timeline); REBIND6 does happen.',
  'dhclient MEDIUM, ARPCHECK, ARPSEND: never sent on Linux (dhclient-script ignores them).',
  'dhcpcd IPV4LL (disabled by `noarp`, and no link-local IPv4 is wanted), INFORM/INFORM6 (needs an RA with only the O flag), 3RDPARTY, TEST, DUMP, CARRIER of a wireless link: not provoked.',
  'dhcpcd RELEASE (IPv4): dhcpcd 9.4 reports `dhcpcd -k` as STOP + STOPPED (RELEASE6 for DHCPv6).',
  'dhcpcd REBOOT6: a restart holding a saved DHCPv6 lease was reported as REBIND6 here; dhcpcd REBIND (IPv4) and REBIND6 do come when the server answers only after T2.',
];

async function main(): Promise<void> {
  const skip = needsTools('dhclient', 'dhcpcd', 'ifup', 'dnsmasq', 'dhcpd', 'ipv6up');
  if (skip) throw new Error(skip);
  const t0 = Date.now();
  const lab = await createLab({
    ipv6: true,
    uplinks: [
      { kind: 'dhcp', dhcp: { v4: 'dnsmasq', v6: 'dhcpd', renewSeconds: 2, rebindSeconds: 4 } },
      { kind: 'dhcp', dhcp: { v4: 'dhcpd', v6: 'dhcpd', leaseSeconds: 12, renewSeconds: 3, rebindSeconds: 6 } },
      'static',
      'ppp',
    ],
  });
  try {
    await installRecorder(lab, ['dhclient', 'dhcpcd', 'ifupdown', 'ppp']);
    // In this order: ifupdown's dhcp stanza reuses dhclient's lease file
    // name, and dhcpcd's last step deletes eth3.
    await pppScenarios(lab);
    await dhclientScenarios(lab);
    await ifupdownScenarios(lab).catch((e) => console.log('ifupdown scenarios stopped:', e));
    await dhcpcdScenarios(lab).catch((e) => console.log('dhcpcd scenarios stopped:', e));
    const all = {
      dhclient: await readRecords(lab, 'dhclient'),
      dhcpcd: await readRecords(lab, 'dhcpcd'),
      ifupdown: await readRecords(lab, 'ifupdown'),
      ppp: await readRecords(lab, 'ppp'),
    };
    await writeFile(OUT, report(all));
    console.log(`wrote ${OUT} in ${Math.round((Date.now() - t0) / 1000)} s; missed: ${missed.join('; ') || 'none'}`);
  } finally {
    await lab.destroy();
  }
}

await main();
