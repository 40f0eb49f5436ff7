// End to end, issue 8: dual stack with source-prefix routing (RFC 8678), and
// `multiwan explain` held to the kernel and to real traffic in both families.
// Two PPP links run as pppd runs them: ip-up for IPv4, ipv6-up/ipv6-down with
// the IPv6CP link-locals pppd passes (zero-padded), through Debian's
// /etc/ppp/ip{,v6}-{up,down} in the router sandbox. Each ISP delegates a /48
// (the config's `prefixes6`) and drops any source that is not its customer's,
// in both families, counting the drops; the LAN client holds an address from
// each prefix.
import { isIP } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ADDR6,
  PORTS,
  addServerAddress,
  createLab,
  ispCounters,
  needsTools,
  ppp6,
  productEnv,
  resetIspCounters,
  sandboxInstall,
  spoofDrops,
  startBackground,
  startServer,
  whoamiDetailed,
  type IspRole,
  type Lab,
  type Uplink,
} from '../lab/lab.js';
import { NODE } from '../lab/exec.js';
import { CLIENT_JS, SERVER_JS } from '../lab/traffic.js';
import { dist, ppp } from './helpers.js';

const skip = needsTools('ipv6up');
const title = `dual stack and explain end to end${skip ? ` (skipped: ${skip})` : ''}`;

/** Global addresses given to the PPP links for NAT66 (from each ISP's own prefix, which it routes to the router). */
const GLOBAL = { ppp0: '2001:db8:1:ff::2', ppp1: '2001:db8:2:ff::2' } as const;
/** A ULA on the LAN: no ISP's prefix, so only NAT66 gets it out. */
const ULA = { net: 'fd00:10::/64', router: 'fd00:10::1', client: 'fd00:10::2' } as const;
/** Server addresses for the explain packets: isp1's resolvers, and destinations routed through isp2. */
const DNS = { v4: '198.51.100.53', v6: '2001:db8:100::53' } as const;
const ROUTED = { v4: { prefix: '203.0.113.64/26', addr: '203.0.113.70' }, v6: { prefix: '2001:db8:100:64::/64', addr: '2001:db8:100:64::70' } } as const;
const POLICY_PORT = 7002;
const LAN_PORT = 7100;

