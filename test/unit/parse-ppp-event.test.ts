import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { parsePppEvent } from '../../src/events/parse-ppp-event.js';

const usageUp =
  'pppd passes: interface tty speed local-address remote-address [ipparam]; by hand: ip-up IFACE';
const usageDown =
  'pppd passes: interface tty speed local-address remote-address [ipparam]; by hand: ip-down IFACE';
const nameRule = '1 to 15 letters, digits, "_", ".", ":" or "-" (no "/", no spaces)';

/** The ConfigError parsePppEvent throws; fails the test when it does not throw one. */
function errorOf(...args: Parameters<typeof parsePppEvent>): ConfigError {
  try {
    parsePppEvent(...args);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parsePppEvent', () => {
  it('reads the six arguments pppd passes', () => {
    expect(parsePppEvent('up', ['ppp0', '/dev/ttyS0', '115200', '100.64.1.2', '100.64.0.1', 'isp1'], {})).toEqual({
      action: 'up',
      iface: 'ppp0',
      kind: 'ppp',
      reason: 'ip-up',
      families: [4],
      v4: { local: '100.64.1.2', peer: '100.64.0.1' },
      ipparam: 'isp1',
    });
  });

  it('reads the PPP_* variables when there are no arguments', () => {
    const env = {
      PPP_IFACE: 'ppp0',
      PPP_TTY: '/dev/ttyS0',
      PPP_SPEED: '115200',
      PPP_LOCAL: '100.64.1.2',
      PPP_REMOTE: '100.64.0.1',
      PPP_IPPARAM: 'isp1',
    };
    expect(parsePppEvent('down', [], env)).toEqual({
      action: 'down',
      iface: 'ppp0',
      kind: 'ppp',
      reason: 'ip-down',
      families: [4],
      v4: { local: '100.64.1.2', peer: '100.64.0.1' },
      ipparam: 'isp1',
    });
  });

  it('arguments win over the environment', () => {
    const env = { PPP_IFACE: 'ppp9', PPP_LOCAL: '10.9.9.9', PPP_REMOTE: '10.9.9.1', PPP_IPPARAM: 'other' };
    expect(parsePppEvent('up', ['ppp0', 'tty', '0', '100.64.1.2', '100.64.0.1', 'isp1'], env)).toEqual({
      action: 'up',
      iface: 'ppp0',
      kind: 'ppp',
      reason: 'ip-up',
      families: [4],
      v4: { local: '100.64.1.2', peer: '100.64.0.1' },
      ipparam: 'isp1',
    });
  });

  it.each([
    ['five arguments', ['ppp0', '/dev/ttyS0', '115200', '100.64.1.2', '100.64.0.1'], {}],
    ['an empty ipparam (pppd passes "" when none is set)', ['ppp0', '/dev/ttyS0', '115200', '100.64.1.2', '100.64.0.1', ''], {}],
    ['env without PPP_IPPARAM', [], { PPP_IFACE: 'ppp0', PPP_LOCAL: '100.64.1.2', PPP_REMOTE: '100.64.0.1' }],
    ['env with an empty PPP_IPPARAM', [], { PPP_IFACE: 'ppp0', PPP_LOCAL: '100.64.1.2', PPP_REMOTE: '100.64.0.1', PPP_IPPARAM: '' }],
  ])('no ipparam key when there is none: %s', (_what, argv, env) => {
    const event = parsePppEvent('up', argv, env);
    expect(event).toEqual({ action: 'up', iface: 'ppp0', kind: 'ppp', reason: 'ip-up', families: [4], v4: { local: '100.64.1.2', peer: '100.64.0.1' } });
    expect('ipparam' in event).toBe(false);
  });

  it.each([['up'], ['down']] as const)('by hand, `ip-%s ppp1` names only the interface', (action) => {
    const event = parsePppEvent(action, ['ppp1'], {});
    // Nothing about addresses: the transition reads them from the live interface.
    expect(event).toEqual({ action, iface: 'ppp1', kind: 'ppp', reason: `ip-${action}`, families: [4] });
  });

  it('by hand with only PPP_IFACE set: the interface only', () => {
    expect(parsePppEvent('up', [], { PPP_IFACE: 'ppp1' })).toEqual({ action: 'up', iface: 'ppp1', kind: 'ppp', reason: 'ip-up', families: [4] });
  });

  it('canonicalises the addresses', () => {
    // parseAddress rejects leading zeros, so the only canonicalisation IPv4
    // needs is none: the text passes through unchanged.
    expect(parsePppEvent('up', ['ppp0', 't', '0', '0.0.0.1', '255.255.255.255'], {}).v4).toEqual({
      local: '0.0.0.1',
      peer: '255.255.255.255',
    });
  });

  it('ipv6-up: the IPv6CP link-locals, zero-padded by pppd 2.4.9, canonicalised; the peer is the next hop', () => {
    const event = parsePppEvent('up', ['ppp0', '/dev/ttyS0', '115200', 'fe80::0c11:52ff:fe01:0110', 'fe80::0000:0000:0000:0001', 'isp1'], {}, 6);
    expect(event).toEqual({ action: 'up', iface: 'ppp0', kind: 'ppp', reason: 'ipv6-up', families: [6], v6: { peer: 'fe80::1' }, ipparam: 'isp1' });
    expect(() => parsePppEvent('up', ['ppp0', 't', '0', '100.64.1.2', '100.64.0.1'], {}, 6)).toThrow(
      'argument 4 (local address) "100.64.1.2" is not an IPv6 link-local address; pppd passes: interface tty speed local-address remote-address [ipparam]; by hand: ipv6-up IFACE',
    );
  });

  it.each([
    ['up', ['ppp0', '/dev/ttyS0', '115200', '100.64.1.300', '100.64.0.1', 'isp1'], {},
      `argument 4 (local address) "100.64.1.300" is not an IPv4 address; ${usageUp}`],
    ['up', ['ppp0', '/dev/ttyS0', '115200', '100.64.1.2', 'peer', 'isp1'], {},
      `argument 5 (remote address) "peer" is not an IPv4 address; ${usageUp}`],
    ['down', ['ppp0', '/dev/ttyS0', '115200', '2001:db8::1', '100.64.0.1'], {},
      `argument 4 (local address) "2001:db8::1" is not an IPv4 address; ${usageDown}`],
    ['up', ['ppp0', '/dev/ttyS0', '115200'], {},
      `argument 4 (local address) "" is not an IPv4 address; ${usageUp}`],
    ['up', ['ppp0', '/dev/ttyS0', '115200', '100.64.1.2'], {},
      `argument 5 (remote address) "" is not an IPv4 address; ${usageUp}`],
    ['up', [], { PPP_IFACE: 'ppp0', PPP_LOCAL: '100.64.1.2' },
      `argument 5 (remote address) "" is not an IPv4 address; ${usageUp}`],
    ['up', [], { PPP_IFACE: 'ppp0', PPP_LOCAL: 'x', PPP_REMOTE: '100.64.0.1' },
      `argument 4 (local address) "x" is not an IPv4 address; ${usageUp}`],
    ['up', [], {}, `no interface given; ${usageUp}`],
    ['down', [''], {}, `no interface given; ${usageDown}`],
    ['up', ['a/b', 't', '0', '100.64.1.2', '100.64.0.1'], {},
      `argument 1 (interface) "a/b" is not a valid interface name: ${nameRule}; ${usageUp}`],
    ['up', ['a b'], {}, `argument 1 (interface) "a b" is not a valid interface name: ${nameRule}; ${usageUp}`],
    ['up', ['abcdefghijklmnop'], {},
      `argument 1 (interface) "abcdefghijklmnop" is not a valid interface name: ${nameRule}; ${usageUp}`],
    ['up', [], { PPP_IFACE: '../x' }, `argument 1 (interface) "../x" is not a valid interface name: ${nameRule}; ${usageUp}`],
  ] as const)('%s %j %j -> ConfigError', (action, argv, env, message) => {
    const error = errorOf(action, argv, env);
    expect(error.message).toBe(message);
    expect(error.problems).toEqual([message]);
  });

  // The brief asks every argument error to say what pppd passes; the interface
  // errors give the naming rule but not the usage line the address errors give
  // (src/events/parse-ppp-event.ts). Minor message inconsistency, not a
  // behaviour bug.
  it.each([['a/b'], ['a b'], ['abcdefghijklmnop']])(
    'a bad interface %j also says what pppd passes',
    (iface) => {
      expect(errorOf('up', [iface, 't', '0', '100.64.1.2', '100.64.0.1'], {}).message).toContain(usageUp);
    },
  );
});
