import { describe, expect, it } from 'vitest';
import type { Config, LinkConfig } from '../../src/config/types.js';
import { matchLink } from '../../src/events/match-link.js';

const link = (name: string, iface: string): LinkConfig => ({
  name,
  interface: iface,
  weight: 1,
  tier: 1,
  masquerade: true,
  masquerade6: false,
  prefixes6: [],
  dns: [],
  routes: [],
  flushConntrack: true,
});

const config: Config = {
  file: '/etc/multiwan/multiwan.toml',
  lan: ['192.168.10.0/24'],
  markMask: 0x3f00,
  tableBase: 200,
  rulePriority: 1000,
  balance: 'connection',
  policies: [],
  files: [],
  links: [link('isp1', 'ppp0'), link('isp2', 'ppp1'), link('cable', 'eth1')],
};

describe('matchLink', () => {
  it.each([
    [{ iface: 'ppp0' }, 'isp1'],
    [{ iface: 'ppp1' }, 'isp2'],
    [{ iface: 'eth1' }, 'cable'],
    // pppd gave isp2's session another unit: its ipparam names the link.
    [{ iface: 'ppp5', ipparam: 'isp2' }, 'isp2'],
    // The interface wins over the ipparam.
    [{ iface: 'ppp0', ipparam: 'isp2' }, 'isp1'],
    // An ipparam that names no link does not stop a match by interface.
    [{ iface: 'eth1', ipparam: 'nothing' }, 'cable'],
  ])('%j -> %s', (event, name) => {
    expect(matchLink(config, event)).toBe(config.links.find((l) => l.name === name));
  });

  it.each([
    [{ iface: 'ppp5' }],
    [{ iface: 'ppp5', ipparam: 'nothing' }],
    [{ iface: 'ppp5', ipparam: '' }],
    // ipparam is matched against link names, not interfaces.
    [{ iface: 'ppp5', ipparam: 'ppp0' }],
  ])('%j -> undefined', (event) => {
    expect(matchLink(config, event)).toBeUndefined();
  });

  it('no links -> undefined', () => {
    expect(matchLink({ ...config, links: [] }, { iface: 'ppp0', ipparam: 'isp1' })).toBeUndefined();
  });
});
