// Traffic for the data-plane bench: a sender in a network's LAN namespace,
// pausable (SIGSTOP/SIGCONT) so that two networks can take turns without
// restarting anything, and the counters a measurement window reads.
//
// The sender and the forwarding path share a core: a veth hands a packet to
// the next namespace in the sender's own context (netif_rx, then the
// softirq at the end of the send), so the LAN client's sendmsg() also runs
// the router's netfilter hooks and routing, and the server's receive. A
// sender that sends as fast as it can (iperf3 -b 0, socat) therefore runs at
// the path's capacity on that core: nothing queues up to be dropped, and the
// received rate is the rate the router forwards. The sender is pinned to CPU 0
// and the server to CPU 1, the same for both routers, so neither gets a
// better placement by chance.
import { spawnBackground, type Background } from '../test/lab/exec.js';
import { ADDR, IPERF_PORT, pinned, SENDER_CPU, snmp, type Network } from './dataplane-lab.js';

export type TrafficKind = 'udp' | 'tcp' | 'udp-new';

export const TRAFFIC: Record<TrafficKind, { label: string; argv: (seconds: number) => string[] }> = {
  // 8 flows, each answered once by iperf3's UDP handshake: established
  // connections, so the multipath route spreads them and multiwan's mark
  // restore runs on every packet.
  udp: {
    label: 'UDP, 64-byte payload, 8 flows (iperf3 -u -l 64 -b 0 -P 8)',
    argv: (s) => ['iperf3', '-c', ADDR.server, '-p', String(IPERF_PORT), '-u', '-l', '64', '-b', '0', '-P', '8', '-i', '0', '-t', String(s)],
  },
  // The LAN client sends one MSS a packet (dataplane-lab sets gso_max_segs 1).
  tcp: {
    label: 'TCP, MSS 536, 4 flows (iperf3 -M 536 -P 4), one segment a packet',
    argv: (s) => ['iperf3', '-c', ADDR.server, '-p', String(IPERF_PORT), '-M', '536', '-P', '4', '-i', '0', '-t', String(s)],
  },
  // One flow nothing answers (the server's port 9 is closed; its ICMP
  // errors are rate-limited and only RELATED): conntrack never sees a
  // reply, so every packet is in state new and takes the path of a
  // connection's first packet, policies and source balance included.
  'udp-new': {
    label: 'UDP, 64-byte payload, one unanswered flow: every packet in conntrack state new (socat)',
    argv: () => ['socat', '-u', '-b', '64', '/dev/zero', `UDP-SENDTO:${ADDR.server}:9`],
  },
};

export interface Sender {
  kind: TrafficKind;
  net: Network;
  bg: Background;
}

/** Starts `kind` from the network's LAN client, paused; it runs at most `seconds`. */
export async function startSender(net: Network, kind: TrafficKind, seconds: number): Promise<Sender> {
  const bg = spawnBackground(net.ns.lan, pinned(SENDER_CPU, TRAFFIC[kind].argv(seconds)), { mergeStderr: true });
  // Let it connect (iperf3: control connection, streams, UDP handshake) before pausing.
  await sleep(kind === 'udp-new' ? 100 : 400);
  if (bg.exited) throw new Error(`${TRAFFIC[kind].argv(seconds).join(' ')} in ${net.ns.lan} exited at once:\n${bg.lines.slice(-5).join('\n')}${bg.stderr}`);
  bg.signal('SIGSTOP');
  return { kind, net, bg };
}

export const pause = (s: Sender): void => s.bg.signal('SIGSTOP');
export const resume = (s: Sender): void => s.bg.signal('SIGCONT');

export async function stopSender(s: Sender): Promise<void> {
  s.bg.signal('SIGCONT');
  await s.bg.stop(2000);
}

export interface Sample {
  at: number;
  /** IP packets the server's namespace received (Ip InReceives) */
  received: number;
  /** IP packets the LAN client's namespace sent (Ip OutRequests) */
  sent: number;
}

export function sample(s: Sender): Sample {
  return { at: performance.now(), received: snmp(s.net.server.pid!)['Ip.InReceives'] ?? 0, sent: snmp(s.bg.pid!)['Ip.OutRequests'] ?? 0 };
}

export interface Window {
  /** packets a second the server received */
  pps: number;
  /** packets a second the LAN client sent */
  sentPps: number;
}

function windowOf(a: Sample, b: Sample): Window {
  const seconds = (b.at - a.at) / 1000;
  return { pps: (b.received - a.received) / seconds, sentPps: (b.sent - a.sent) / seconds };
}

/**
 * Lets the senders run together for settleMs, measures them for windowMs,
 * and pauses them again. One sender: a router alone on the machine (as far as
 * this bench goes). Several: they share the sender core, which the scheduler
 * splits evenly, so their rates compare their per-packet costs under the same
 * load at the same moment.
 */
export async function measure(senders: Sender[], settleMs: number, windowMs: number): Promise<Window[]> {
  senders.forEach(resume);
  try {
    await sleep(settleMs);
    const a = senders.map(sample);
    await sleep(windowMs);
    const b = senders.map(sample);
    const dead = senders.find((s) => s.bg.exited);
    if (dead) throw new Error(`the ${dead.kind} sender in ${dead.net.ns.lan} stopped during a window:\n${dead.bg.lines.slice(-5).join('\n')}${dead.bg.stderr}`);
    return a.map((from, i) => windowOf(from, b[i]!));
  } finally {
    senders.forEach(pause);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
