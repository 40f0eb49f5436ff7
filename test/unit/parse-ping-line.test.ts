import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePingLine, type PingLine } from '../../src/monitor/parse-ping-line.js';

describe('parsePingLine', () => {
  it.each<[string, PingLine]>([
    // replies, every precision iputils prints
    ['64 bytes from 100.64.1.1: icmp_seq=1 ttl=64 time=0.681 ms', { kind: 'reply', seq: 1, rttMs: 0.681 }],
    ['64 bytes from 198.51.100.10: icmp_seq=42 ttl=62 time=12.3 ms', { kind: 'reply', seq: 42, rttMs: 12.3 }],
    ['64 bytes from 1.1.1.1: icmp_seq=7 ttl=57 time=1.25 ms', { kind: 'reply', seq: 7, rttMs: 1.25 }],
    ['64 bytes from 9.9.9.9: icmp_seq=65535 ttl=57 time=1234 ms', { kind: 'reply', seq: 65535, rttMs: 1234 }],
    ['64 bytes from 9.9.9.9: icmp_seq=0 ttl=57 time=100 ms', { kind: 'reply', seq: 0, rttMs: 100 }],
    ['64 bytes from 2001:db8::1: icmp_seq=3 ttl=64 time=0.050 ms', { kind: 'reply', seq: 3, rttMs: 0.05 }],
    ['64 bytes from one.one.one.one (1.1.1.1): icmp_seq=2 ttl=57 time=9.87 ms', { kind: 'reply', seq: 2, rttMs: 9.87 }],
    ['1480 bytes from 100.64.1.1: icmp_seq=5 ttl=64 time=0.5 ms', { kind: 'reply', seq: 5, rttMs: 0.5 }],
    ['[1700000000.123456] 64 bytes from 100.64.1.1: icmp_seq=9 ttl=64 time=0.681 ms', { kind: 'reply', seq: 9, rttMs: 0.681 }],
    ['64 bytes from 100.64.1.1: icmp_seq=4 ttl=64 time=0.681 ms\n', { kind: 'reply', seq: 4, rttMs: 0.681 }],
    ['64 bytes from 100.64.1.1: icmp_seq=4 ttl=64 time=0.681 ms (DIFFERENT ADDRESS!)', { kind: 'reply', seq: 4, rttMs: 0.681 }],
    // -O: no reply by the time the next probe left
    ['no answer yet for icmp_seq=2', { kind: 'lost', seq: 2 }],
    ['no answer yet for icmp_seq=0', { kind: 'lost', seq: 0 }],
    ['[1700000000.123456] no answer yet for icmp_seq=65535', { kind: 'lost', seq: 65535 }],
    // ICMP errors are failures
    ['From 100.64.1.1 icmp_seq=3 Destination Host Unreachable', { kind: 'lost', seq: 3 }],
    ['From 100.64.1.1 icmp_seq=4 Destination Net Unreachable', { kind: 'lost', seq: 4 }],
    ['From 100.64.1.1 icmp_seq=5 Destination Net Prohibited', { kind: 'lost', seq: 5 }],
    ['From 100.64.1.1 icmp_seq=6 Packet filtered', { kind: 'lost', seq: 6 }],
    ['From 100.64.1.1 icmp_seq=7 Time to live exceeded', { kind: 'lost', seq: 7 }],
    ['From 100.64.1.1 icmp_seq=8 Frag needed and DF set (mtu = 1492)', { kind: 'lost', seq: 8 }],
    ['From 2001:db8::1 icmp_seq=9 Destination unreachable: Address unreachable', { kind: 'lost', seq: 9 }],
    ['From router.lan (100.64.1.1) icmp_seq=10 Destination Host Unreachable', { kind: 'lost', seq: 10 }],
  ])('%j', (line, expected) => {
    expect(parsePingLine(line)).toEqual(expected);
  });

  it.each([
    ['PING 198.51.100.10 (198.51.100.10) from 100.64.1.2 : 56(84) bytes of data.', 'header'],
    ['PING 2001:db8::1(2001:db8::1) from 2001:db8::2 : 56 data bytes', 'IPv6 header'],
    ['', 'empty line'],
    ['--- 198.51.100.10 ping statistics ---', 'statistics header'],
    ['5 packets transmitted, 3 received, 40% packet loss, time 4006ms', 'statistics'],
    ['5 packets transmitted, 0 received, +5 errors, 100% packet loss, time 4080ms', 'statistics with errors'],
    ['rtt min/avg/max/mdev = 0.040/0.512/0.681/0.244 ms', 'rtt summary'],
    ['64 bytes from 100.64.1.1: icmp_seq=1 ttl=64 time=0.681 ms (DUP!)', 'duplicate reply'],
    ['From 100.64.1.1: icmp_seq=2 Redirect Host(New nexthop: 100.64.1.9)', 'redirect (with a colon)'],
    ['From 100.64.1.1 icmp_seq=2 Redirect Host(New nexthop: 100.64.1.9)', 'redirect'],
    ['64 bytes from 100.64.1.1: icmp_seq=1 ttl=64', 'reply without time (-s below 16)'],
    ['64 bytes from 100.64.1.1: icmp_seq=70000 ttl=64 time=0.681 ms', 'sequence number over 65535'],
    ['64 bytes from 100.64.1.1: icmp_seq=1 ttl=64 time=0.681 msec', 'unit glued to more text'],
    ['no answer yet for icmp_seq=', 'no number'],
    ['no answer yet for icmp_seq=-1', 'negative number'],
    ['no answer yet for icmp_seq=3 extra', 'trailing text'],
    ['  no answer yet for icmp_seq=3', 'leading spaces'],
    ['ping: sendmsg: Network is unreachable', 'stderr: sendmsg'],
    ['ping: bind: Cannot assign requested address', 'stderr: bind'],
    ['ping: connect: Network is unreachable', 'stderr: connect'],
    ['icmp_seq=1 time=0.5 ms', 'fragment'],
    ['\u0000\u00ff\ufffd garbage 64 bytes', 'binary garbage'],
  ])('%j is other (%s)', (line) => {
    expect(parsePingLine(line)).toEqual({ kind: 'other' });
  });

  it('never throws, and a reply or a loss always has a sequence number 0..65535', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (line) => {
        const parsed = parsePingLine(line);
        if (parsed.kind !== 'other') expect(parsed.seq >= 0 && parsed.seq <= 65535).toBe(true);
        if (parsed.kind === 'reply') expect(Number.isFinite(parsed.rttMs)).toBe(true);
      }),
    );
  });
});
