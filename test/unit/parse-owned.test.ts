import { describe, expect, it } from 'vitest';
import { parseOwned, splitJsonDocuments } from '../../src/plan/parse-owned.js';
import { planRouting } from '../../src/plan/plan-routing.js';
import { renderIpBatch } from '../../src/plan/render-ip-batch.js';
import { ids, isp1Up, isp2Up, twoLinks } from '../fixtures/configs.js';

// Captured from `ip -4 -j -batch -` (iproute2 6.1) with "rule show" and
// "route show table all proto 242" after two links came up.
const captured = `[{"priority":0,"src":"all","table":"local"},{"priority":1000,"src":"all","table":"main","suppress_prefixlen":0,"protocol":"242"},{"priority":1100,"src":"all","fwmark":"0x100","fwmask":"0x3f00","table":"201","protocol":"242"},{"priority":1100,"src":"all","fwmark":"0x200","fwmask":"0x3f00","table":"202","protocol":"242"},{"priority":1200,"src":"100.64.1.2","table":"201","protocol":"242"},{"priority":1200,"src":"100.64.2.2","table":"202","protocol":"242"},{"priority":1300,"src":"all","dst":"24.19.100.1","table":"201","protocol":"242"},{"priority":1400,"src":"all","table":"200","protocol":"242"},{"priority":5000,"src":"10.9.0.0","srclen":16,"table":"100","protocol":"static"},{"priority":32766,"src":"all","table":"main"},{"priority":32767,"src":"all","table":"default"}]
[{"dst":"default","table":"200","flags":[],"nexthops":[{"dev":"ppp0","weight":8,"flags":[]},{"dev":"ppp1","weight":2,"flags":[]}]},{"dst":"196.21.0.0/19","dev":"ppp0","table":"200","scope":"link","flags":[]},{"dst":"default","dev":"ppp0","table":"201","scope":"link","prefsrc":"100.64.1.2","flags":[]},{"dst":"100.64.1.1","dev":"ppp0","table":"201","scope":"link","prefsrc":"100.64.1.2","flags":[]},{"dst":"default","dev":"ppp1","table":"202","scope":"link","prefsrc":"100.64.2.2","flags":["linkdown"]},{"dst":"100.64.2.1","dev":"ppp1","table":"202","scope":"link","prefsrc":"100.64.2.2","flags":[]}]
`;

describe('parseOwned', () => {
  it('splits the two JSON documents of one ip -j -batch', () => {
    const docs = splitJsonDocuments(captured);
    expect(docs).toHaveLength(2);
    expect(splitJsonDocuments('[{"a":"]["}]\n[]')).toEqual([[{ a: '][' }], []]);
  });

  it('keeps only multiwan rules (protocol 242 or its name) and reads them back exactly as planned', () => {
    const [rules, routes] = splitJsonDocuments(captured);
    const owned = parseOwned(rules, routes);
    const desired = planRouting(twoLinks, { isp1: isp1Up, isp2: isp2Up }, ids).ip[4];
    expect(owned.rules).toHaveLength(desired.rules.length);
    expect(owned.rules.find((r) => r.priority === 5000)).toBeUndefined();
    // What the kernel holds is what was planned: nothing to do.
    expect(renderIpBatch(owned, desired)).toBe('');
  });

  it('accepts the protocol by name when rt_protos.d/multiwan.conf is installed', () => {
    const owned = parseOwned([{ priority: 1400, src: 'all', table: '200', protocol: 'multiwan' }], []);
    expect(owned.rules).toEqual([{ priority: 1400, table: 200 }]);
  });

  it('reads prefix selectors with their length and main by name', () => {
    const owned = parseOwned(
      [
        { priority: 1500, src: '192.168.192.0', srclen: 24, dst: '2.2.2.2', table: 'main', protocol: '242' },
      ],
      [{ dst: '10.0.0.0/8', gateway: '192.0.2.1', dev: 'eth1', table: '200' }],
    );
    expect(owned).toEqual({
      rules: [{ priority: 1500, from: '192.168.192.0/24', to: '2.2.2.2', table: 254 }],
      routes: [{ table: 200, dst: '10.0.0.0/8', via: '192.0.2.1', dev: 'eth1' }],
    });
  });
});
