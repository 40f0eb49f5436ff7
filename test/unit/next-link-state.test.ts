// nextLinkState as a table: (recorded, input, live interfaces) -> next state,
// log lines, transitions. Pure.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import type { LinkEvent } from '../../src/events/types.js';
import { parseInterfaces, type LiveInterfaces } from '../../src/state/live.js';
import { nextLinkState, type LinkInput } from '../../src/state/next-link-state.js';
import type { LinkState } from '../../src/state/types.js';
import { link } from '../fixtures/configs.js';

const NOW = '2026-06-01T00:00:00.000Z';
const THEN = '2026-01-01T00:00:00.000Z';
const isp = link('isp2', 'ppp1');

/** Live interfaces as `ip -j` would print them: name -> addresses ("a.b.c.d peer e.f.g.h", "x/len", "fe80::1/64 link"). */
function live(spec: Record<string, string[] | { up: false; addresses: string[] }>): LiveInterfaces {
  const links = Object.entries(spec).map(([ifname, s]) => ({ ifname, flags: Array.isArray(s) ? ['UP', 'LOWER_UP'] : ['NOARP'] }));
  const addrs = Object.entries(spec).map(([ifname, s]) => ({
    ifname,
    addr_info: (Array.isArray(s) ? s : s.addresses).map((a) => {
      const [address, ...opts] = a.split(' ');
      const [local, len] = address!.split('/');
      return {
        family: local!.includes(':') ? 'inet6' : 'inet',
        local,
        ...(opts[0] === 'peer' ? { address: opts[1] } : {}),
        prefixlen: Number(len ?? 32),
        scope: opts.includes('link') ? 'link' : 'global',
      };
    }),
  }));
  return parseInterfaces(links, [addrs]);
}

const up4: LinkState = { link: 'isp2', iface: 'ppp1', kind: 'ppp', v4: { local: '100.64.2.2', peer: '100.64.2.1' }, since: THEN };
const dual: LinkState = { ...up4, v6: { local: '2001:db8:2::2', peer: 'fe80::1' } };
const down: LinkState = { link: 'isp2', iface: 'ppp1', kind: 'ppp', since: THEN };
const ppp1 = ['100.64.2.2 peer 100.64.2.1', '2001:db8:2::2/64', 'fe80::2/64 link'];

const event = (over: Partial<LinkEvent>): LinkInput => ({
  kind: 'event',
  event: { action: 'up', iface: 'ppp1', kind: 'ppp', reason: 'ip-up', families: [4], v4: { local: '100.64.2.2', peer: '100.64.2.1' }, ...over },
});
const refresh: LinkInput = { kind: 'refresh' };

