// dhclient, dhcpcd, ifupdown and `multiwan link` -> LinkEvent. Pure.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { parseDhclientEvent } from '../../src/events/parse-dhclient-event.js';
import { parseDhcpcdEvent } from '../../src/events/parse-dhcpcd-event.js';
import { parseIfupdownEvent } from '../../src/events/parse-ifupdown-event.js';
import { parseLinkCommand } from '../../src/events/parse-link-command.js';

const lease = { interface: 'eth1', new_ip_address: '203.0.113.10', new_subnet_mask: '255.255.255.0', new_routers: '203.0.113.1 203.0.113.254', new_domain_name_servers: '203.0.113.53' };

describe('parseDhclientEvent', () => {
  it.each(['BOUND', 'RENEW', 'REBIND', 'REBOOT', 'TIMEOUT'])('%s: up with the leased address and the first router', (reason) => {
    expect(parseDhclientEvent({ ...lease, reason })).toEqual({
      action: 'up', iface: 'eth1', kind: 'dhcp', reason: `dhclient ${reason}`, families: [4], v4: { local: '203.0.113.10', gateway: '203.0.113.1' },
    });
  });

  it.each(['EXPIRE', 'FAIL', 'RELEASE', 'STOP'])('%s: IPv4 down', (reason) => {
    expect(parseDhclientEvent({ ...lease, reason })).toMatchObject({ action: 'down', families: [4] });
  });

  it.each(['PREINIT', 'MEDIUM', 'ARPCHECK', 'PREINIT6', 'DEPREF6', 'NBI', ''])('%j changes nothing', (reason) => {
    expect(parseDhclientEvent({ ...lease, reason })).toBeUndefined();
  });

  it('a lease without routers: up, no gateway', () => {
    expect(parseDhclientEvent({ reason: 'BOUND', interface: 'eth1', new_ip_address: '203.0.113.10' })?.v4).toEqual({ local: '203.0.113.10' });
  });

  it('DHCPv6: the address and the delegated prefix; the router comes from advertisements', () => {
    expect(parseDhclientEvent({ reason: 'BOUND6', interface: 'eth1', new_ip6_address: '2001:db8:1::1:5', new_ip6_prefixlen: '128', new_ip6_prefix: '2001:db8:1:100::/56' })).toEqual({
      action: 'up', iface: 'eth1', kind: 'dhcp', reason: 'dhclient BOUND6', families: [6], v6: { local: '2001:db8:1::1:5', prefixes: ['2001:db8:1:100::/56'] },
    });
    expect(parseDhclientEvent({ reason: 'RELEASE6', interface: 'eth1', old_ip6_address: '2001:db8:1::1:5' })).toMatchObject({ action: 'down', families: [6] });
  });

  it.each<[string, Record<string, string>, string]>([
    ['no interface', { reason: 'BOUND', new_ip_address: '203.0.113.10' }, 'dhclient: no interface in the environment; this hook is run by dhclient, not by hand (use multiwan link up|down)'],
    ['a bad interface', { reason: 'BOUND', interface: 'eth1;reboot', new_ip_address: '1.2.3.4' }, 'dhclient: interface="eth1;reboot" is not an interface name: 1 to 15 letters, digits, "_", ".", ":" or "-" (no "/", no spaces)'],
    ['a bad address', { reason: 'BOUND', interface: 'eth1', new_ip_address: '203.0.113.300' }, 'new_ip_address="203.0.113.300" is not an IPv4 address'],
    ['a bad router', { reason: 'RENEW', interface: 'eth1', new_ip_address: '203.0.113.10', new_routers: 'x' }, 'new_routers="x" is not an IPv4 address'],
    ['BOUND without an address', { reason: 'BOUND', interface: 'eth1' }, 'dhclient BOUND for eth1 without new_ip_address; nothing to bring up'],
  ])('%s: one line', (_name, env, message) => {
    expect(() => parseDhclientEvent(env)).toThrow(ConfigError);
    expect(() => parseDhclientEvent(env)).toThrow(message);
  });
});

