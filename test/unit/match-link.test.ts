import { describe, expect, it } from 'vitest';
import { matchLink } from '../../src/events/match-link.js';
import { config as configOf, link } from '../fixtures/configs.js';

const config = configOf([link('isp1', 'ppp0'), link('isp2', 'ppp1'), link('cable', 'eth1')]);

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
