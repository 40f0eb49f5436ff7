import { describe, expect, it } from 'vitest';
import { planRouting } from '../../src/plan/plan-routing.js';
import { renderIpBatch, renderRoute, renderRule } from '../../src/plan/render-ip-batch.js';
import type { Owned } from '../../src/plan/types.js';
import { ids, isp1Up, isp2Up, twoLinks } from '../fixtures/configs.js';

const empty: Owned = { routes: [], rules: [] };
const one = planRouting(twoLinks, { isp1: isp1Up }, ids).ip[4];
const both = planRouting(twoLinks, { isp1: isp1Up, isp2: isp2Up }, ids).ip[4];

describe('renderIpBatch: current + desired -> the exact batch between them', () => {
  it('what is already right yields an empty batch (a second ip-up runs no ip at all)', () => {
    expect(renderIpBatch(both, both)).toBe('');
  });

  it('the second link coming up adds only what is new, and replaces the balanced default', () => {
    expect(renderIpBatch(one, both).split('\n').filter(Boolean)).toEqual([
      'route replace default table 202 proto 242 dev ppp1 scope link src 100.64.2.2',
      'route replace 100.64.2.1 table 202 proto 242 dev ppp1 scope link src 100.64.2.2',
      'route replace default table 200 proto 242 nexthop dev ppp0 weight 8 nexthop dev ppp1 weight 2',
      'rule add priority 1100 fwmark 0x200/0x3f00 lookup 202 protocol 242',
      'rule add priority 1200 from 100.64.2.2 lookup 202 protocol 242',
    ]);
  });

  it('a link going down removes exactly its objects, after the replacement default is in place', () => {
    expect(renderIpBatch(both, one).split('\n').filter(Boolean)).toEqual([
      'route replace default table 200 proto 242 dev ppp0 scope link',
      'rule del priority 1100 fwmark 0x200/0x3f00 lookup 202 protocol 242',
      'rule del priority 1200 from 100.64.2.2 lookup 202 protocol 242',
      'route del default table 202 proto 242',
      'route del 100.64.2.1 table 202 proto 242',
    ]);
  });

  it('the last link down removes everything multiwan owns', () => {
    const batch = renderIpBatch(one, empty);
    expect(batch.split('\n').filter(Boolean)).toHaveLength(one.routes.length + one.rules.length);
    expect(batch).not.toMatch(/^(route replace|rule add)/m);
  });

  it('rolling back is the same function the other way round', () => {
    const forward = renderIpBatch(one, both);
    const back = renderIpBatch(both, one);
    expect(forward).not.toBe('');
    expect(renderIpBatch(both, both)).toBe('');
    expect(back).toContain('rule del priority 1200 from 100.64.2.2');
  });

  it.each([
    [{ priority: 1000, table: 254, suppressPrefixLength: 0 }, 'priority 1000 lookup 254 suppress_prefixlength 0 protocol 242'],
    [{ priority: 1300, to: '24.19.100.1', table: 201 }, 'priority 1300 to 24.19.100.1 lookup 201 protocol 242'],
    [{ priority: 1100, fwmark: 0x10000, fwmask: 0xff0000, table: 205 }, 'priority 1100 fwmark 0x10000/0xff0000 lookup 205 protocol 242'],
  ])('renderRule %j', (rule, text) => {
    expect(renderRule(rule)).toBe(text);
  });

  it.each([
    [{ table: 200, dst: '10.0.0.0/8', via: '192.0.2.1', dev: 'eth1' }, '10.0.0.0/8 table 200 proto 242 via 192.0.2.1 dev eth1'],
    [
      { table: 200, dst: 'default', nexthops: [{ dev: 'eth1', via: '192.0.2.1', weight: 3 }, { dev: 'ppp0', weight: 1 }] },
      'default table 200 proto 242 nexthop via 192.0.2.1 dev eth1 weight 3 nexthop dev ppp0 weight 1',
    ],
  ])('renderRoute %j', (route, text) => {
    expect(renderRoute(route)).toBe(text);
  });
});
