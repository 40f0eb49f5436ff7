// The planner in both families, backup tiers and source balancing; the
// kernel's jhash as nft computes it. Pure.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { planRouting } from '../../src/plan/plan-routing.js';
import { renderIpBatch } from '../../src/plan/render-ip-batch.js';
import { renderNft } from '../../src/plan/render-nft.js';
import { jhash, sourceBucket } from '../../src/plan/jhash.js';
import { BUCKETS, planSourceBuckets } from '../../src/plan/source-buckets.js';
import type { LinkState } from '../../src/state/types.js';
import { config, ids, isp1Up, isp2Up, link } from '../fixtures/configs.js';

const none = { routes: [], rules: [] };
const dual = (state: LinkState, v6: LinkState['v6']): LinkState => ({ ...state, v6 });

describe('planRouting: IPv6 beside IPv4', () => {
  const cfg = config(
    [
      link('isp1', 'ppp0', { weight: 3, prefixes6: ['2001:db8:1::/48'], dns: ['2001:db8:1::53', '24.19.100.1'], routes: ['2001:db8:f00::/40'] }),
      link('isp2', 'ppp1', { prefixes6: ['2001:db8:2::/48'] }),
    ],
    { lan: ['192.168.10.0/24', '2001:db8:1:1::/64', '2001:db8:2:1::/64'] },
  );
  const states = {
    isp1: dual(isp1Up, { peer: 'fe80::1' }),
    isp2: dual(isp2Up, { local: '2001:db8:2::2', gateway: 'fe80::2' }),
  };

  it('per link an IPv6 table, `from` rules for its prefixes and global address, DNS and routes of the family, a weighted IPv6 default', () => {
    const plan = planRouting(cfg, states, ids);
    expect(renderIpBatch(none, plan.ip[6]).split('\n').filter(Boolean)).toEqual([
      'route replace default table 201 proto 242 via fe80::1 dev ppp0',
      'route replace default table 202 proto 242 via fe80::2 dev ppp1',
      'route replace 2001:db8:f00::/40 table 200 proto 242 via fe80::1 dev ppp0',
      'route replace default table 200 proto 242 nexthop via fe80::1 dev ppp0 weight 3 nexthop via fe80::2 dev ppp1 weight 1',
      'rule add priority 1000 lookup 254 suppress_prefixlength 0 protocol 242',
      'rule add priority 1100 fwmark 0x100/0x3f00 lookup 201 protocol 242',
      'rule add priority 1100 fwmark 0x200/0x3f00 lookup 202 protocol 242',
      'rule add priority 1200 from 2001:db8:1::/48 lookup 201 protocol 242',
      'rule add priority 1200 from 2001:db8:2::2 lookup 202 protocol 242',
      'rule add priority 1200 from 2001:db8:2::/48 lookup 202 protocol 242',
      'rule add priority 1300 to 2001:db8:1::53 lookup 201 protocol 242',
      'rule add priority 1400 lookup 200 protocol 242',
    ]);
    // IPv4 plans only IPv4 things: no IPv6 DNS server or route leaks into it.
    const v4 = renderIpBatch(none, plan.ip[4]);
    expect(v4).toContain('rule add priority 1300 to 24.19.100.1 lookup 201 protocol 242');
    expect(v4).not.toContain(':');
  });

  it('the router\'s own new IPv6 connections are routed again by their source (output chain, after policies), its address inside its prefix left out of the set', () => {
    const output = renderNft(planRouting(cfg, states, ids).nft).split('\n').filter((l) => l.startsWith('add rule inet multiwan output'));
    expect(output.slice(-2)).toEqual([
      'add rule inet multiwan output meta nfproto ipv6 ct state new ct mark & 0x3f00 == 0x0 ip6 saddr { 2001:db8:1::/48 } meta mark set meta mark & 0xffffc0ff | 0x100 ct mark set ct mark & 0xffffc0ff | 0x100 comment "isp1: its IPv6 sources"',
      'add rule inet multiwan output meta nfproto ipv6 ct state new ct mark & 0x3f00 == 0x0 ip6 saddr { 2001:db8:2::/48 } meta mark set meta mark & 0xffffc0ff | 0x200 ct mark set ct mark & 0xffffc0ff | 0x200 comment "isp2: its IPv6 sources"',
    ]);
    expect(renderNft(planRouting(cfg, { isp1: isp1Up, isp2: isp2Up }, ids).nft)).not.toContain('IPv6 sources');
  });

  it('IPv6 down on one link takes its prefix rules with it; IPv4 stays', () => {
    const plan = planRouting(cfg, { ...states, isp2: isp2Up }, ids);
    expect(renderIpBatch(none, plan.ip[6])).not.toContain('2001:db8:2::/48');
    expect(renderIpBatch(none, plan.ip[4])).toContain('from 100.64.2.2 lookup 202');
  });

  it('no IPv6 at all: no IPv6 object, no IPv6 sysctl', () => {
    const plan = planRouting(cfg, { isp1: isp1Up, isp2: isp2Up }, ids);
    expect(plan.ip[6]).toEqual({ routes: [], rules: [] });
    expect(plan.sysctls.some((s) => s.path[1] === 'ipv6')).toBe(false);
  });

  it('IPv6 forwarding, multipath hashing, and router advertisements still accepted on WAN links (accept_ra = 2 before forwarding)', () => {
    const plan = planRouting(cfg, states, ids);
    expect(plan.sysctls.filter((s) => s.path[1] === 'ipv6').map((s) => `${s.path.join('.')}=${s.value}`)).toEqual([
      'net.ipv6.conf.ppp0.accept_ra=2',
      'net.ipv6.conf.ppp1.accept_ra=2',
      'net.ipv6.conf.all.forwarding=1',
      'net.ipv6.fib_multipath_hash_policy=1',
    ]);
  });

  it('no IPv6 NAT unless masquerade6 = true', () => {
    const nat = (c: typeof cfg) => renderNft(planRouting(c, states, ids).nft).split('\n').filter((l) => l.includes('nat_postrouting') && l.startsWith('add rule'));
    expect(nat(cfg)).toEqual(['add rule inet multiwan nat_postrouting meta nfproto ipv4 oifname { "ppp0", "ppp1" } masquerade']);
    const with6 = { ...cfg, links: [{ ...cfg.links[0]!, masquerade6: true }, cfg.links[1]!] };
    expect(nat(with6)).toEqual([
      'add rule inet multiwan nat_postrouting meta nfproto ipv4 oifname { "ppp0", "ppp1" } masquerade',
      'add rule inet multiwan nat_postrouting meta nfproto ipv6 oifname { "ppp0" } masquerade',
    ]);
  });
});

