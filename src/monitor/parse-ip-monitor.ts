/**
 * `ip -o monitor link address` lines -> events. Pure. (`ip -j monitor` prints
 * text anyway in iproute2 6.1, so the one-line text form is parsed.)
 *   3: ppp0@c0: <NO-CARRIER,POINTOPOINT,NOARP,UP> mtu 1492 ... state LOWERLAYERDOWN ...
 *   Deleted 3: ppp0    inet 100.64.1.2 peer 100.64.1.1/32 scope global ppp0\ ...
 *   3: ppp0    inet 100.64.1.2 peer 100.64.1.1/32 scope global ppp0\ ...
 */
import { parseAddress } from '../net/address.js';

export type IpMonitorEvent =
  | { kind: 'link'; iface: string; carrier: boolean; deleted: boolean; adminUp: boolean }
  | { kind: 'address'; iface: string; address: string; deleted: boolean }
  | { kind: 'other' };

export function parseIpMonitorLine(line: string): IpMonitorEvent {
  const deleted = line.startsWith('Deleted ');
  const body = deleted ? line.slice('Deleted '.length) : line;
  const link = /^\d+: ([^:@\s]+)(?:@\S+)?: <([^>]*)>.*?(?: state (\S+))?(?: |\\|$)/.exec(body);
  if (link) {
    const flags = (link[2] ?? '').split(',');
    const state = link[3];
    const carrier = !deleted && flags.includes('UP') && !flags.includes('NO-CARRIER') && state !== 'DOWN' && state !== 'LOWERLAYERDOWN';
    return { kind: 'link', iface: link[1]!, carrier, deleted, adminUp: !deleted && flags.includes('UP') };
  }
  const address = /^\d+: (\S+)\s+inet6? ([0-9a-f.:]+)/i.exec(body);
  const parsed = address ? parseAddress(address[2]!) : undefined;
  if (address && parsed) return { kind: 'address', iface: address[1]!, address: parsed.address, deleted };
  return { kind: 'other' };
}
