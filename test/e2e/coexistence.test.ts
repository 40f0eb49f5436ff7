// End to end, issue 7 "Coexistence": a router is never multiwan's alone. Before
// multiwan runs, the router namespace gets what other software on a real
// router has put there:
//
// - the admin's own nft tables: `inet filter` (input and forward with policy
//   drop, a named set, named counters on postrouting) and `ip nat` (a DNAT to
//   the LAN client, a masquerade);
// - the admin's iptables-nft rules, IPv4 and IPv6, among them a mangle rule
//   that sets bit 0x10000 of every packet's mark and connection mark;
// - Docker's chains as dockerd creates them through iptables (DOCKER,
//   DOCKER-USER, DOCKER-ISOLATION-STAGE-1/2, a published port's DNAT, FORWARD
//   policy drop, the admin's accepts in DOCKER-USER);
// - wg-quick's full-tunnel rules and table, IPv4 and IPv6, exactly as wg-quick
//   writes them (a veth named wg0 stands in when there is no WireGuard module);
// - an own policy-routing table (rules at 500 and 1250, the latter inside
//   multiwan's priority range), a default route in main, and a conntrack entry
//   that carries only the admin's mark bit.
//
// Then multiwan comes up through pppd's path, its weights change, a policy is
// added, links flap, the monitor takes a link out of service and back, and
// everything goes down again (ip-down of every link; `multiwan down`). After
// every step all of theirs (nft ruleset, iptables-save, ip6tables-save, ip rule
// and ip route of both families) is byte-identical to the snapshot taken before
// multiwan ran; after teardown the complete listings equal the ones from
// before. Traffic is checked while both coexist: the LAN client reaches the
// server, the admin's DNAT answers inbound connections, and the admin's mark
// bit survives on packets and connections multiwan has marked.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addPortForward, connectFromServer, needsRoot, productEnv, whoamiDetailed, type Lab } from '../lab/lab.js';
import { balance, dist, ispFault, labWithHooks, ppp, sleep, startMonitor, within } from './helpers.js';

/** Why this suite cannot run here (the lab's reasons, or no iptables-nft / conntrack), or undefined. */
function skipReason(): string | undefined {
  const lab = needsRoot();
  if (lab) return lab;
  const version = spawnSync('iptables', ['--version'], { encoding: 'utf8' });
  if (version.error) return 'needs iptables (apt install iptables)';
  if (!/nf_tables/.test(version.stdout)) {
    return `needs the nf_tables backend of iptables, found "${version.stdout.trim()}" (update-alternatives --set iptables /usr/sbin/iptables-nft)`;
  }
  if (spawnSync('conntrack', ['--version']).error) return 'needs conntrack (apt install conntrack)';
  return undefined;
}
const skip = skipReason();

const config = (w1: number, w2: number, extra = '') => `
lan = ["192.168.10.0/24"]

[link.isp1]
interface = "ppp0"
weight = ${w1}
check = { targets = ["198.51.100.10", "203.0.113.2"] }

[link.isp2]
interface = "ppp1"
weight = ${w2}
dns = ["203.0.113.6"]
check = { targets = ["198.51.100.10", "203.0.113.6"] }
${extra}`;

const POLICY = `
[[policy]]
name = "stream-via-isp2"
protocol = "tcp"
dst_port = [7001]
via = ["isp2", "isp1"]
`;

/** The admin's bit of the packet and connection mark, outside multiwan's mask 0x3f00. */
const ADMIN_MARK = 0x10000;
const MULTIWAN_MASK = 0x3f00;
const ADMIN_DNAT_PORT = 8081;

// ───────────────────────────── what the others install ─────────────────────────────