describe('planRouting: backup tiers', () => {
  const cfg = config([link('isp1', 'ppp0', { weight: 8 }), link('isp2', 'ppp1', { weight: 2 }), link('lte', 'wwan0', { tier: 2, routes: ['10.99.0.0/16'] })]);
  const lte: LinkState = { link: 'lte', iface: 'wwan0', kind: 'manual', v4: { local: '10.200.0.2', gateway: '10.200.0.1' }, since: 'x' };
  const ids3 = { ...ids, lte: 3 };
  const balanced = (states: Record<string, LinkState>) =>
    planRouting(cfg, states, ids3).ip[4].routes.find((r) => r.table === 200 && r.dst === 'default');

  it('the balanced default holds the lowest tier in service only', () => {
    expect(balanced({ isp1: isp1Up, isp2: isp2Up, lte })).toEqual({
      table: 200, dst: 'default', nexthops: [{ dev: 'ppp0', weight: 8 }, { dev: 'ppp1', weight: 2 }],
    });
    expect(balanced({ isp1: { ...isp1Up, healthy: false }, isp2: isp2Up, lte })).toEqual({ table: 200, dst: 'default', dev: 'ppp1', scope: 'link' });
  });

  it('tier 2 carries new connections only when every tier-1 link is out of service', () => {
    expect(balanced({ isp1: { ...isp1Up, healthy: false }, isp2: { ...isp2Up, healthy: false }, lte })).toEqual({ table: 200, dst: 'default', via: '10.200.0.1', dev: 'wwan0' });
    expect(balanced({ lte })).toEqual({ table: 200, dst: 'default', via: '10.200.0.1', dev: 'wwan0' });
  });

  it('a backup link keeps its fwmark rule (policies and pinned connections) and its destination routes', () => {
    const plan = planRouting(cfg, { isp1: isp1Up, isp2: isp2Up, lte }, ids3);
    const batch = renderIpBatch(none, plan.ip[4]);
    expect(batch).toContain('rule add priority 1100 fwmark 0x300/0x3f00 lookup 203 protocol 242');
    expect(batch).toContain('route replace 10.99.0.0/16 table 200 proto 242 via 10.200.0.1 dev wwan0');
    expect(plan.inService).toEqual(['isp1', 'isp2', 'lte']);
  });
});