describe('nextLinkState', () => {
  it.each<[string, LinkState | undefined, LinkInput, LiveInterfaces, Partial<LinkState> | undefined, string[], string[]]>([
    ['first ip-up', undefined, event({}), live({ ppp1 }), { v4: { local: '100.64.2.2', peer: '100.64.2.1' }, since: NOW }, [], ['up ip-up']],
    ['ip-up again: same state, same since', up4, event({}), live({ ppp1 }), { ...up4 }, [], []],
    ['ip-down', up4, event({ action: 'down', reason: 'ip-down' }), live({ ppp1 }), { ...down, since: NOW }, [], ['down ip-down']],
    ['ip-down of a link already down: nothing', down, event({ action: 'down' }), live({}), down, [], []],
    ['refresh, all well: nothing', up4, refresh, live({ ppp1 }), up4, [], []],
    ['ip-down after the interface already lost its address (ifdown\'s post-down, a DHCP release): the event\'s doing, not a vanishing', up4, event({ action: 'down', reason: 'ifdown' }), live({ ppp1: [] }), { ...down, since: NOW }, [], ['down ifdown']],
    ['refresh, interface gone: down', up4, refresh, live({}), { ...down, since: NOW }, ['isp2: ppp1 vanished without ip-down; taken down'], ['down vanished']],
    ['refresh, admin down: down', up4, refresh, live({ ppp1: { up: false, addresses: ppp1 } }), { ...down, since: NOW }, ['isp2: ppp1 is administratively down; taken down'], ['down vanished']],
    ['refresh, address gone: down', up4, refresh, live({ ppp1: ['100.64.2.9 peer 100.64.2.1'] }), { ...down, since: NOW }, ['isp2: ppp1 no longer holds 100.64.2.2; taken down'], ['down vanished']],
    ['refresh, dual stack, IPv6 address gone: IPv4 stays up', dual, refresh, live({ ppp1: ['100.64.2.2 peer 100.64.2.1'] }), { ...up4 }, ['isp2: ppp1 no longer holds 2001:db8:2::2; its IPv6 is taken down'], []],
    ['ipv6-up on a link up in IPv4: both families, same since', up4, event({ families: [6], v4: undefined, v6: { peer: 'fe80::1' }, reason: 'ipv6-up' }), live({ ppp1 }), { ...dual }, [], []],
    ['ipv6-down: IPv4 stays', dual, event({ action: 'down', families: [6] }), live({ ppp1 }), { ...up4 }, [], []],
    ['verdict out', up4, { kind: 'verdict', healthy: false, reason: 'probes' }, live({ ppp1 }), { ...up4, healthy: false, healthReason: 'probes', healthSince: NOW }, [], ['out-of-service probes']],
    ['verdict on a link down: nothing', down, { kind: 'verdict', healthy: false, reason: 'probes' }, live({}), down, [], []],
    ['verdict about an older incarnation: nothing', up4, { kind: 'verdict', healthy: false, reason: 'probes', expect: { since: '2025-01-01T00:00:00.000Z' } }, live({ ppp1 }), up4, [], []],
    ['ip-up of a link out of service keeps the verdict', { ...up4, healthy: false, healthReason: 'carrier', healthSince: THEN }, event({}), live({ ppp1 }), { ...up4, healthy: false, healthReason: 'carrier', healthSince: THEN }, [], []],
    ['ip-up after down: in service again', { ...down }, event({}), live({ ppp1 }), { ...up4, since: NOW }, [], ['up ip-up']],
    ['a stale ip-up (address not on the interface): not brought up', undefined, event({}), live({ ppp1: ['100.64.2.9 peer 100.64.2.1'] }), undefined, ['isp2: ppp1 does not hold 100.64.2.2 (ip-up: it changed or went before this event ran); not brought up'], []],
    ['ip-up of an interface that does not exist: not brought up', undefined, event({}), live({}), undefined, ['isp2: ppp1 does not exist; not brought up'], []],
    ['by hand: the address and peer read from the interface', undefined, event({ v4: undefined }), live({ ppp1 }), { v4: { local: '100.64.2.2', peer: '100.64.2.1' }, since: NOW }, [], ['up ip-up']],
    ['pppd gave another unit: the link follows its interface', up4, event({ iface: 'ppp4' }), live({ ppp1, ppp4: ['100.64.2.2 peer 100.64.2.1'] }), { ...up4, iface: 'ppp4', since: NOW }, [], []],
  ])('%s', (_name, recorded, input, interfaces, expected, notes, transitions) => {
    const next = nextLinkState(isp, recorded, input, interfaces, NOW);
    if (expected === undefined) expect(next.state).toEqual(recorded);
    else expect(next.state).toEqual({ link: 'isp2', iface: 'ppp1', kind: 'ppp', ...expected });
    expect(next.notes).toEqual(notes);
    expect(next.transitions.map((t) => `${t.event} ${t.reason}`)).toEqual(transitions);
    expect(next.changed).toBe(JSON.stringify(recorded) !== JSON.stringify(next.state));
  });

  it('by hand on an interface without an IPv4 address: one line saying how to fix it', () => {
    expect(() => nextLinkState(isp, undefined, event({ v4: undefined }), live({ ppp1: ['fe80::2/64 link'] }), NOW)).toThrow(ConfigError);
    expect(() => nextLinkState(isp, undefined, event({ v4: undefined }), live({ ppp1: ['fe80::2/64 link'] }), NOW)).toThrow(
      'interface ppp1 has no IPv4 address (ip -4 addr show dev ppp1); bring it up first, or give the address',
    );
  });

  it('never changes its inputs', () => {
    const recorded = structuredClone(dual);
    nextLinkState(isp, recorded, refresh, live({}), NOW);
    expect(recorded).toEqual(dual);
  });
});