/** The admin's interfaces and routing: a management uplink with its own policy table, a Docker bridge, wg0. */
function adminIpBatch(wg: 'wireguard' | 'veth'): string[] {
  return [
    // addrgenmode none: no link-local address appears later and changes the listings by itself.
    'link add adm0 type veth peer name adm0-peer',
    'link set adm0 addrgenmode none',
    'link set adm0-peer addrgenmode none',
    'addr add 10.99.0.1/24 dev adm0',
    'addr add fd99::1/64 dev adm0 nodad',
    'link set adm0-peer up',
    'link set adm0 up',
    // Main's default: the admin's fallback uplink (multiwan's suppress_prefixlength rule hides it from the LAN).
    'route add default via 10.99.0.254 dev adm0 proto static metric 100',
    'route add default via fd99::fe dev adm0 proto static metric 100',
    // An own policy-routing table (its rules come after wg-quick's: see ADMIN_RULES).
    'route add default via 10.99.0.254 dev adm0 table 100',
    'route add 10.99.0.0/24 dev adm0 table 100',
    'route add 192.168.50.0/24 via 10.99.0.254 dev adm0 table 100',
    'route add default via fd99::fe dev adm0 table 100',
    // What dockerd creates before its iptables rules.
    'link add docker0 type bridge',
    'link set docker0 addrgenmode none',
    'addr add 172.17.0.1/16 dev docker0',
    'link set docker0 up',
    // wg-quick, full tunnel: the interface and its addresses, MTU, up.
    ...(wg === 'veth' ? ['link add wg0 type veth peer name wg0-peer', 'link set wg0-peer addrgenmode none', 'link set wg0-peer up'] : []),
    'link set wg0 addrgenmode none',
    'addr add 10.7.0.2/32 dev wg0',
    'addr add fd07::2/128 dev wg0 nodad',
    'link set mtu 1420 up dev wg0',
  ];
}

/**
 * The admin's rules for table 100, one before multiwan's range and one inside
 * it. Added after wg-quick's, whose rules without a priority land at 32765 and
 * 32764 only while no other rule sits below 32766.
 */
const ADMIN_RULES: string[][] = [
  ['ip', '-4', 'rule', 'add', 'priority', '500', 'from', '192.168.50.0/24', 'lookup', '100'],
  ['ip', '-4', 'rule', 'add', 'priority', '1250', 'from', '192.168.60.0/24', 'lookup', '100'],
  ['ip', '-6', 'rule', 'add', 'priority', '500', 'from', 'fd50::/64', 'lookup', '100'],
];

/** What wg-quick runs for `AllowedIPs = 0.0.0.0/0, ::/0` (add_default), in its order, for each family. */
function wgQuickRoutes(): string[][] {
  return ['-4', '-6'].flatMap((family) => [
    ['ip', family, 'route', 'add', family === '-4' ? '0.0.0.0/0' : '::/0', 'dev', 'wg0', 'table', '51820'],
    ['ip', family, 'rule', 'add', 'not', 'fwmark', '51820', 'table', '51820'], // lands at 32765
    ['ip', family, 'rule', 'add', 'table', 'main', 'suppress_prefixlength', '0'], // lands at 32764
  ]);
}

/** wg-quick's nft table (what it loads with `nft -f` when nft is installed). */
const WG_QUICK_NFT = ['ip', 'ip6'].map((family) => {
  const addr = family === 'ip' ? 'ip daddr 10.7.0.2' : 'ip6 daddr fd07::2';
  return `table ${family} wg-quick-wg0 {
  chain preraw {
    type filter hook prerouting priority raw; policy accept;
    iifname != "wg0" ${addr} fib saddr type != local drop
  }
  chain premangle {
    type filter hook prerouting priority mangle; policy accept;
    meta l4proto udp meta mark set ct mark
  }
  chain postmangle {
    type filter hook postrouting priority mangle; policy accept;
    meta l4proto udp meta mark 0x0000ca6c ct mark set meta mark
  }
}
`;
}).join('');

/** The admin's own nft ruleset. */
const ADMIN_NFT = `table inet filter {
  set blocked {
    type ipv4_addr
    flags interval
    elements = { 10.66.0.0/16, 192.0.2.128/25 }
  }
  counter lan_marked { }
  counter lan_unmarked { }
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iif "lo" accept
    iifname "lan0" accept
    meta l4proto { icmp, ipv6-icmp } accept
    counter drop
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ip saddr @blocked counter drop
    ct state established,related accept
    iifname "lan0" accept
    ct status dnat accept
  }
  chain postrouting {
    type filter hook postrouting priority filter; policy accept;
    ip saddr 192.168.10.2 ip daddr 198.51.100.10 meta mark & 0x${ADMIN_MARK.toString(16)} == 0x${ADMIN_MARK.toString(16)} counter name "lan_marked"
    ip saddr 192.168.10.2 ip daddr 198.51.100.10 meta mark & 0x${ADMIN_MARK.toString(16)} == 0 counter name "lan_unmarked"
  }
}
table ip nat {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "ppp1" tcp dport ${ADMIN_DNAT_PORT} dnat to 192.168.10.2:8080
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wg0" masquerade
  }
}
`;

