import { describe, expect, it } from 'vitest';
import { planRouting } from '../../src/plan/plan-routing.js';
import { ABSENT, nftStamp, parseNftStamp, renderNft } from '../../src/plan/render-nft.js';
import { ids, isp1Up, isp2Up, twoLinks } from '../fixtures/configs.js';

describe('renderNft', () => {
  it('with no link in service, deletes the table (and nothing else)', () => {
    expect(renderNft(planRouting(twoLinks, {}, ids).nft)).toBe('table inet multiwan\ndelete table inet multiwan\n');
  });

  it('two links: declares the fixed shape, flushes, adds pinning, restore and masquerade rules, then the plan stamp', () => {
    expect(renderNft(planRouting(twoLinks, { isp1: isp1Up, isp2: isp2Up }, ids).nft)).toBe(`table inet multiwan {
  counter in_isp1 {
  }
  counter out_isp1 {
  }
  counter in_isp2 {
  }
  counter out_isp2 {
  }
  chain stamp {
  }
  chain classify {
  }
  chain policies {
  }
  chain prerouting {
    type filter hook prerouting priority mangle; policy accept;
  }
  chain output {
    type route hook output priority mangle; policy accept;
  }
  chain postrouting {
    type filter hook postrouting priority mangle; policy accept;
  }
  chain nat_postrouting {
    type nat hook postrouting priority srcnat; policy accept;
  }
}
flush table inet multiwan
add rule inet multiwan prerouting ct state new jump classify
add rule inet multiwan prerouting counter name iifname map { "ppp0" : "in_isp1", "ppp1" : "in_isp2" } return
add rule inet multiwan prerouting ip daddr { 192.168.10.0/24 } return
add rule inet multiwan prerouting ct mark & 0x3f00 == 0x100 meta mark set meta mark & 0xffffc0ff | 0x100 comment "isp1"
add rule inet multiwan prerouting ct mark & 0x3f00 == 0x200 meta mark set meta mark & 0xffffc0ff | 0x200 comment "isp2"
add rule inet multiwan classify iifname "ppp0" ct mark set ct mark & 0xffffc0ff | 0x100 return comment "isp1"
add rule inet multiwan classify iifname "ppp1" ct mark set ct mark & 0xffffc0ff | 0x200 return comment "isp2"
add rule inet multiwan classify ip daddr { 192.168.10.0/24 } return
add rule inet multiwan output ip daddr { 192.168.10.0/24 } return
add rule inet multiwan output ct mark & 0x3f00 == 0x100 meta mark set meta mark & 0xffffc0ff | 0x100 comment "isp1"
add rule inet multiwan output ct mark & 0x3f00 == 0x200 meta mark set meta mark & 0xffffc0ff | 0x200 comment "isp2"
add rule inet multiwan postrouting counter name oifname map { "ppp0" : "out_isp1", "ppp1" : "out_isp2" } ct mark & 0x3f00 != 0x0 return
add rule inet multiwan postrouting ct mark & 0x3f00 != 0x0 return
add rule inet multiwan postrouting oifname "ppp0" ct mark set ct mark & 0xffffc0ff | 0x100 comment "isp1"
add rule inet multiwan postrouting oifname "ppp1" ct mark set ct mark & 0xffffc0ff | 0x200 comment "isp2"
add rule inet multiwan nat_postrouting meta nfproto ipv4 oifname { "ppp0", "ppp1" } masquerade
add rule inet multiwan stamp return comment "plan 63afe434"
`);
  });

  it('the stamp follows the rules: a change of weight alone (routing only) keeps it, a new link changes it', () => {
    const both = planRouting(twoLinks, { isp1: isp1Up, isp2: isp2Up }, ids).nft;
    const reweighted = planRouting({ ...twoLinks, links: twoLinks.links.map((l) => ({ ...l, weight: 1 })) }, { isp1: isp1Up, isp2: isp2Up }, ids).nft;
    const one = planRouting(twoLinks, { isp1: isp1Up }, ids).nft;
    expect(nftStamp(reweighted)).toBe(nftStamp(both));
    expect(nftStamp(one)).not.toBe(nftStamp(both));
    expect(nftStamp(planRouting(twoLinks, {}, ids).nft)).toBe(ABSENT);
  });

  it.each([
    ['table inet multiwan {\n\tchain stamp {\n\t\treturn comment "plan 0e873d03"\n\t}\n}\n', '0e873d03'],
    ['', ABSENT],
    ['Error: No such file or directory', ABSENT],
  ])('parseNftStamp(%j) is %s', (listing, stamp) => {
    expect(parseNftStamp(listing)).toBe(stamp);
  });

  it('every mark write keeps the bits outside the mask (a mask in the high bits)', () => {
    const script = renderNft({ mask: 0xff000000, links: [{ name: 'a', iface: 'eth1', mark: 0x01000000, masquerade: { 4: false, 6: false } }], steps: [], sourceBuckets: { 4: [], 6: [] } });
    expect(script).toContain('ct mark set ct mark & 0xffffff | 0x1000000 comment "a"');
    expect(script).toContain('ct mark & 0xff000000 == 0x1000000 meta mark set meta mark & 0xffffff | 0x1000000');
    expect(script).not.toContain('masquerade');
    expect(script).not.toContain('daddr');
  });

  it('an IPv6 lan gets its own set and return', () => {
    const script = renderNft({ mask: 0x3f00, links: [{ name: 'a', iface: 'eth1', mark: 0x100, masquerade: { 4: true, 6: false } }], steps: [{ kind: 'lan', prefixes: { 4: [], 6: ['fd00::/64'] } }], sourceBuckets: { 4: [], 6: [] } });
    expect(script).toContain('add rule inet multiwan prerouting ip6 daddr { fd00::/64 } return');
  });
});

describe('renderNft: the monitor’s probes and policies', () => {
  it('probes (a link’s address to its check targets) return before the policies in output', () => {
    const script = renderNft({
      mask: 0x3f00,
      links: [
        { name: 'isp1', iface: 'ppp0', mark: 0x100, masquerade: { 4: true, 6: false } },
        { name: 'isp2', iface: 'ppp1', mark: 0x200, masquerade: { 4: true, 6: false } },
      ],
      steps: [
        { kind: 'probes', pairs: [{ link: 'isp1', family: 4, local: '100.64.1.2', targets: ['198.51.100.10', '203.0.113.2'] }] },
        { kind: 'policy', policy: { name: 'mail', src: { 4: [], 6: [] }, dst: { 4: [], 6: [] }, protocol: 'tcp', srcPort: [], dstPort: [{ from: 25, to: 25 }], iif: [], action: { kind: 'link', link: 'isp2', mark: 0x200 } } },
      ],
      sourceBuckets: { 4: [], 6: [] },
    });
    const output = script.split('\n').filter((line) => line.startsWith('add rule inet multiwan output '));
    expect(output.slice(-2)).toEqual([
      'add rule inet multiwan output ip saddr . ip daddr { 100.64.1.2 . 198.51.100.10, 100.64.1.2 . 203.0.113.2 } return',
      'add rule inet multiwan output ct state new jump policies',
    ]);
  });
});
