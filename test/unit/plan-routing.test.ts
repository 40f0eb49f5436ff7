import { describe, expect, it } from 'vitest';
import { planRouting } from '../../src/plan/plan-routing.js';
import { renderIpBatch } from '../../src/plan/render-ip-batch.js';
import type { LinkState } from '../../src/state/types.js';
import { ids, isp1Up, isp2Up, twoLinks } from '../fixtures/configs.js';

const fromNothing = (states: Record<string, LinkState>) =>
  renderIpBatch({ routes: [], rules: [] }, planRouting(twoLinks, states, ids).ip[4]);

describe('planRouting: the ip batch from nothing, link states in, exact text out', () => {
  it.each([
    {
      name: 'no link up: nothing at all',
      states: {},
      batch: '',
    },
    {
      name: 'a link that is down plans nothing',
      states: { isp1: { link: 'isp1', iface: 'ppp0', since: 'x' } },
      batch: '',
    },
    {
      name: 'one link: its table, its rules, the balance table with its routes and a single default',
      states: { isp1: isp1Up },
      batch: [
        'route replace default table 201 proto 242 dev ppp0 scope link src 100.64.1.2',
        'route replace 100.64.1.1 table 201 proto 242 dev ppp0 scope link src 100.64.1.2',
        'route replace 196.21.0.0/19 table 200 proto 242 dev ppp0 scope link',
        'route replace default table 200 proto 242 dev ppp0 scope link',
        'rule add priority 1000 lookup 254 suppress_prefixlength 0 protocol 242',
        'rule add priority 1100 fwmark 0x100/0x3f00 lookup 201 protocol 242',
        'rule add priority 1200 from 100.64.1.2 lookup 201 protocol 242',
        'rule add priority 1300 to 24.19.100.1 lookup 201 protocol 242',
        'rule add priority 1400 lookup 200 protocol 242',
        '',
      ].join('\n'),
    },
    {
      name: 'two links: a weighted multipath default over both',
      states: { isp1: isp1Up, isp2: isp2Up },
      batch: [
        'route replace default table 201 proto 242 dev ppp0 scope link src 100.64.1.2',
        'route replace 100.64.1.1 table 201 proto 242 dev ppp0 scope link src 100.64.1.2',
        'route replace default table 202 proto 242 dev ppp1 scope link src 100.64.2.2',
        'route replace 100.64.2.1 table 202 proto 242 dev ppp1 scope link src 100.64.2.2',
        'route replace 196.21.0.0/19 table 200 proto 242 dev ppp0 scope link',
        'route replace default table 200 proto 242 nexthop dev ppp0 weight 8 nexthop dev ppp1 weight 2',
        'rule add priority 1000 lookup 254 suppress_prefixlength 0 protocol 242',
        'rule add priority 1100 fwmark 0x100/0x3f00 lookup 201 protocol 242',
        'rule add priority 1100 fwmark 0x200/0x3f00 lookup 202 protocol 242',
        'rule add priority 1200 from 100.64.1.2 lookup 201 protocol 242',
        'rule add priority 1200 from 100.64.2.2 lookup 202 protocol 242',
        'rule add priority 1300 to 24.19.100.1 lookup 201 protocol 242',
        'rule add priority 1400 lookup 200 protocol 242',
        '',
      ].join('\n'),
    },
    {
      name: 'only the second link up: its routes alone, numbers unchanged',
      states: { isp2: isp2Up },
      batch: [
        'route replace default table 202 proto 242 dev ppp1 scope link src 100.64.2.2',
        'route replace 100.64.2.1 table 202 proto 242 dev ppp1 scope link src 100.64.2.2',
        'route replace default table 200 proto 242 dev ppp1 scope link',
        'rule add priority 1000 lookup 254 suppress_prefixlength 0 protocol 242',
        'rule add priority 1100 fwmark 0x200/0x3f00 lookup 202 protocol 242',
        'rule add priority 1200 from 100.64.2.2 lookup 202 protocol 242',
        'rule add priority 1400 lookup 200 protocol 242',
        '',
      ].join('\n'),
    },
  ] as { name: string; states: Record<string, LinkState>; batch: string }[])('$name', ({ states, batch }) => {
    expect(fromNothing(states)).toBe(batch);
  });

  it('a link on another interface than configured (pppd unit via ipparam) routes by the interface it is on', () => {
    const batch = fromNothing({ isp1: { ...isp1Up, iface: 'ppp7' } });
    expect(batch).toContain('route replace default table 201 proto 242 dev ppp7 scope link src 100.64.1.2');
    expect(batch).not.toContain('ppp0');
  });

  it('a link with a gateway (not point-to-point) routes via it', () => {
    const batch = fromNothing({ isp1: { link: 'isp1', iface: 'eth1', v4: { local: '203.0.113.7', gateway: '203.0.113.1' }, since: 'x' } });
    expect(batch).toContain('route replace default table 201 proto 242 via 203.0.113.1 dev eth1 src 203.0.113.7');
    expect(batch).toContain('route replace 203.0.113.1 table 201 proto 242 dev eth1 scope link src 203.0.113.7');
  });

  it('honours rule_priority, table_base and mark_mask', () => {
    const config = { ...twoLinks, rulePriority: 5000, tableBase: 100, markMask: 0xff0000 };
    const plan = planRouting(config, { isp2: isp2Up }, ids);
    const batch = renderIpBatch({ routes: [], rules: [] }, plan.ip[4]);
    expect(batch).toContain('rule add priority 5100 fwmark 0x20000/0xff0000 lookup 102 protocol 242');
    expect(batch).toContain('rule add priority 5400 lookup 100 protocol 242');
    expect(plan.nft.mask).toBe(0xff0000);
  });

  it('sets forwarding, L4 multipath hashing, and loose rp_filter with src_valid_mark on each WAN interface', () => {
    const plan = planRouting(twoLinks, { isp1: isp1Up, isp2: isp2Up }, ids);
    expect(plan.sysctls.map((s) => `${s.path.join('.')}=${s.value}`)).toEqual([
      'net.ipv4.ip_forward=1',
      'net.ipv4.fib_multipath_hash_policy=1',
      'net.ipv4.conf.ppp0.rp_filter=2',
      'net.ipv4.conf.ppp0.src_valid_mark=1',
      'net.ipv4.conf.ppp1.rp_filter=2',
      'net.ipv4.conf.ppp1.src_valid_mark=1',
    ]);
  });

  it('the nft plan lists the links in service with their marks, and the lan split by family', () => {
    const config = { ...twoLinks, lan: ['192.168.10.0/24', 'fd00::/64'], links: [twoLinks.links[0]!, { ...twoLinks.links[1]!, masquerade: false }] };
    expect(planRouting(config, { isp1: isp1Up, isp2: isp2Up }, ids).nft).toEqual({
      mask: 0x3f00,
      links: [
        { name: 'isp1', iface: 'ppp0', mark: 0x100, masquerade: { 4: true, 6: false } },
        { name: 'isp2', iface: 'ppp1', mark: 0x200, masquerade: { 4: false, 6: false } },
      ],
      steps: [{ kind: 'lan', prefixes: { 4: ['192.168.10.0/24'], 6: ['fd00::/64'] } }],
      sourceBuckets: { 4: [], 6: [] },
    });
  });

  it('is pure: the same input gives the same plan, and the inputs are not changed', () => {
    const states = { isp1: isp1Up, isp2: isp2Up };
    const copy = structuredClone(states);
    expect(planRouting(twoLinks, states, ids)).toEqual(planRouting(twoLinks, states, ids));
    expect(states).toEqual(copy);
  });
});

