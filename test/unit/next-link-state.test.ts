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
  return parseInterfaces(links, addrs);
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
    ['a stale ip-up (address not on the interface): not brought up', undefined, event({}), live({ ppp1: ['100.64.2.9 peer 100.64.2.1'] }), undefined, ['isp2: ppp1 does not hold 100.64.2.2 (it changed before this event ran); not brought up'], []],
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

describe('parseInterfaces', () => {
  it('joins `ip -j link show` with the address documents of both families', () => {
    const interfaces = parseInterfaces(
      [{ ifname: 'ppp0', flags: ['POINTOPOINT', 'NOARP', 'UP', 'LOWER_UP'], operstate: 'UNKNOWN' }, { ifname: 'eth1', flags: ['NO-CARRIER', 'BROADCAST', 'UP'], operstate: 'LOWERLAYERDOWN' }],
      [{ ifname: 'ppp0', addr_info: [{ family: 'inet', local: '100.64.1.2', address: '100.64.1.1', prefixlen: 32, scope: 'global' }] }],
      [{ ifname: 'eth1', addr_info: [{ family: 'inet6', local: '2001:DB8::0:7', prefixlen: 64, scope: 'global' }] }],
    );
    expect(interfaces.get('ppp0')).toEqual({ name: 'ppp0', up: true, carrier: true, addresses: [{ family: 4, local: '100.64.1.2', peer: '100.64.1.1', prefixLength: 32, scope: 'global' }] });
    expect(interfaces.get('eth1')).toEqual({ name: 'eth1', up: true, carrier: false, addresses: [{ family: 6, local: '2001:db8::7', prefixLength: 64, scope: 'global' }] });
  });

  it('ignores garbage', () => {
    expect(parseInterfaces(undefined, 'x', [{ addr_info: [{}] }]).size).toBe(0);
  });
});
