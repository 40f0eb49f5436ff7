import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isInterfaceName, networkOf, parseAddress, parsePrefix } from '../../src/net/address.js';

describe('parseAddress', () => {
  it.each([
    ['1.2.3.4', 4, '1.2.3.4'],
    ['0.0.0.0', 4, '0.0.0.0'],
    ['255.255.255.255', 4, '255.255.255.255'],
    ['192.0.2.53', 4, '192.0.2.53'],
    ['2001:DB8::1', 6, '2001:db8::1'],
    ['2001:db8:0:0:0:0:0:1', 6, '2001:db8::1'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', 6, '::1'],
    ['::', 6, '::'],
    ['fe80::1', 6, 'fe80::1'],
    ['1:2:3:4:5:6:1.2.3.4', 6, '1:2:3:4:5:6:102:304'],
  ] as const)('%s -> IPv%i %s', (text, family, address) => {
    expect(parseAddress(text)).toEqual({ family, address });
  });

  it.each([
    ['1.2.3', 'three parts (inet_aton shorthand)'],
    ['1.2.3.4.5', 'five parts'],
    ['01.2.3.4', 'leading zero (octal in inet_aton)'],
    ['1.2.3.04', 'leading zero in the last part'],
    ['0177.0.0.1', 'octal'],
    ['00.0.0.0', 'double zero'],
    ['0x1.2.3.4', 'hex part'],
    ['256.1.1.1', 'part over 255'],
    ['1..2.3', 'empty part'],
    ['1.2.3.4/24', 'a prefix, not an address'],
    [' 1.2.3.4', 'leading space'],
    ['1.2.3.4 ', 'trailing space'],
    ['1.2.3.4\n', 'trailing newline'],
    ['fe80::1%eth0', 'zone index'],
    ['2001:db8::1::2', 'two "::"'],
    ['1:2:3:4:5:6:7:8:9', 'nine groups'],
    ['1:2:3:4:5:6:7:1.2.3.4', 'too many groups with embedded IPv4'],
    ['::1.2.3', 'short embedded IPv4'],
    ['', 'empty'],
    ['not-an-ip', 'a word'],
    ['ppp0', 'an interface name'],
  ])('rejects %j (%s)', (text) => {
    expect(parseAddress(text)).toBeUndefined();
  });

  it('rejects text longer than any address', () => {
    expect(parseAddress('0'.repeat(40) + '1.2.3.4')).toBeUndefined();
  });
});

describe('parsePrefix', () => {
  it.each([
    ['10.0.0.0/8', { family: 4, text: '10.0.0.0/8', address: '10.0.0.0', length: 8 }],
    ['10.0.0.0/08', { family: 4, text: '10.0.0.0/8', address: '10.0.0.0', length: 8 }],
    ['0.0.0.0/0', { family: 4, text: '0.0.0.0/0', address: '0.0.0.0', length: 0 }],
    ['10.0.0.1/32', { family: 4, text: '10.0.0.1', address: '10.0.0.1', length: 32 }],
    ['10.0.0.1', { family: 4, text: '10.0.0.1', address: '10.0.0.1', length: 32 }],
    ['2001:DB8::/32', { family: 6, text: '2001:db8::/32', address: '2001:db8::', length: 32 }],
    ['2001:db8::1/128', { family: 6, text: '2001:db8::1', address: '2001:db8::1', length: 128 }],
    ['::/0', { family: 6, text: '::/0', address: '::', length: 0 }],
  ])('%s -> %o', (text, expected) => {
    expect(parsePrefix(text)).toEqual(expected);
  });

  it.each([
    ['192.168.10.0/33', '"192.168.10.0/33" has a prefix length that is not 0 to 32'],
    ['2001:db8::/129', '"2001:db8::/129" has a prefix length that is not 0 to 128'],
    ['10.0.0.0/', '"10.0.0.0/" has a prefix length that is not 0 to 32'],
    ['10.0.0.0/ 8', '"10.0.0.0/ 8" has a prefix length that is not 0 to 32'],
    ['10.0.0.0/-1', '"10.0.0.0/-1" has a prefix length that is not 0 to 32'],
    ['10.0.0.0/8/8', '"10.0.0.0/8/8" has more than one "/"'],
    ['not-an-ip', '"not-an-ip" is not an IPv4 or IPv6 prefix (like 192.0.2.0/24 or 2001:db8::/32)'],
    ['01.0.0.0/8', '"01.0.0.0/8" is not an IPv4 or IPv6 prefix (like 192.0.2.0/24 or 2001:db8::/32)'],
    ['192.168.10.1/24', '"192.168.10.1/24" has host bits set; write 192.168.10.0/24'],
    ['2001:db8::1/64', '"2001:db8::1/64" has host bits set; write 2001:db8::/64'],
  ])('%s -> %j', (text, reason) => {
    expect(parsePrefix(text)).toBe(reason);
  });

  it('every IPv4 network with its host bits cleared parses back to itself', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), (addr, length) => {
        const network = networkOf(addr, length);
        const parsed = parsePrefix(`${network}/${length}`);
        expect(parsed).toEqual({
          family: 4,
          text: length === 32 ? network : `${network}/${length}`,
          address: network,
          length,
        });
      }),
    );
  });
});

describe('networkOf', () => {
  it.each([
    ['192.168.10.77', 24, '192.168.10.0'],
    ['192.168.10.77', 32, '192.168.10.77'],
    ['192.168.10.77', 0, '0.0.0.0'],
    ['10.255.255.255', 9, '10.128.0.0'],
    ['2001:db8:1:2::5', 48, '2001:db8:1::'],
  ])('%s/%i -> %s', (address, length, network) => {
    expect(networkOf(address, length)).toBe(network);
  });
});

describe('isInterfaceName', () => {
  it.each([
    ['ppp0', true],
    ['eth0', true],
    ['eth0.100', true],
    ['wg-vpn', true],
    ['enp3s0:1', true],
    ['br_lan', true],
    ['a'.repeat(15), true],
    ['', false],
    ['a/b', false],
    ['a b', false],
    ['a'.repeat(16), false],
    ['.', false],
    ['..', false],
    ['eth0\n', false],
    ['eth0;rm', false],
  ])('%j -> %s', (name, ok) => {
    expect(isInterfaceName(name)).toBe(ok);
  });

  it.each([[undefined], [null], [5], [['eth0']]])('non-string %j -> false', (value) => {
    expect(isInterfaceName(value)).toBe(false);
  });
});