describe('planRouting: a link out of service', () => {
  const out = { ...isp1Up, healthy: false, healthReason: 'probes' };

  it('keeps its table and from rule (probes still go out through it), drops it from the balance, its routes, DNS and fwmark rules', () => {
    const plan = planRouting(twoLinks, { isp1: out, isp2: isp2Up }, ids);
    const batch = renderIpBatch({ routes: [], rules: [] }, plan.ip[4]);
    expect(batch).toContain('route replace default table 201 proto 242 dev ppp0 scope link src 100.64.1.2');
    expect(batch).toContain('rule add priority 1200 from 100.64.1.2 lookup 201 protocol 242');
    expect(batch).not.toContain('fwmark 0x100');
    expect(batch).not.toContain('to 24.19.100.1');
    expect(batch).not.toContain('196.21.0.0/19');
    expect(batch).toContain('route replace default table 200 proto 242 dev ppp1 scope link');
    expect(plan.inService).toEqual(['isp2']);
    // nft still marks and masquerades it: inbound and probe traffic on it stay consistent.
    expect(plan.nft.links.map((l) => l.name)).toEqual(['isp1', 'isp2']);
  });

  it('every link out of service: no balanced default, so main (the admin’s own default) decides', () => {
    const plan = planRouting(twoLinks, { isp1: out, isp2: { ...isp2Up, healthy: false } }, ids);
    expect(plan.ip[4].routes.filter((r: { table: number }) => r.table === 200)).toEqual([]);
    expect(plan.inService).toEqual([]);
  });
});