describe('parseDhcpcdEvent', () => {
  const v4 = { interface: 'eth1', protocol: 'dhcp', new_ip_address: '203.0.113.10', new_subnet_cidr: '24', new_routers: '203.0.113.1' };

  it.each(['BOUND', 'RENEW', 'REBIND', 'REBOOT', 'STATIC', 'INFORM'])('%s: IPv4 up', (reason) => {
    expect(parseDhcpcdEvent({ ...v4, reason })).toEqual({
      action: 'up', iface: 'eth1', kind: 'dhcp', reason: `dhcpcd ${reason}`, families: [4], v4: { local: '203.0.113.10', gateway: '203.0.113.1' },
    });
  });

  it.each([['EXPIRE', [4]], ['NAK', [4]], ['RELEASE', [4]], ['STOP', [4]], ['EXPIRE6', [6]], ['RELEASE6', [6]], ['STOP6', [6]], ['NOCARRIER', [4, 6]], ['DEPARTED', [4, 6]], ['STOPPED', [4, 6]]])(
    '%s: down in %j',
    (reason, families) => {
      expect(parseDhcpcdEvent({ interface: 'eth1', reason: reason as string })).toMatchObject({ action: 'down', families });
    },
  );

  it.each(['PREINIT', 'CARRIER', 'TEST', 'DUMP', 'RECONFIGURE', 'NOCARRIER_ROAMING', 'IPV4LL', 'FAIL', 'TIMEOUT'])('%s changes nothing', (reason) => {
    expect(parseDhcpcdEvent({ ...v4, reason })).toBeUndefined();
  });

  it('BOUND6 with an address and the prefixes delegated to the uplink (as dhcpcd 9.4 passes them); ROUTERADVERT gives the router (and expires it)', () => {
    expect(parseDhcpcdEvent({
      reason: 'BOUND6', interface: 'eth1', protocol: 'dhcp6', new_dhcp6_ia_na1_ia_addr1: '2001:db8:ff01::1c2',
      new_dhcp6_ia_pd1_prefix1: '2001:db8:1::', new_dhcp6_ia_pd1_prefix1_length: '48', new_dhcp6_ia_pd1_prefix1_pltime: '300',
      new_dhcp6_ia_pd2_prefix1: '2001:db8:1:100::', new_dhcp6_ia_pd2_prefix1_length: '56',
    })).toMatchObject({ action: 'up', families: [6], v6: { local: '2001:db8:ff01::1c2', prefixes: ['2001:db8:1::/48', '2001:db8:1:100::/56'] } });
    // The router only: the SLAAC address in nd1_addr1 must not replace the DHCPv6 lease's address (and its prefixes).
    expect(parseDhcpcdEvent({ reason: 'ROUTERADVERT', interface: 'eth1', protocol: 'ra', if_up: 'true', nd1_from: 'fe80::6d:77ff:fe00:101', nd1_addr1: '2001:db8:ff01:0:80e7:d64a:b587:1fa2/64' })?.v6).toEqual({
      gateway: 'fe80::6d:77ff:fe00:101',
    });
    // The piece of the prefix dhcpcd put on the LAN port: not an uplink's event.
    expect(parseDhcpcdEvent({ reason: 'DELEGATED6', interface: 'lan0', protocol: 'dhcp6', new_delegated_dhcp6_prefix: '2001:db8:1:1::1/64' })).toBeUndefined();
    expect(parseDhcpcdEvent({ reason: 'ROUTERADVERT', interface: 'eth1', protocol: 'ra', if_up: 'false', if_down: 'true' })).toMatchObject({ action: 'down', families: [6] });
  });
});

describe('parseIfupdownEvent', () => {
  const stanza = { IFACE: 'eth2', METHOD: 'static', ADDRFAM: 'inet', IF_ADDRESS: '198.51.100.6', IF_NETMASK: '255.255.255.248', IF_MULTIWAN_GATEWAY: '198.51.100.1' };

  it('if-up.d: a static stanza with multiwan-gateway is up with its address and gateway', () => {
    expect(parseIfupdownEvent({ ...stanza, MODE: 'start', PHASE: 'post-up' })).toEqual({
      action: 'up', iface: 'eth2', kind: 'static', reason: 'ifup', families: [4], v4: { local: '198.51.100.6', gateway: '198.51.100.1' },
    });
  });

  it('if-post-down.d: down', () => {
    expect(parseIfupdownEvent({ ...stanza, MODE: 'stop', PHASE: 'post-down' })).toEqual({ action: 'down', iface: 'eth2', kind: 'static', reason: 'ifdown', families: [4] });
  });

  it('an address written with its length, ifupdown\'s own gateway option, IPv6', () => {
    expect(parseIfupdownEvent({ ...stanza, MODE: 'start', IF_ADDRESS: '198.51.100.6/29', IF_MULTIWAN_GATEWAY: '', IF_GATEWAY: '198.51.100.1' })?.v4).toEqual({ local: '198.51.100.6', gateway: '198.51.100.1' });
    expect(parseIfupdownEvent({ IFACE: 'eth2', METHOD: 'static', ADDRFAM: 'inet6', MODE: 'start', IF_ADDRESS: '2001:db8:9::2/64', IF_MULTIWAN_GATEWAY: '2001:db8:9::1' })).toMatchObject({ families: [6], v6: { local: '2001:db8:9::2', gateway: '2001:db8:9::1' } });
  });

  it.each(['ppp', 'dhcp', 'manual', 'loopback', 'auto', undefined])('METHOD=%s is reported by someone else: nothing', (METHOD) => {
    expect(parseIfupdownEvent({ ...stanza, MODE: 'start', METHOD })).toBeUndefined();
  });
});

describe('parseLinkCommand', () => {
  it('up with addresses of both families', () => {
    expect(parseLinkCommand({ action: 'up', target: 'vpn', local: ['10.8.0.2', '2001:db8:8::2'], peer: ['10.8.0.1'] })).toEqual({
      action: 'up', iface: 'vpn', link: 'vpn', kind: 'manual', reason: 'multiwan link up', families: [4, 6],
      v4: { local: '10.8.0.2', peer: '10.8.0.1' }, v6: { local: '2001:db8:8::2' },
    });
  });

  it('up with nothing: every family the interface has; down: both', () => {
    expect(parseLinkCommand({ action: 'up', target: 'wg0' }).families).toEqual([]);
    expect(parseLinkCommand({ action: 'down', target: 'wg0' }).families).toEqual([4, 6]);
  });

  it('every problem at once', () => {
    expect(() => parseLinkCommand({ action: 'sideways', target: 'a b', local: ['x', '10.0.0.1', '10.0.0.2'] })).toThrow(
      ['link: "sideways" is neither up nor down', 'link: "a b" is neither a link name nor an interface name: 1 to 15 letters, digits, "_", ".", ":" or "-" (no "/", no spaces)', 'link: --local "x" is not an IPv4 or IPv6 address', 'link: --local given twice for IPv4'].join('\n'),
    );
  });
});