describe('nextLinkState: other link kinds', () => {
  const cable = link('cable', 'eth1');
  const eth1 = (extra: string[] = [], routers6: string[] = []) => {
    const l = live({ eth1: ['203.0.113.10/24', ...extra] });
    const i = l.get('eth1')!;
    return new Map([['eth1', { ...i, pointToPoint: false, routers6 }]]);
  };
  const dhcp = (over: Partial<LinkEvent>): LinkInput => ({ kind: 'event', event: { action: 'up', iface: 'eth1', kind: 'dhcp', reason: 'dhclient BOUND', families: [4], ...over } });

  it('a DHCP lease: address and gateway; a renewal with another router re-plans', () => {
    const bound = nextLinkState(cable, undefined, dhcp({ v4: { local: '203.0.113.10', gateway: '203.0.113.1' } }), eth1(), NOW).state!;
    expect(bound.v4).toEqual({ local: '203.0.113.10', gateway: '203.0.113.1' });
    const renewed = nextLinkState(cable, bound, dhcp({ v4: { local: '203.0.113.10', gateway: '203.0.113.254' } }), eth1(), NOW);
    expect(renewed.state?.v4).toEqual({ local: '203.0.113.10', gateway: '203.0.113.254' });
    expect(renewed.changed).toBe(true);
  });

  it('DHCPv6 without a router: the router from advertisements (main\'s default via eth1); without one, the lease waits for one', () => {
    const six = dhcp({ families: [6], reason: 'dhclient BOUND6', v6: { local: '2001:db8:1::5', prefixes: ['2001:db8:1:100::/56'] } });
    expect(nextLinkState(cable, undefined, six, eth1(['2001:db8:1::5/128'], ['fe80::1']), NOW).state?.v6).toEqual({ local: '2001:db8:1::5', prefixes: ['2001:db8:1:100::/56'], gateway: 'fe80::1' });
    const none = nextLinkState(cable, undefined, six, eth1(['2001:db8:1::5/128']), NOW);
    expect(none.state).toEqual({ link: 'cable', iface: 'eth1', kind: 'dhcp', since: NOW, pending6: { local: '2001:db8:1::5', prefixes: ['2001:db8:1:100::/56'] } });
    expect(none.transitions).toEqual([]);
    expect(none.notes).toEqual(['cable: eth1 has no IPv6 router yet (no gateway given, no router advertisement); its IPv6 waits for one']);
    // The advertisement that brings the router (dhcpcd's ROUTERADVERT) brings the waiting lease up with it.
    const ra = nextLinkState(cable, none.state, dhcp({ families: [6], reason: 'dhcpcd ROUTERADVERT', v6: { gateway: 'fe80::1' } }), eth1(['2001:db8:1::5/128', '2001:db8:1::abcd/64']), NOW);
    expect(ra.state?.v6).toEqual({ local: '2001:db8:1::5', prefixes: ['2001:db8:1:100::/56'], gateway: 'fe80::1' });
    expect(ra.state?.pending6).toBeUndefined();
    expect(ra.transitions.map((t) => t.event)).toEqual(['up']);
    // A release before any router: nothing left waiting.
    expect(nextLinkState(cable, none.state, dhcp({ action: 'down', families: [6], reason: 'dhclient RELEASE6' }), eth1(), NOW).state?.pending6).toBeUndefined();
  });

  it('an IPv6 lease waiting for its router waits on through IPv4 events (BOUND6, then BOUND, RENEW, a release, then the advertisement)', () => {
    const six = dhcp({ families: [6], reason: 'dhcpcd BOUND6', v6: { local: '2001:db8:1::5', prefixes: ['2001:db8:1:100::/56'] } });
    const waiting = nextLinkState(cable, undefined, six, eth1(['2001:db8:1::5/128']), NOW).state!;
    const pending6 = { local: '2001:db8:1::5', prefixes: ['2001:db8:1:100::/56'] };
    expect(waiting.pending6).toEqual(pending6);
    const bound = nextLinkState(cable, waiting, dhcp({ reason: 'dhcpcd BOUND', v4: { local: '203.0.113.10', gateway: '203.0.113.1' } }), eth1(['2001:db8:1::5/128']), NOW);
    expect(bound.state).toMatchObject({ v4: { local: '203.0.113.10', gateway: '203.0.113.1' }, pending6 });
    expect(bound.transitions.map((t) => t.event)).toEqual(['up']);
    const renewed = nextLinkState(cable, bound.state, dhcp({ reason: 'dhcpcd RENEW', v4: { local: '203.0.113.10', gateway: '203.0.113.1' } }), eth1(['2001:db8:1::5/128']), NOW).state!;
    expect(renewed.pending6).toEqual(pending6);
    const released = nextLinkState(cable, renewed, dhcp({ action: 'down', reason: 'dhcpcd RELEASE' }), eth1(['2001:db8:1::5/128']), NOW).state!;
    expect(released.v4).toBeUndefined();
    expect(released.pending6).toEqual(pending6);
    // dhcpcd's ROUTERADVERT names the SLAAC address it made; the lease's address and prefix are what route.
    const ra = nextLinkState(cable, bound.state, dhcp({ families: [6], reason: 'dhcpcd ROUTERADVERT', v6: { gateway: 'fe80::1' } }), eth1(['2001:db8:1::5/128', '2001:db8:1::abcd/64'], ['fe80::1']), NOW).state!;
    expect(ra.v6).toEqual({ ...pending6, gateway: 'fe80::1' });
    expect(ra.pending6).toBeUndefined();
  });

  it('a new IPv6 address keeps the router already learned (the router is the link\'s, not the address\'s)', () => {
    const up6 = nextLinkState(cable, undefined, dhcp({ families: [6], v6: { local: '2001:db8:1::5', gateway: 'fe80::1' } }), eth1(['2001:db8:1::5/128', '2001:db8:1::6/128']), NOW).state!;
    const renewed = nextLinkState(cable, up6, dhcp({ families: [6], reason: 'dhclient RENEW6', v6: { local: '2001:db8:1::6' } }), eth1(['2001:db8:1::5/128', '2001:db8:1::6/128']), NOW).state!;
    expect(renewed.v6).toEqual({ gateway: 'fe80::1', local: '2001:db8:1::6' });
  });

  it('a renewal that repeats only part of what is known keeps the rest (dhcpcd: the router came with ROUTERADVERT, the prefix with BOUND6)', () => {
    const ra = nextLinkState(cable, undefined, dhcp({ families: [6], reason: 'dhcpcd ROUTERADVERT', v6: { gateway: 'fe80::1' } }), eth1(['2001:db8:1::abcd/64']), NOW).state!;
    const bound6 = nextLinkState(cable, ra, dhcp({ families: [6], reason: 'dhcpcd BOUND6', v6: { prefixes: ['2001:db8:1:100::/56'] } }), eth1(['2001:db8:1::abcd/64']), NOW).state!;
    expect(bound6.v6).toEqual({ gateway: 'fe80::1', local: '2001:db8:1::abcd', prefixes: ['2001:db8:1:100::/56'] });
  });

  it('`multiwan link up` without addresses: every family the interface has a global address in; none: one line', () => {
    const wg = new Map([['wg0', { name: 'wg0', up: true, carrier: true, pointToPoint: true, routers6: [], addresses: [
      { family: 4 as const, local: '10.8.0.2', prefixLength: 24, scope: 'global' as const },
      { family: 6 as const, local: '2001:db8:8::2', prefixLength: 64, scope: 'global' as const },
    ] }]]);
    const vpn = link('vpn', 'wg0');
    const up = { kind: 'event' as const, event: { action: 'up' as const, iface: 'wg0', kind: 'manual' as const, reason: 'multiwan link up', families: [] } };
    expect(nextLinkState(vpn, undefined, up, wg, NOW).state).toMatchObject({ v4: { local: '10.8.0.2' }, v6: { local: '2001:db8:8::2' } });
    const bare = new Map([['wg0', { ...wg.get('wg0')!, addresses: [] }]]);
    expect(() => nextLinkState(vpn, undefined, up, bare, NOW)).toThrow('interface wg0 has no global address (ip addr show dev wg0); bring it up first, or give one with --local');
  });
});

