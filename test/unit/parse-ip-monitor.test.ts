import { describe, expect, it } from 'vitest';
import { parseIpMonitorLine } from '../../src/monitor/parse-ip-monitor.js';

// Lines as `ip -o monitor link address` (iproute2 6.1) printed them in a namespace.
describe('parseIpMonitorLine', () => {
  it.each([
    [
      'carrier lost on the router end of a point-to-point veth',
      '3: ppp0@c0: <NO-CARRIER,BROADCAST,MULTICAST,NOARP,UP,M-DOWN> mtu 1500 qdisc noqueue state LOWERLAYERDOWN group default \\    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff',
      { kind: 'link', iface: 'ppp0', carrier: false, deleted: false, adminUp: true },
    ],
    [
      'carrier back',
      '3: ppp0@c0: <BROADCAST,MULTICAST,NOARP,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default \\    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff',
      { kind: 'link', iface: 'ppp0', carrier: true, deleted: false, adminUp: true },
    ],
    [
      'a real ppp interface, state UNKNOWN',
      '7: ppp0: <POINTOPOINT,MULTICAST,NOARP,UP,LOWER_UP> mtu 1492 qdisc fq_codel state UNKNOWN group default qlen 3\\    link/ppp ',
      { kind: 'link', iface: 'ppp0', carrier: true, deleted: false, adminUp: true },
    ],
    [
      'administratively down',
      '2: c0@ppp0: <BROADCAST,MULTICAST,NOARP> mtu 1500 qdisc noqueue state DOWN group default \\    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff',
      { kind: 'link', iface: 'c0', carrier: false, deleted: false, adminUp: false },
    ],
    [
      'the interface removed (pppd ends)',
      'Deleted 7: ppp0: <POINTOPOINT,MULTICAST,NOARP> mtu 1492 qdisc noop state DOWN group default \\    link/ppp ',
      { kind: 'link', iface: 'ppp0', carrier: false, deleted: true, adminUp: false },
    ],
    [
      'its address removed',
      'Deleted 3: ppp0    inet 100.64.1.2 peer 100.64.1.1/32 scope global ppp0\\       valid_lft forever preferred_lft forever',
      { kind: 'address', iface: 'ppp0', address: '100.64.1.2', deleted: true },
    ],
    [
      'an address added',
      '3: ppp0    inet 100.64.1.2 peer 100.64.1.1/32 scope global ppp0\\       valid_lft forever preferred_lft forever',
      { kind: 'address', iface: 'ppp0', address: '100.64.1.2', deleted: false },
    ],
    ['an IPv6 address', '2: c0    inet6 fe80::ff:fe00:1/64 scope link \\       valid_lft forever preferred_lft forever', { kind: 'address', iface: 'c0', address: 'fe80::ff:fe00:1', deleted: false }],
    ['garbage', 'Timestamp: whatever', { kind: 'other' }],
  ])('%s', (_name, line, event) => {
    expect(parseIpMonitorLine(line)).toEqual(event);
  });
});