/** The admin's own iptables rules (the nft backend), one `iptables` call each, as a script would run them. */
const ADMIN_IPTABLES: string[][] = [
  ['iptables', '-t', 'mangle', '-A', 'PREROUTING', '-j', 'MARK', '--set-xmark', '0x10000/0x10000'],
  ['iptables', '-t', 'mangle', '-A', 'PREROUTING', '-j', 'CONNMARK', '--set-xmark', '0x10000/0x10000'],
  ['iptables', '-A', 'INPUT', '-i', 'adm0', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT'],
  ['iptables', '-A', 'FORWARD', '-s', '10.66.0.0/16', '-j', 'DROP'],
  ['ip6tables', '-t', 'mangle', '-A', 'PREROUTING', '-j', 'MARK', '--set-xmark', '0x10000/0x10000'],
  ['ip6tables', '-A', 'INPUT', '-p', 'ipv6-icmp', '-j', 'ACCEPT'],
  ['ip6tables', '-A', 'FORWARD', '-i', 'lan0', '-j', 'ACCEPT'],
];

/**
 * Docker's chains as dockerd makes them with iptables for docker0 and one
 * container publishing port 8088, plus the admin's accepts in DOCKER-USER
 * (FORWARD's policy is DROP once Docker runs). Loaded in one iptables-restore
 * --noflush, which goes through the same nft backend as dockerd's calls.
 */
const DOCKER_IPTABLES = `*filter
:FORWARD DROP [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A DOCKER-USER -i lan0 -j ACCEPT
-A DOCKER-USER -m conntrack --ctstate DNAT -j ACCEPT
-A DOCKER-USER -j RETURN
COMMIT
*nat
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8088 -j DNAT --to-destination 172.17.0.2:80
COMMIT
`;

/** A connection of the admin's own (to its management network) that carries only the admin's mark bit. */
const ADMIN_CONNTRACK = ['-p', 'tcp', '-s', '10.99.0.1', '-d', '10.99.0.254', '--sport', '40022', '--dport', '22'];

async function installTheirs(l: Lab): Promise<void> {
  const rtr = l.ns.rtr;
  // wg-quick's `ip link add wg0 type wireguard`; without the WireGuard module
  // (the usual case on test machines) a veth named wg0 takes its place.
  const added = await l.exec(rtr, ['ip', 'link', 'add', 'wg0', 'type', 'wireguard'], { reject: false });
  const wg = added.exitCode === 0 ? 'wireguard' : 'veth';
  await l.exec(rtr, ['ip', '-batch', '-'], { input: adminIpBatch(wg).join('\n') + '\n' });
  for (const argv of [...wgQuickRoutes(), ...ADMIN_RULES]) await l.exec(rtr, argv);
  await l.exec(rtr, ['nft', '-f', '-'], { input: ADMIN_NFT + WG_QUICK_NFT });
  for (const argv of ADMIN_IPTABLES) await l.exec(rtr, argv);
  await l.exec(rtr, ['iptables-restore', '--noflush'], { input: DOCKER_IPTABLES });
  // A port forward through the lab's helper (its own `inet labfwd` table and a
  // LAN listener on 8080, which the admin's `ip nat` DNAT also points at).
  await addPortForward(l, { wanAddr: l.addr.ppp0Local });
  await l.exec(rtr, ['conntrack', '-I', ...ADMIN_CONNTRACK, '--state', 'ESTABLISHED', '--timeout', '3600',
    '--mark', String(ADMIN_MARK)]);
}

// ───────────────────────────── listings ─────────────────────────────

interface Listings {
  nft: string;
  iptables: string;
  ip6tables: string;
  rules4: string;
  rules6: string;
  routes4: string;
  routes6: string;
}

/**
 * Everything in the router's kernel that rules and routes packets. The nft
 * ruleset is listed stateless (`-s`): counters move with traffic, which is not
 * multiwan's doing. iptables-save's "Generated/Completed on <time>" lines are dropped.
 */
async function listings(l: Lab): Promise<Listings> {
  const rtr = l.ns.rtr;
  const out = async (argv: string[]) => (await l.exec(rtr, argv)).stdout;
  const untimed = (text: string) => text.split('\n').filter((line) => !/^# (Generated by|Completed on) /.test(line)).join('\n');
  const [nft, iptables, ip6tables, rules4, rules6, routes4, routes6] = await Promise.all([
    out(['nft', '-s', 'list', 'ruleset']),
    out(['iptables-save']).then(untimed),
    out(['ip6tables-save']).then(untimed),
    out(['ip', '-4', 'rule']),
    out(['ip', '-6', 'rule']),
    out(['ip', '-4', 'route', 'show', 'table', 'all']),
    out(['ip', '-6', 'route', 'show', 'table', 'all']),
  ]);
  return { nft, iptables, ip6tables, rules4, rules6, routes4, routes6 };
}

const OWNED = /\bproto (242|multiwan)\b/;

/** Entries of an `ip rule`/`ip route` listing; a multipath route's `nexthop` lines belong to the line before. */
function entries(listing: string): string[] {
  const result: string[] = [];
  for (const line of listing.split('\n')) {
    if (/^\s/.test(line) && result.length > 0) result[result.length - 1] += `\n${line}`;
    else result.push(line);
  }
  return result;
}

/** The `table inet multiwan { … }` block of a ruleset listing, and the rest. */
function splitNft(ruleset: string): { ours: string[]; theirs: string } {
  const ours: string[] = [];
  const theirs: string[] = [];
  let inOurs = false;
  for (const line of ruleset.split('\n')) {
    if (line === 'table inet multiwan {') inOurs = true;
    (inOurs ? ours : theirs).push(line);
    if (inOurs && line === '}') inOurs = false;
  }
  return { ours, theirs: theirs.join('\n') };
}

/** A listing with multiwan's objects taken out, and what was taken out. */
function separate(all: Listings): { theirs: Listings; ours: Record<keyof Listings, number> } {
  const split = (listing: string) => {
    const list = entries(listing);
    return { theirs: list.filter((e) => !OWNED.test(e)).join('\n'), ours: list.filter((e) => OWNED.test(e)).length };
  };
  const nft = splitNft(all.nft);
  const [rules4, rules6, routes4, routes6] = [all.rules4, all.rules6, all.routes4, all.routes6].map(split) as [
    ReturnType<typeof split>, ReturnType<typeof split>, ReturnType<typeof split>, ReturnType<typeof split>];
  return {
    theirs: { nft: nft.theirs, iptables: all.iptables, ip6tables: all.ip6tables,
      rules4: rules4.theirs, rules6: rules6.theirs, routes4: routes4.theirs, routes6: routes6.theirs },
    ours: { nft: nft.ours.length, iptables: 0, ip6tables: 0,
      rules4: rules4.ours, rules6: rules6.ours, routes4: routes4.ours, routes6: routes6.ours },
  };
}

/**
 * The listings once they stop changing by themselves: the kernel adds the
 * local route of an IPv6 link-local address only when its duplicate address
 * detection ends (~1-2 s after the lab's links came up). Bounded to ~10 s.
 */
async function settledListings(l: Lab): Promise<Listings> {
  const tentative = async () => (await l.exec(l.ns.rtr, ['ip', '-6', '-o', 'addr', 'show', 'tentative'])).stdout.trim();
  const settled = await within(5000, async () => (await tentative()) === '', 50);
  if (settled === undefined) throw new Error(`IPv6 addresses still tentative after 5 s:\n${await tentative()}`);
  let last = await listings(l);
  for (let i = 0; i < 20; i++) {
    await sleep(250);
    const now = await listings(l);
    if (JSON.stringify(now) === JSON.stringify(last)) return now;
    last = now;
  }
  throw new Error('the router’s listings kept changing for 5 s before multiwan ran');
}

// ───────────────────────────── the suite ─────────────────────────────

let lab: Lab | undefined;
const up = (l: Lab, iface: 'ppp0' | 'ppp1') => ppp(l, 'up', iface);
const down = (l: Lab, iface: 'ppp0' | 'ppp1') => ppp(l, 'down', iface);

async function multiwan(l: Lab, args: string[]) {
  const r = await l.exec(l.ns.rtr, [dist('multiwan'), ...args], { env: productEnv(l), reject: false });
  expect(r.exitCode, `multiwan ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

/** A router with everything of theirs installed; `before` is the complete listing before multiwan ran. */
async function routerWithOthers(toml: string): Promise<{ l: Lab; before: Listings }> {
  const l = await labWithHooks(2, toml);
  lab = l;
  await installTheirs(l);
  const before = await settledListings(l);
  // The snapshot holds what it should, so comparing it can fail.
  expect(before.iptables).toContain('-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8088 -j DNAT --to-destination 172.17.0.2:80');
  expect(before.iptables).toContain('-A PREROUTING -j MARK --set-xmark 0x10000/0x10000');
  expect(before.ip6tables).toContain('-A PREROUTING -j MARK --set-xmark 0x10000/0x10000');
  expect(before.rules4).toMatch(/^32764:\s+from all lookup main suppress_prefixlength 0$/m);
  expect(before.rules4).toMatch(/^32765:\s+not from all fwmark 0xca6c lookup 51820$/m);
  expect(before.rules6).toMatch(/^32765:\s+not from all fwmark 0xca6c lookup 51820$/m);
  expect(before.rules4).toMatch(/^1250:\s+from 192\.168\.60\.0\/24 lookup 100$/m);
  expect(before.routes4).toContain('default dev wg0 table 51820');
  expect(before.routes6).toContain('default dev wg0 table 51820');
  expect(before.nft).toMatch(/table inet filter \{[\s\S]*set blocked[\s\S]*table ip nat \{[\s\S]*table ip wg-quick-wg0 \{/);
  expect(before.nft).not.toContain('table inet multiwan');
  return { l, before };
}

/** After `step`: multiwan's objects are there, and with them taken out the listings are exactly `before`. */
async function expectTheirsIntact(l: Lab, before: Listings, step: string): Promise<void> {
  const now = separate(await listings(l));
  expect(now.ours.nft, `${step}: table inet multiwan present`).toBeGreaterThan(0);
  expect(now.ours.rules4, `${step}: multiwan's IPv4 rules present`).toBeGreaterThan(0);
  expect(now.ours.routes4, `${step}: multiwan's IPv4 routes present`).toBeGreaterThan(0);
  const theirs = separate(before).theirs;
  for (const key of Object.keys(theirs) as Array<keyof Listings>) {
    expect(now.theirs[key], `${step}: ${key}`).toBe(theirs[key]);
  }
}

/** After teardown: the complete listings, multiwan's gone, equal the ones from before it ran. */
async function expectAsBefore(l: Lab, before: Listings, step: string): Promise<void> {
  const now = await listings(l);
  for (const key of Object.keys(before) as Array<keyof Listings>) {
    expect(now[key], `${step}: ${key}`).toBe(before[key]);
  }
}

async function nftCounter(l: Lab, name: string): Promise<number> {
  const r = await l.exec(l.ns.rtr, ['nft', '-j', 'list', 'counter', 'inet', 'filter', name]);
  const json = JSON.parse(r.stdout) as { nftables: Array<{ counter?: { packets: number } }> };
  return json.nftables.find((o) => o.counter)?.counter?.packets ?? 0;
}

/** Marks of the conntrack entries matching `filter` (conntrack -L prints them in decimal). */
async function connMarks(l: Lab, filter: string[]): Promise<number[]> {
  const r = await l.exec(l.ns.rtr, ['conntrack', '-L', ...filter], { reject: false });
  return [...r.stdout.matchAll(/\bmark=(\d+)/g)].map((m) => Number(m[1]));
}

/** The admin's own conntrack entry is still there with only its bit. */
async function expectAdminConnection(l: Lab, step: string): Promise<void> {
  expect(await connMarks(l, ADMIN_CONNTRACK), `${step}: the admin's connection`).toEqual([ADMIN_MARK]);
}

describe.skipIf(!!skip)(`coexistence with the admin's nft, iptables-nft, Docker and wg-quick${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(() => {
    if (!existsSync(dist('multiwan'))) throw new Error('dist/multiwan is missing: run `npm run build` (npm test does)');
  });
  afterEach(async () => {
    await lab?.destroy();
    lab = undefined;
  });

  it('apply, weight and policy edits, flaps and monitor verdicts leave all of theirs byte-identical; traffic and the admin’s mark bit survive; ip-down of every link restores the complete listings', async () => {
    const { l, before } = await routerWithOthers(config(8, 2));

    await up(l, 'ppp0');
    await expectTheirsIntact(l, before, 'ip-up ppp0');
    await up(l, 'ppp1');
    await expectTheirsIntact(l, before, 'ip-up ppp1');
    await expectAdminConnection(l, 'both links up');

    // Traffic with everything in place: the LAN client out through both links…
    const seen = await whoamiDetailed(l, { count: 40 });
    expect(seen.errors, 'LAN → server with both links up').toEqual([]);
    expect(seen.counts[l.addr.ppp0Local], 'some through ppp0').toBeGreaterThan(0);
    expect(seen.counts[l.addr.ppp1Local], 'some through ppp1').toBeGreaterThan(0);
    // …with the admin's bit on every packet multiwan routed (nft counter) and on
    // every connection multiwan pinned (conntrack), next to multiwan's link bits.
    expect(await nftCounter(l, 'lan_marked')).toBeGreaterThan(0);
    expect(await nftCounter(l, 'lan_unmarked')).toBe(0);
    const marks = await connMarks(l, ['-p', 'tcp', '-s', l.addr.client, '-d', l.addr.server, '--dport', '7000']);
    expect(marks.length).toBeGreaterThanOrEqual(40);
    for (const mark of marks) {
      expect(mark & ADMIN_MARK, `ct mark 0x${mark.toString(16)} keeps the admin's bit`).toBe(ADMIN_MARK);
      expect([0x100, 0x200], `ct mark 0x${mark.toString(16)} is pinned by multiwan`).toContain(mark & MULTIWAN_MASK);
    }
    // …and inbound through the lab's `inet labfwd` forward on ppp0 and the admin's `ip nat` DNAT on ppp1.
    expect(await connectFromServer(l, l.addr.ppp0Local, 8080)).toMatchObject({ ok: true, reply: l.addr.server });
    expect(await connectFromServer(l, l.addr.ppp1Local, ADMIN_DNAT_PORT)).toMatchObject({ ok: true, reply: l.addr.server });
    await expectTheirsIntact(l, before, 'traffic');

    await l.writeConfig(config(1, 5));
    await multiwan(l, ['apply']);
    expect(await balance(l)).toMatch(/nexthop dev ppp0 weight 1[\s\S]*nexthop dev ppp1 weight 5/);
    await expectTheirsIntact(l, before, 'weights changed');

    await l.writeConfig(config(1, 5, POLICY));
    await multiwan(l, ['apply']);
    expect((await l.exec(l.ns.rtr, ['nft', 'list', 'chain', 'inet', 'multiwan', 'policies'])).stdout).toContain('stream-via-isp2');
    await expectTheirsIntact(l, before, 'policy added');

    for (let flap = 1; flap <= 3; flap++) {
      await down(l, 'ppp0');
      await expectTheirsIntact(l, before, `flap ${flap}: ip-down ppp0`);
      await up(l, 'ppp0');
      await expectTheirsIntact(l, before, `flap ${flap}: ip-up ppp0`);
    }
    await down(l, 'ppp1');
    await up(l, 'ppp1');
    await expectTheirsIntact(l, before, 'flap ppp1');

    // The monitor takes a silently dead link out of service and puts it back.
    const monitor = await startMonitor(l, 500);
    await ispFault(l, 'isp1', 'drop');
    expect(await within(5000, async () => !(await balance(l)).includes('ppp0')), 'isp1 out of service').toBeDefined();
    await expectTheirsIntact(l, before, 'monitor: isp1 out of service');
    await ispFault(l, 'isp1', undefined);
    expect(await within(5000, async () => (await balance(l)).includes('ppp0')), 'isp1 back in service').toBeDefined();
    await expectTheirsIntact(l, before, 'monitor: isp1 back in service');
    // The monitor prints its line after the kernel changed: wait for it.
    expect(await monitor.waitLine((line) => line.startsWith('isp1 (ppp0): out of service'), 2000), monitor.lines.join('\n')).toBeDefined();

    const again = await whoamiDetailed(l, { count: 20 });
    expect(again.errors, 'LAN → server after the flaps').toEqual([]);
    expect(await nftCounter(l, 'lan_unmarked')).toBe(0);
    await expectAdminConnection(l, 'after the flaps');

    // Teardown as pppd does it, the monitor still running.
    await down(l, 'ppp1');
    await expectTheirsIntact(l, before, 'ip-down ppp1');
    await down(l, 'ppp0');
    await expectAsBefore(l, before, 'ip-down of every link');
    await sleep(1000); // the monitor has had time to do something it should not
    await expectAsBefore(l, before, 'ip-down of every link, 1 s later');
    await expectAdminConnection(l, 'after teardown');
    expect(monitor.exited, monitor.stderr).toBe(false);
  });

  it('multiwan down, with the monitor running, removes only what is multiwan’s', async () => {
    const { l, before } = await routerWithOthers(config(8, 2, POLICY));
    await up(l, 'ppp0');
    await up(l, 'ppp1');
    await startMonitor(l, 500);
    await expectTheirsIntact(l, before, 'both up, monitor running');
    const seen = await whoamiDetailed(l, { count: 10 });
    expect(seen.errors).toEqual([]);

    await multiwan(l, ['down']);
    await expectAsBefore(l, before, 'multiwan down');
    await sleep(1000);
    await expectAsBefore(l, before, 'multiwan down, 1 s later');
    await expectAdminConnection(l, 'after multiwan down');
  });
});