describe('parseInterfaces', () => {
  it('joins `ip -j link show` with the address documents of both families', () => {
    const interfaces = parseInterfaces(
      [{ ifname: 'ppp0', flags: ['POINTOPOINT', 'NOARP', 'UP', 'LOWER_UP'], operstate: 'UNKNOWN' }, { ifname: 'eth1', flags: ['NO-CARRIER', 'BROADCAST', 'UP'], operstate: 'LOWERLAYERDOWN' }],
      [
        [{ ifname: 'ppp0', addr_info: [{ family: 'inet', local: '100.64.1.2', address: '100.64.1.1', prefixlen: 32, scope: 'global' }] }],
        [{ ifname: 'eth1', addr_info: [{ family: 'inet6', local: '2001:DB8::0:7', prefixlen: 64, scope: 'global' }] }],
      ],
      [{ dst: 'default', gateway: 'fe80::1', dev: 'eth1', protocol: 'ra' }, { dst: 'default', gateway: 'fe80::9', dev: 'nowhere' }],
    );
    expect(interfaces.get('ppp0')).toEqual({ name: 'ppp0', up: true, carrier: true, pointToPoint: true, addresses: [{ family: 4, local: '100.64.1.2', peer: '100.64.1.1', prefixLength: 32, scope: 'global' }], routers6: [] });
    expect(interfaces.get('eth1')).toEqual({ name: 'eth1', up: true, pointToPoint: false, carrier: false, addresses: [{ family: 6, local: '2001:db8::7', prefixLength: 64, scope: 'global' }], routers6: ['fe80::1'] });
  });

  it('ignores garbage', () => {
    expect(parseInterfaces(undefined, ['x', [{ addr_info: [{}] }]], 7).size).toBe(0);
  });
});
