import { describe, expect, it } from 'vitest';
import { conntrackArgv } from '../../src/apply/flush-conntrack.js';
import { planFlush } from '../../src/plan/plan-flush.js';
import { isp1Up } from '../fixtures/configs.js';

const numbers = { mark: 0x100, mask: 0x3f00 };
const down = { link: 'isp1', iface: 'ppp0', since: 'x' };

describe('planFlush: stale NAT cleanup', () => {
  it.each([
    ['first up: nothing to flush', undefined, isp1Up, []],
    ['up again with the same address: nothing', isp1Up, isp1Up, []],
    ['down after being down: nothing', down, down, []],
    [
      'down: the connections pinned to it and those NATed to its address',
      isp1Up,
      down,
      [['conntrack', '-D', '-f', 'ipv4', '--mark', '0x100/0x3f00'], ['conntrack', '-D', '-f', 'ipv4', '--reply-dst', '100.64.1.2']],
    ],
    [
      'up again with a new address: those of the old one, and those pinned to it',
      isp1Up,
      { ...isp1Up, v4: { local: '100.64.1.9' } },
      [['conntrack', '-D', '-f', 'ipv4', '--mark', '0x100/0x3f00'], ['conntrack', '-D', '-f', 'ipv4', '--reply-dst', '100.64.1.2']],
    ],
  ] as const)('%s', (_name, before, after, argv) => {
    expect(planFlush(before, after, numbers).map(conntrackArgv)).toEqual(argv);
  });
});

describe('planFlush: families apart (conntrack keeps them apart, and defaults to IPv4)', () => {
  const dual = { ...isp1Up, v6: { local: '2001:db8:1::2', peer: 'fe80::1' } };
  it('IPv6 going down flushes only IPv6: by mark and by its old address', () => {
    expect(planFlush(dual, isp1Up, numbers).map(conntrackArgv)).toEqual([
      ['conntrack', '-D', '-f', 'ipv6', '--mark', '0x100/0x3f00'],
      ['conntrack', '-D', '-f', 'ipv6', '--reply-dst', '2001:db8:1::2'],
    ]);
  });
  it('the whole link going down flushes both families', () => {
    expect(planFlush(dual, down, numbers).map(conntrackArgv)).toHaveLength(4);
  });
  it('leaving service flushes the marks of every family it is up in', () => {
    expect(planFlush(dual, { ...dual, healthy: false }, numbers).map(conntrackArgv)).toEqual([
      ['conntrack', '-D', '-f', 'ipv4', '--mark', '0x100/0x3f00'],
      ['conntrack', '-D', '-f', 'ipv6', '--mark', '0x100/0x3f00'],
    ]);
  });
});

describe('planFlush: leaving service', () => {
  const out = { ...isp1Up, healthy: false };
  it('flushes the connections pinned to a link the monitor takes out of service', () => {
    expect(planFlush(isp1Up, out, numbers).map(conntrackArgv)).toEqual([['conntrack', '-D', '-f', 'ipv4', '--mark', '0x100/0x3f00']]);
  });
  it('not with flush_conntrack = false', () => {
    expect(planFlush(isp1Up, out, { ...numbers, flushOnHealth: false })).toEqual([]);
  });
  it('nothing when it comes back into service, or stays out', () => {
    expect(planFlush(out, isp1Up, numbers)).toEqual([]);
    expect(planFlush(out, out, numbers)).toEqual([]);
  });
});
