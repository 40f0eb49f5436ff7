import { describe, expect, it } from 'vitest';
import { planRouting } from '../../src/plan/plan-routing.js';
import { renderNft } from '../../src/plan/render-nft.js';
import { ids, isp1Up, isp2Up, twoLinks } from '../fixtures/configs.js';

describe('renderNft', () => {
  it('with no link in service, deletes the table (and nothing else)', () => {
    expect(renderNft(planRouting(twoLinks, {}, ids).nft)).toBe('table inet multiwan\ndelete table inet multiwan\n');
  });

  it('two links: declares the fixed shape, flushes, refills: pinning, restore, masquerade', () => {
    expect(renderNft(planRouting(twoLinks, { isp1: isp1Up, isp2: isp2Up }, ids).nft)).toBe(`table inet multiwan {
  set lan4 {
    type ipv4_addr
    flags interval
  }
  set lan6 {
    type ipv6_addr
    flags interval
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
flush set inet multiwan lan4
flush set inet multiwan lan6
add element inet multiwan lan4 { 192.168.10.0/24 }
table inet multiwan {
  chain prerouting {
    iifname "ppp0" ct state new ct mark set ct mark & 0xffffc0ff | 0x100 comment "isp1"
    iifname "ppp1" ct state new ct mark set ct mark & 0xffffc0ff | 0x200 comment "isp2"
    iifname { "ppp0", "ppp1" } return
    ip daddr @lan4 return
    ct mark & 0x3f00 == 0x100 meta mark set meta mark & 0xffffc0ff | 0x100 comment "isp1"
    ct mark & 0x3f00 == 0x200 meta mark set meta mark & 0xffffc0ff | 0x200 comment "isp2"
  }
  chain output {
    ip daddr @lan4 return
    ct mark & 0x3f00 == 0x100 meta mark set meta mark & 0xffffc0ff | 0x100 comment "isp1"
    ct mark & 0x3f00 == 0x200 meta mark set meta mark & 0xffffc0ff | 0x200 comment "isp2"
  }
  chain postrouting {
    ct mark & 0x3f00 != 0x0 return
    oifname "ppp0" ct mark set ct mark & 0xffffc0ff | 0x100 comment "isp1"
    oifname "ppp1" ct mark set ct mark & 0xffffc0ff | 0x200 comment "isp2"
  }
  chain nat_postrouting {
    oifname { "ppp0", "ppp1" } masquerade
  }
}
`);
  });

  it('every mark write keeps the bits outside the mask (a mask in the high bits)', () => {
    const script = renderNft({ mask: 0xff000000, links: [{ name: 'a', iface: 'eth1', mark: 0x01000000, masquerade: false }], lan4: [], lan6: [] });
    expect(script).toContain('ct mark set ct mark & 0xffffff | 0x1000000 comment "a"');
    expect(script).toContain('ct mark & 0xff000000 == 0x1000000 meta mark set meta mark & 0xffffff | 0x1000000');
    expect(script).not.toContain('masquerade');
    expect(script).not.toContain('@lan4');
  });

  it('an IPv6 lan gets its own set and return', () => {
    const script = renderNft({ mask: 0x3f00, links: [{ name: 'a', iface: 'eth1', mark: 0x100, masquerade: true }], lan4: [], lan6: ['fd00::/64'] });
    expect(script).toContain('add element inet multiwan lan6 { fd00::/64 }');
    expect(script).toContain('ip6 daddr @lan6 return');
  });
});
