import { describe, expect, it } from 'vitest';
import { policyRules } from '../../src/plan/render-nft.js';
import type { NftPolicy } from '../../src/plan/types.js';

const keep = '0xffffc0ff';
const none = () => ({ 4: [] as string[], 6: [] as string[] });
const base: NftPolicy = { name: 'p', src: none(), dst: none(), srcPort: [], dstPort: [], iif: [], action: { kind: 'link', link: 'isp1', mark: 0x100 } };
const mark = 'counter name policy_p meta mark set meta mark & 0xffffc0ff | 0x100 ct mark set ct mark & 0xffffc0ff | 0x100 accept comment "p via isp1"';

describe('policyRules: selectors -> nft rules, exact text', () => {
  it.each<[string, Partial<NftPolicy>, string[]]>([
    ['no selector: everything new', {}, [mark]],
    ['tcp dst ports', { protocol: 'tcp', dstPort: [{ from: 25, to: 25 }, { from: 465, to: 465 }] }, [`tcp dport { 25, 465 } ${mark}`]],
    ['ports without a protocol: tcp and udp', { dstPort: [{ from: 53, to: 53 }] }, [`meta l4proto { tcp, udp } th dport { 53 } ${mark}`]],
    ['a src port range', { protocol: 'udp', srcPort: [{ from: 8000, to: 8100 }] }, [`udp sport { 8000-8100 } ${mark}`]],
    ['a protocol without ports', { protocol: 'gre' }, [`meta l4proto gre ${mark}`]],
    ['icmp in both families when no prefix says which', { protocol: 'icmp' }, [`meta l4proto { icmp, ipv6-icmp } ${mark}`]],
    ['a source network', { src: { 4: ['192.168.192.0/24'], 6: [] } }, [`ip saddr { 192.168.192.0/24 } ${mark}`]],
    [
      'prefixes of both families: one rule each',
      { dst: { 4: ['198.51.100.0/24', '203.0.113.7'], 6: ['2001:db8::/32'] }, protocol: 'icmp' },
      [`ip daddr { 198.51.100.0/24, 203.0.113.7 } meta l4proto icmp ${mark}`, `ip6 daddr { 2001:db8::/32 } meta l4proto ipv6-icmp ${mark}`],
    ],
    [
      'src IPv4 only and dst of both families: the IPv4 rule only',
      { src: { 4: ['10.0.0.0/8'], 6: [] }, dst: { 4: ['192.0.2.0/24'], 6: ['2001:db8::/32'] } },
      [`ip saddr { 10.0.0.0/8 } ip daddr { 192.0.2.0/24 } ${mark}`],
    ],
    ['incoming interfaces', { iif: ['lan0', 'wlan0'], protocol: 'tcp' }, [`iifname { "lan0", "wlan0" } meta l4proto tcp ${mark}`]],
    ['no link in service, fallback default', { action: { kind: 'default' } }, ['counter name policy_p accept comment "p: no link in service, default route"']],
    [
      'no link in service, fallback unreachable',
      { protocol: 'tcp', dstPort: [{ from: 25, to: 25 }], action: { kind: 'unreachable' } },
      ['tcp dport { 25 } counter name policy_p reject with icmpx type host-unreachable comment "p: no link in service, unreachable"'],
    ],
  ])('%s', (_name, over, rules) => {
    expect(policyRules({ ...base, ...over }, keep)).toEqual(rules);
  });

  it('10,000 destinations are one rule with one set', () => {
    const dst4 = Array.from({ length: 10_000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    const rules = policyRules({ ...base, dst: { 4: dst4, 6: [] } }, keep);
    expect(rules).toHaveLength(1);
    expect(rules[0]!.match(/\{/g)).toHaveLength(1);
  });
});