describe('source balancing: buckets by weighted rendezvous hashing', () => {
  const links = [
    { link: 'isp1', iface: 'ppp0', weight: 8, tier: 1, mark: 0x100 },
    { link: 'isp2', iface: 'ppp1', weight: 2, tier: 1, mark: 0x200 },
    { link: 'isp3', iface: 'ppp2', weight: 5, tier: 1, mark: 0x300 },
  ];

  it('shares follow the weights', () => {
    const buckets = planSourceBuckets(links);
    expect(buckets).toHaveLength(BUCKETS);
    const share = (mark: number) => buckets.filter((b) => b === mark).length / BUCKETS;
    expect(share(0x100)).toBeGreaterThan(0.4);
    expect(share(0x100)).toBeLessThan(0.66);
    expect(share(0x200)).toBeGreaterThan(0.05);
    expect(share(0x200)).toBeLessThan(0.25);
  });

  it('a link leaving moves only its own buckets, and they come back when it returns', () => {
    fc.assert(
      fc.property(fc.subarray(links, { minLength: 2 }), fc.nat(), (present, pick) => {
        const gone = present[pick % present.length]!;
        const before = planSourceBuckets(present);
        const after = planSourceBuckets(present.filter((l) => l !== gone));
        before.forEach((mark, i) => {
          if (mark !== gone.mark) expect(after[i]).toBe(mark);
          else expect(after[i]).not.toBe(gone.mark);
        });
        expect(planSourceBuckets(present)).toEqual(before);
      }),
    );
  });

  it('the ruleset dispatches each link its buckets, with a fixed seed (a random one would move every host at each reload)', () => {
    const cfg = config([link('isp1', 'ppp0'), link('isp2', 'ppp1')], { balance: 'source' });
    const script = renderNft(planRouting(cfg, { isp1: isp1Up, isp2: isp2Up }, ids).nft);
    const rules = script.split('\n').filter((l) => l.includes('source balance'));
    expect(rules).toHaveLength(2);
    expect(rules[0]).toMatch(/^add rule inet multiwan classify meta nfproto ipv4 jhash ip saddr mod 128 seed 0x6d77616e \{ [\d, ]+ \} meta mark set meta mark & 0xffffc0ff \| 0x100 ct mark set ct mark & 0xffffc0ff \| 0x100 comment "source balance: isp1"$/);
    const none = renderNft(planRouting({ ...cfg, balance: 'connection' }, { isp1: isp1Up, isp2: isp2Up }, ids).nft);
    expect(none).not.toContain('jhash');
  });
});

describe('jhash: the kernel’s, byte for byte (vectors from include/linux/jhash.h compiled with gcc)', () => {
  it.each([
    ['192.168.10.2', 30],
    ['192.168.10.3', 69],
    ['10.0.0.1', 58],
    ['100.64.1.2', 59],
    ['0.0.0.0', 116],
    ['255.255.255.255', 92],
  ])('IPv4 %s is in bucket %i of 128', (address, bucket) => {
    expect(sourceBucket(address, 4, 128)).toBe(bucket);
  });

  it('IPv6 hashes the /64 (8 bytes)', () => {
    // `jhash @nh,64,64`: the first 8 bytes of the source (vectors checked against the kernel by test/e2e/source-balance.test.ts)
    expect(sourceBucket('2001:db8:1:1::99', 6, 128)).toBe(2);
    expect(sourceBucket('2001:db8:1:1:ffff::1', 6, 128)).toBe(2);
    expect(sourceBucket('fd00:0:0:10::1', 6, 128)).toBe(51);
  });

  it('raw values, every tail length', () => {
    expect(jhash([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13], 0)).toBe(3889668325);
    expect(jhash([1, 2, 3, 4, 5, 6, 7], 42)).toBe(1353811940);
    expect(jhash([192, 168, 10, 2], 0x6d77616e)).toBe(1017860540);
  });
});