describe.skipIf(!!skip)(title, () => {
  let lab: Lab;
  let ppp0: Uplink;
  let ppp1: Uplink;

  const rtr = async (argv: string[]) => (await lab.exec(lab.ns.rtr, argv)).stdout;
  const multiwan = (args: string[]) => lab.exec(lab.ns.rtr, [dist('multiwan'), ...args], { env: productEnv(lab), reject: false });
  const ipv6Hook = async (iface: 'ppp0' | 'ppp1', action: 'up' | 'down' = 'up') => {
    const r = await ppp6(lab, action, iface);
    expect(r.hookFailed, `ipv6-${action} ${iface}: ${r.stdout}${r.stderr}`).toBe(false);
    return r.stdout;
  };
  /** Connections from a LAN address (or the default LAN client) to host:port: what the server saw. */
  const fromLan = async (from: string, count: number, opts: { host?: string; port?: number; sport?: number } = {}) =>
    (await whoamiDetailed(lab, { from, count, timeoutMs: 2000, ...opts })).counts;
  /** The router's own connections, bound to one of its addresses. */
  const fromRouter = async (bind: string, count: number, opts: { host?: string; port?: number } = {}) => {
    const host = opts.host ?? (isIP(bind) === 6 ? ADDR6.server : lab.addr.server);
    const argv = [NODE, CLIENT_JS, 'whoami', '--host', host, '--port', String(opts.port ?? PORTS.whoami), '--bind', bind,
      '--count', String(count), '--timeout', '2000', '--concurrency', '4'];
    return (JSON.parse((await lab.exec(lab.ns.rtr, argv)).stdout) as { counts: Record<string, number> }).counts;
  };
  /** Runs `traffic` and returns which ISPs forwarded or dropped packets from the router meanwhile. */
  const carriedBy = async <T>(traffic: () => Promise<T>): Promise<{ result: T; isps: Record<IspRole, { forwarded: number; spoofed: number }> }> => {
    await Promise.all([resetIspCounters(lab, 'isp1'), resetIspCounters(lab, 'isp2')]);
    const result = await traffic();
    const [isp1, isp2] = await Promise.all([ispCounters(lab, 'isp1'), ispCounters(lab, 'isp2')]);
    return { result, isps: { isp1, isp2 } as Record<IspRole, { forwarded: number; spoofed: number }> };
  };
  const tableOf = async (name: string): Promise<number> => {
    const status = JSON.parse((await multiwan(['status', '--json'])).stdout) as { links: { name: string; table?: number }[] };
    const table = status.links.find((l) => l.name === name)?.table;
    if (table === undefined) throw new Error(`no table for ${name}`);
    return table;
  };
  const linkState = async (name: string) => {
    const status = JSON.parse((await multiwan(['status', '--json'])).stdout) as { links: { name: string; ipv4?: object; ipv6?: object }[] };
    return status.links.find((l) => l.name === name);
  };

  const config = (opts: { masquerade6?: boolean; extra1?: string; extra2?: string; tail?: string } = {}) => `
lan = ["192.168.10.0/24", "${ppp0.v6!.lan}", "${ppp1.v6!.lan}"${opts.masquerade6 ? `, "${ULA.net}"` : ''}]

[link.isp1]
interface = "ppp0"
prefixes6 = ["${ppp0.v6!.prefix}"]
${opts.masquerade6 ? 'masquerade6 = true' : ''}
${opts.extra1 ?? ''}

[link.isp2]
interface = "ppp1"
prefixes6 = ["${ppp1.v6!.prefix}"]
${opts.masquerade6 ? 'masquerade6 = true' : ''}
${opts.extra2 ?? ''}
${opts.tail ?? ''}
`;

  /** Both links up in both families with this config (idempotent: pppd's scripts may run again). */
  const bothUp = async (toml: string) => {
    await lab.writeConfig(toml);
    for (const iface of ['ppp0', 'ppp1'] as const) {
      await ppp(lab, 'up', iface);
      await ipv6Hook(iface);
    }
  };
  /** NAT66 needs an address on each link: a /128 from its ISP's prefix; and a ULA on the LAN. */
  const addNat66Addresses = async () => {
    for (const iface of ['ppp0', 'ppp1'] as const) {
      await lab.exec(lab.ns.rtr, ['ip', '-6', 'addr', 'replace', `${GLOBAL[iface]}/128`, 'dev', iface, 'nodad']);
    }
    await lab.exec(lab.ns.rtr, ['ip', '-6', 'addr', 'replace', `${ULA.router}/64`, 'dev', 'lan0', 'nodad']);
    await lab.exec(lab.ns.lan, ['ip', '-6', 'addr', 'replace', `${ULA.client}/64`, 'dev', 'eth0', 'nodad']);
  };

  beforeAll(async () => {
    lab = await createLab({ ipv6: true });
    [ppp0, ppp1] = lab.uplinks as [Uplink, Uplink];
    await lab.installHooks(dist('ip-up'), dist('ip-down'));
    await sandboxInstall(lab, '/etc/ppp/ipv6-up.d/multiwan', dist('ipv6-up'));
    await sandboxInstall(lab, '/etc/ppp/ipv6-down.d/multiwan', dist('ipv6-down'));
  });

  // Each test counts its own drops.
  beforeEach(async () => {
    await Promise.all([resetIspCounters(lab, 'isp1'), resetIspCounters(lab, 'isp2')]);
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('each prefix leaves through its ISP with the client’s own address (no NAT66), IPv4 beside it', async () => {
    await lab.writeConfig(config());
    await ppp(lab, 'up', 'ppp0');
    await ppp(lab, 'up', 'ppp1');
    expect(await ipv6Hook('ppp0')).toContain('multiwan: isp1 (ppp0) up (IPv6); in service: isp1, isp2');
    expect(await ipv6Hook('ppp1')).toContain('multiwan: isp2 (ppp1) up (IPv6); in service: isp1, isp2');

    // pppd's zero-padded link-locals, canonical in the state and the routes.
    expect((await linkState('isp1'))?.ipv6).toMatchObject({ peer: ppp0.v6!.peerLinkLocal, prefixes: [ppp0.v6!.prefix] });
    const [t1, t2] = [await tableOf('isp1'), await tableOf('isp2')];
    expect(await rtr(['ip', '-6', 'route', 'show', 'table', String(t1)])).toContain(`default via ${ppp0.v6!.peerLinkLocal} dev ppp0`);
    expect(await rtr(['ip', '-6', 'route', 'show', 'table', String(t2)])).toContain(`default via ${ppp1.v6!.peerLinkLocal} dev ppp1`);
    const rules6 = await rtr(['ip', '-6', 'rule']);
    expect(rules6).toContain(`from ${ppp0.v6!.prefix} lookup ${t1}`);
    expect(rules6).toContain(`from ${ppp1.v6!.prefix} lookup ${t2}`);
    expect(await rtr(['nft', 'list', 'table', 'inet', 'multiwan'])).not.toMatch(/nfproto ipv6 .*masquerade/);

    for (const [isp, other] of [['isp1', 'isp2'], ['isp2', 'isp1']] as const) {
      const client = ADDR6.client(isp);
      const { result, isps } = await carriedBy(() => fromLan(client, 20));
      expect(result, `from ${client}`).toEqual({ [client]: 20 });
      expect(isps[isp].forwarded, `${isp} carried ${client}`).toBeGreaterThan(0);
      expect(isps[other].forwarded + isps[other].spoofed, `${other} saw nothing of ${client}`).toBe(0);
      expect(isps[isp].spoofed).toBe(0);
    }
    // IPv4 beside it: both links, masqueraded.
    const v4 = await fromLan(lab.addr.client, 40);
    expect(v4.error ?? 0).toBe(0);
    expect(Object.keys(v4).sort()).toEqual([ppp0.v4.local, ppp1.v4.local]);
  });

  it('ipv6-down of one link takes its prefix rules and IPv6 route with it; IPv4 keeps working on that link', async () => {
    await bothUp(config());
    const t2 = await tableOf('isp2');
    const down = await ipv6Hook('ppp1', 'down');
    expect(down).toContain('multiwan: isp2 (ppp1) down (IPv6); in service: isp1, isp2');
    expect(await linkState('isp2')).toMatchObject({ ipv4: { address: ppp1.v4.local } });
    expect((await linkState('isp2'))?.ipv6).toBeUndefined();
    expect(await rtr(['ip', '-6', 'rule'])).not.toContain(ppp1.v6!.prefix);
    expect(await rtr(['ip', '-6', 'route', 'show', 'table', String(t2)])).toBe('');
    expect(await rtr(['ip', '-6', 'route', 'show', 'table', '200'])).not.toContain('ppp1');
    expect(await rtr(['ip', '-4', 'route', 'show', 'table', String(t2)])).toContain('default dev ppp1');

    const v4 = await fromLan(lab.addr.client, 40);
    expect(v4.error ?? 0).toBe(0);
    expect(Object.keys(v4).sort()).toEqual([ppp0.v4.local, ppp1.v4.local]);
    expect(await fromRouter(ppp1.v4.local, 5)).toEqual({ [ppp1.v4.local]: 5 });
    expect(await fromLan(ADDR6.client('isp1'), 10)).toEqual({ [ADDR6.client('isp1')]: 10 });

    // and back
    await ipv6Hook('ppp1');
    expect(await rtr(['ip', '-6', 'rule'])).toContain(`from ${ppp1.v6!.prefix} lookup ${t2}`);
    expect(await fromLan(ADDR6.client('isp2'), 10)).toEqual({ [ADDR6.client('isp2')]: 10 });
    expect(await spoofDrops(lab, 'isp1')).toBe(0);
    expect(await spoofDrops(lab, 'isp2')).toBe(0);
  });

  it('ip-down of one link takes its IPv4 out and leaves its IPv6 (prefix rules, traffic) in service', async () => {
    await bothUp(config());
    await ppp(lab, 'down', 'ppp1');
    expect(await linkState('isp2')).toMatchObject({ ipv6: { peer: ppp1.v6!.peerLinkLocal } });
    expect((await linkState('isp2'))?.ipv4).toBeUndefined();
    expect(await fromLan(lab.addr.client, 20)).toEqual({ [ppp0.v4.local]: 20 });
    expect(await fromLan(ADDR6.client('isp2'), 10)).toEqual({ [ADDR6.client('isp2')]: 10 });
    await ppp(lab, 'up', 'ppp1');
    const v4 = await fromLan(lab.addr.client, 40);
    expect(Object.keys(v4).sort()).toEqual([ppp0.v4.local, ppp1.v4.local]);
  });

  it('the router’s own IPv6 connections (unbound) leave by the link whose prefix holds the source the kernel picked', async () => {
    await bothUp(config());
    // The PPP links have link-locals only: the kernel picks the router's
    // source from its LAN addresses (one per ISP prefix) whatever link the
    // balanced default chose, so a connection whose source is isp2's and
    // whose route is isp1's is dropped by isp1 unless multiwan sends it by isp2.
    const { result, isps } = await carriedBy(() => whoamiDetailed(lab, { from: lab.ns.rtr, host: ADDR6.server, count: 20, timeoutMs: 1500 }));
    const route = await rtr(['ip', '-6', 'route', 'get', ADDR6.server]);
    expect(result.counts.error ?? 0, `route: ${route}; isp1 ${JSON.stringify(isps.isp1)} isp2 ${JSON.stringify(isps.isp2)}; ${result.errors[0] ?? ''}`).toBe(0);
    expect(isps.isp1.spoofed + isps.isp2.spoofed).toBe(0);
  });

  it('masquerade6 = true: the server sees the link’s own IPv6 address; a ULA LAN source is balanced over both links', async () => {
    // Global addresses on the PPP links (pppd's IPv6CP gives only link-locals):
    // ipv6-up reads the link's address from the interface.
    await addNat66Addresses();
    await bothUp(config({ masquerade6: true }));
    expect((await linkState('isp1'))?.ipv6).toMatchObject({ address: GLOBAL.ppp0 });
    expect(await rtr(['nft', 'list', 'chain', 'inet', 'multiwan', 'nat_postrouting'])).toMatch(/meta nfproto ipv6 oifname \{ "ppp0", "ppp1" \} masquerade/);

    expect(await fromLan(ADDR6.client('isp1'), 10)).toEqual({ [GLOBAL.ppp0]: 10 });
    expect(await fromLan(ADDR6.client('isp2'), 10)).toEqual({ [GLOBAL.ppp1]: 10 });
    const ula = await fromLan(ULA.client, 60);
    expect(ula.error ?? 0).toBe(0);
    expect(Object.keys(ula).sort()).toEqual([GLOBAL.ppp0, GLOBAL.ppp1]);
    // The router's own traffic from a link's address leaves by that link.
    expect(await fromRouter(GLOBAL.ppp1, 5)).toEqual({ [GLOBAL.ppp1]: 5 });
    expect(await spoofDrops(lab, 'isp1')).toBe(0);
    expect(await spoofDrops(lab, 'isp2')).toBe(0);
  });

  it('explain cannot drift: for packets of both families its decision is the kernel’s route and the link real traffic takes', async () => {
    await addNat66Addresses();
    await bothUp(config({
      masquerade6: true,
      extra1: `dns = ["${DNS.v4}", "${DNS.v6}"]`,
      extra2: `routes = ["${ROUTED.v4.prefix}", "${ROUTED.v6.prefix}"]`,
      tail: `[[policy]]\nname = "p${POLICY_PORT}"\nprotocol = "tcp"\ndst_port = [${POLICY_PORT}]\nvia = ["isp2"]\n`,
    }));
    for (const addr of [DNS.v4, DNS.v6, ROUTED.v4.addr, ROUTED.v6.addr]) await addServerAddress(lab, addr);
    await startServer(lab, { whoami: [POLICY_PORT], host: '::' });
    const lanListener = startBackground(lab, lab.ns.lan, [NODE, SERVER_JS, '--whoami', String(LAN_PORT), '--host', '::']);
    expect(await lanListener.waitLine((l) => l === 'ready', 5000)).toBe('ready');

    // Who the server (or the LAN listener) saw -> the link the connection took.
    const linkOfSeen: Record<string, string> = {
      [ppp0.v4.local]: 'isp1', [ppp1.v4.local]: 'isp2', [GLOBAL.ppp0]: 'isp1', [GLOBAL.ppp1]: 'isp2',
      [lab.addr.rtrLan]: 'lan', [ADDR6.rtrLan('isp1')]: 'lan',
    };
    const ifaceOf: Record<string, string> = { isp1: 'ppp0', isp2: 'ppp1', lan: 'lan0' };
    const balanceTable = 200;

    interface Case {
      what: string;
      src: string;
      dst: string;
      dport: number;
      /** the decision expected from the config: a link, `balance` (the kernel's hash picks), or `lan` */
      expect: { kind: 'link' | 'balance' | 'lan'; link?: string; why?: RegExp };
      /** the router's own traffic (bound to src) rather than a LAN client's */
      router?: boolean;
    }
    const v4 = lab.addr;
    const cases: Case[] = [
      { what: 'IPv4 policy', src: v4.client, dst: v4.server, dport: POLICY_PORT, expect: { kind: 'link', link: 'isp2', why: /policy "p7002"/ } },
      { what: 'IPv4 DNS server', src: v4.client, dst: DNS.v4, dport: PORTS.whoami, expect: { kind: 'link', link: 'isp1', why: /DNS server of isp1/ } },
      { what: 'IPv4 destination route', src: v4.client, dst: ROUTED.v4.addr, dport: PORTS.whoami, expect: { kind: 'link', link: 'isp2', why: /destination route of isp2/ } },
      { what: 'IPv4 source isp1', src: ppp0.v4.local, dst: v4.server, dport: PORTS.whoami, router: true, expect: { kind: 'link', link: 'isp1', why: /isp1's address/ } },
      { what: 'IPv4 source isp2', src: ppp1.v4.local, dst: v4.server, dport: PORTS.whoami, router: true, expect: { kind: 'link', link: 'isp2', why: /isp2's address/ } },
      { what: 'IPv4 router source + policy', src: ppp0.v4.local, dst: v4.server, dport: POLICY_PORT, router: true, expect: { kind: 'link', link: 'isp2', why: /policy "p7002"/ } },
      { what: 'IPv4 balanced default', src: v4.client, dst: v4.server, dport: PORTS.whoami, expect: { kind: 'balance' } },
      { what: 'IPv4 lan', src: v4.rtrLan, dst: v4.client, dport: LAN_PORT, router: true, expect: { kind: 'lan' } },
      { what: 'IPv6 policy over the source prefix', src: ADDR6.client('isp1'), dst: ADDR6.server, dport: POLICY_PORT, expect: { kind: 'link', link: 'isp2', why: /policy "p7002"/ } },
      { what: 'IPv6 DNS server', src: ULA.client, dst: DNS.v6, dport: PORTS.whoami, expect: { kind: 'link', link: 'isp1', why: /DNS server of isp1/ } },
      { what: 'IPv6 destination route', src: ULA.client, dst: ROUTED.v6.addr, dport: PORTS.whoami, expect: { kind: 'link', link: 'isp2', why: /destination route of isp2/ } },
      { what: 'IPv6 source prefix isp1', src: ADDR6.client('isp1'), dst: ADDR6.server, dport: PORTS.whoami, expect: { kind: 'link', link: 'isp1', why: /a prefix of isp1/ } },
      { what: 'IPv6 source prefix isp2', src: ADDR6.client('isp2'), dst: ADDR6.server, dport: PORTS.whoami, expect: { kind: 'link', link: 'isp2', why: /a prefix of isp2/ } },
      { what: 'IPv6 prefix beats a DNS server', src: ADDR6.client('isp2'), dst: DNS.v6, dport: PORTS.whoami, expect: { kind: 'link', link: 'isp2', why: /a prefix of isp2/ } },
      { what: 'IPv6 router source isp2', src: GLOBAL.ppp1, dst: ADDR6.server, dport: PORTS.whoami, router: true, expect: { kind: 'link', link: 'isp2', why: /isp2's address/ } },
      { what: 'IPv6 router source + policy', src: GLOBAL.ppp0, dst: ADDR6.server, dport: POLICY_PORT, router: true, expect: { kind: 'link', link: 'isp2', why: /policy "p7002"/ } },
      { what: 'IPv6 balanced default', src: ULA.client, dst: ADDR6.server, dport: PORTS.whoami, expect: { kind: 'balance' } },
      { what: 'IPv6 lan', src: ADDR6.rtrLan('isp1'), dst: ADDR6.client('isp1'), dport: LAN_PORT, router: true, expect: { kind: 'lan' } },
    ];

    for (const c of cases) {
      const args = ['explain', c.src, c.dst, '--proto', 'tcp', '--dport', String(c.dport), '--json'];
      const r = await multiwan(args);
      expect(r.exitCode, `${c.what}: ${r.stderr}`).toBe(0);
      const { explanation, kernel } = JSON.parse(r.stdout) as {
        explanation: { decision: { kind: string; link?: string; table?: number; why: string; weights?: { link: string }[] } };
        kernel?: { dev?: string; table?: string; error?: string; argv: string[] };
      };
      const decision = explanation.decision;
      // 1. explain's decision is the one the config calls for
      expect(decision.kind, `${c.what}: ${decision.why}`).toBe(c.expect.kind);
      if (c.expect.link) expect(decision.link, c.what).toBe(c.expect.link);
      if (c.expect.why) expect(decision.why, c.what).toMatch(c.expect.why);
      // 2. the kernel agrees
      expect(kernel?.error, `${c.what}: ${kernel?.argv.join(' ')}`).toBeUndefined();
      const kernelLink = Object.keys(ifaceOf).find((l) => ifaceOf[l] === kernel?.dev);
      if (decision.kind === 'link') {
        expect(kernelLink, `${c.what}: kernel ${kernel?.argv.join(' ')} -> ${kernel?.dev}`).toBe(decision.link);
        expect(kernel?.table, c.what).toBe(String(decision.table));
      } else if (decision.kind === 'balance') {
        expect(kernel?.table, c.what).toBe(String(balanceTable));
        expect(decision.weights?.map((w) => w.link).sort(), c.what).toEqual(['isp1', 'isp2']);
        expect(['isp1', 'isp2'], c.what).toContain(kernelLink);
      } else {
        expect(kernelLink, c.what).toBe('lan');
      }
      // 3. real traffic takes that link (the source the server saw names it);
      // balanced: new connections spread over exactly the balanced links. (The
      // kernel's pick for one 5-tuple cannot be held to real traffic: a
      // forwarded packet that arrives with an L4 hash, here the client
      // socket's random txhash carried over the veth, a NIC's RSS hash on real
      // hardware, is balanced on that hash, not on the one `ip route get`
      // computes.)
      const balanced = decision.kind === 'balance';
      const seen = c.router
        ? await fromRouter(c.src, 4, { host: c.dst, port: c.dport })
        : await fromLan(c.src, balanced ? 40 : 4, { host: c.dst, port: c.dport });
      const links = [...new Set(Object.keys(seen).map((addr) => linkOfSeen[addr] ?? `unexpected ${addr}`))].sort();
      const expected = balanced ? decision.weights!.map((w) => w.link).sort() : [kernelLink];
      expect(links, `${c.what}: the server saw ${JSON.stringify(seen)}`).toEqual(expected);
    }
    expect(await spoofDrops(lab, 'isp1')).toBe(0);
    expect(await spoofDrops(lab, 'isp2')).toBe(0);
  });
});
