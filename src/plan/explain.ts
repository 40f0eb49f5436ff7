/**
 * Why a new connection goes where it goes: the same decisions the planner
 * encodes in nft and ip rules, applied to one packet, in their order. Pure.
 * (`multiwan explain` adds the kernel's own answer from `ip route get`.)
 */
import type { Config, PolicyConfig } from '../config/types.js';
import { parseAddress, prefixContains } from '../net/address.js';
import type { LinkIds, LinkStates } from '../state/types.js';
import { linkNumbers } from './assign-ids.js';
import { choosePolicyLink, planRouting } from './plan-routing.js';

export interface Packet {
  src: string;
  dst: string;
  protocol?: string;
  sport?: number;
  dport?: number;
  iif?: string;
}

export interface PolicyCheck {
  name: string;
  matched: boolean;
  /** The first selector that did not match, or what matched. */
  why: string;
}

export type Decision =
  | { kind: 'lan'; why: string }
  | { kind: 'link'; link: string; mark?: number; table: number; why: string }
  | { kind: 'balance'; table: number; weights: { link: string; weight: number }[]; why: string }
  | { kind: 'unreachable'; why: string }
  | { kind: 'none'; why: string };

export interface Explanation {
  packet: Packet;
  policies: PolicyCheck[];
  /** The via list of the matching policy, each link with its state. */
  via?: { link: string; state: string; chosen: boolean }[];
  decision: Decision;
}

export function explainPacket(config: Config, states: LinkStates, ids: LinkIds, packet: Packet): Explanation {
  const plan = planRouting(config, states, ids);
  const inService = plan.inService;
  const numbers = (link: string) => linkNumbers(config, ids[link]!);
  const stateOf = (link: string) => {
    const state = states[link];
    if (!state?.up) return 'down';
    return inService.includes(link) ? 'in service' : `out of service (${state.healthReason ?? 'unhealthy'})`;
  };

  const lan = config.lan.find((prefix) => prefixContains(prefix, packet.dst));
  if (lan) return { packet, policies: [], decision: { kind: 'lan', why: `${packet.dst} is in lan ${lan}: never marked; main's route decides` } };

  const policies: PolicyCheck[] = [];
  for (const policy of config.policies) {
    const check = matchPolicy(policy, packet);
    policies.push({ name: policy.name, ...check });
    if (!check.matched) continue;
    const chosen = choosePolicyLink(policy, inService);
    const via = policy.via.map((link) => ({ link, state: stateOf(link), chosen: link === chosen }));
    if (chosen) {
      const { mark, table } = numbers(chosen);
      const skipped = via.filter((v) => !v.chosen && policy.via.indexOf(v.link) < policy.via.indexOf(chosen));
      const why = `policy "${policy.name}" sends it via ${chosen}` + (skipped.length ? ` (${skipped.map((v) => `${v.link} is ${v.state}`).join(', ')})` : ', the first of its links');
      return { packet, policies, via, decision: { kind: 'link', link: chosen, mark, table, why } };
    }
    if (policy.fallback === 'unreachable') {
      return { packet, policies, via, decision: { kind: 'unreachable', why: `policy "${policy.name}": none of ${policy.via.join(', ')} is in service, and its fallback is "unreachable": rejected` } };
    }
    return { packet, policies, via, decision: balanceDecision(config, inService, `policy "${policy.name}": none of ${policy.via.join(', ')} is in service; fallback "default"`) };
  }

  for (const link of config.links) {
    if (inService.includes(link.name) && link.dns.includes(packet.dst)) {
      return { packet, policies, decision: { kind: 'link', link: link.name, table: numbers(link.name).table, why: `${packet.dst} is a DNS server of ${link.name}: reached through it` } };
    }
  }
  let best: { link: string; prefix: string; length: number } | undefined;
  for (const link of config.links) {
    if (!inService.includes(link.name)) continue;
    for (const prefix of link.routes) {
      const length = Number(prefix.split('/')[1] ?? (prefix.includes(':') ? 128 : 32));
      if ((!best || length > best.length) && prefixContains(prefix, packet.dst)) best = { link: link.name, prefix, length };
    }
  }
  if (best) {
    return { packet, policies, decision: { kind: 'link', link: best.link, table: config.tableBase, why: `${packet.dst} is in ${best.prefix}, a destination route of ${best.link}` } };
  }
  return { packet, policies, decision: balanceDecision(config, inService, policies.length ? 'no policy matches' : 'no policies') };
}

function balanceDecision(config: Config, inService: readonly string[], why: string): Decision {
  if (!inService.length) return { kind: 'none', why: `${why}; no link is in service: main's own default route (if any) decides` };
  const weights = config.links.filter((l) => inService.includes(l.name)).map((l) => ({ link: l.name, weight: l.weight }));
  return {
    kind: 'balance',
    table: config.tableBase,
    weights,
    why: `${why}: the balanced default route, ${weights.map((w) => `${w.link} weight ${w.weight}`).join(', ')}; the kernel hashes each connection onto one of them, and the link it picks is pinned`,
  };
}

export function matchPolicy(policy: PolicyConfig, packet: Packet): { matched: boolean; why: string } {
  const family = parseAddress(packet.dst)?.family;
  if (policy.iif.length && !(packet.iif && policy.iif.includes(packet.iif))) {
    return { matched: false, why: packet.iif ? `iif ${packet.iif} is not ${policy.iif.join(', ')}` : `iif: the router's own traffic has no incoming interface (${policy.iif.join(', ')} wanted)` };
  }
  if (policy.src.length && !policy.src.some((p) => prefixContains(p, packet.src))) return { matched: false, why: `src ${packet.src} is in none of its ${policy.src.length} src prefix(es)` };
  if (policy.dst.length && !policy.dst.some((p) => prefixContains(p, packet.dst))) return { matched: false, why: `dst ${packet.dst} is in none of its ${policy.dst.length} dst prefix(es)` };
  const protocol = packet.protocol?.toLowerCase();
  if (policy.protocol) {
    const wanted = policy.protocol === 'icmpv6' || (policy.protocol === 'icmp' && family === 6) ? ['icmp', 'icmpv6', 'ipv6-icmp'] : [policy.protocol];
    if (!protocol || !wanted.includes(protocol)) return { matched: false, why: `protocol ${protocol ?? '(none given)'} is not ${policy.protocol}` };
  } else if ((policy.srcPort.length || policy.dstPort.length) && protocol !== 'tcp' && protocol !== 'udp') {
    return { matched: false, why: `its ports need tcp or udp, not ${protocol ?? '(no protocol given)'}` };
  }
  const inRanges = (port: number | undefined, ranges: PolicyConfig['srcPort']) => port !== undefined && ranges.some((r) => port >= r.from && port <= r.to);
  if (policy.srcPort.length && !inRanges(packet.sport, policy.srcPort)) return { matched: false, why: `sport ${packet.sport ?? '(none given)'} is not in src_port` };
  if (policy.dstPort.length && !inRanges(packet.dport, policy.dstPort)) return { matched: false, why: `dport ${packet.dport ?? '(none given)'} is not in dst_port` };
  return { matched: true, why: 'every selector matches' };
}
