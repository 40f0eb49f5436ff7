import { describe, expect, it } from 'vitest';
import { conntrackArgv } from '../../src/apply/flush-conntrack.js';
import { planFlush } from '../../src/plan/plan-flush.js';
import { isp1Up } from '../fixtures/configs.js';

const numbers = { mark: 0x100, mask: 0x3f00 };
const down = { ...isp1Up, up: false };

describe('planFlush: stale NAT cleanup', () => {
  it.each([
    ['first up: nothing to flush', undefined, isp1Up, []],
    ['up again with the same address: nothing', isp1Up, isp1Up, []],
    ['down after being down: nothing', down, down, []],
    [
      'down: the connections pinned to it and those NATed to its address',
      isp1Up,
      down,
      [['conntrack', '-D', '--mark', '0x100/0x3f00'], ['conntrack', '-D', '--reply-dst', '100.64.1.2']],
    ],
    [
      'back with a new address: those of the old one',
      down,
      { ...isp1Up, local: '100.64.1.9' },
      [['conntrack', '-D', '--mark', '0x100/0x3f00'], ['conntrack', '-D', '--reply-dst', '100.64.1.2']],
    ],
  ] as const)('%s', (_name, before, after, argv) => {
    expect(planFlush(before, after, numbers).map(conntrackArgv)).toEqual(argv);
  });
});

describe('planFlush: leaving service', () => {
  const out = { ...isp1Up, healthy: false };
  it('flushes the connections pinned to a link the monitor takes out of service', () => {
    expect(planFlush(isp1Up, out, numbers).map(conntrackArgv)).toEqual([['conntrack', '-D', '--mark', '0x100/0x3f00']]);
  });
  it('not with flush_conntrack = false', () => {
    expect(planFlush(isp1Up, out, { ...numbers, flushOnHealth: false })).toEqual([]);
  });
  it('nothing when it comes back into service, or stays out', () => {
    expect(planFlush(out, isp1Up, numbers)).toEqual([]);
    expect(planFlush(out, out, numbers)).toEqual([]);
  });
});
