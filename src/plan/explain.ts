/**
 * Why a new connection goes where it goes: the planner's own list of
 * decisions (Plan.steps, the list the nft and ip renderers turn into rules)
 * walked with one packet, in order. Pure. (`multiwan explain` adds the
 * kernel's own answer from `ip route get`.)
 */
import type { Config } from '../config/types.js';
import { parseAddress, prefixContains, type Family } from '../net/address.js';
import type { LinkStates } from '../state/types.js';
import { isUp } from '../state/types.js';
import { sourceBucket } from './jhash.js';
import type { NftPolicy, Plan, Step } from './types.js';

export interface Packet {
  src: string;
  dst: string;
  /** Canonical protocol name (tcp, udp, icmp, icmpv6, ...) or number. */
  protocol?: string;
  sport?: number;
  dport?: number;
  /** The interface it arrives on; absent for the router's own traffic. */
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
  | { kind: 'balance'; table: number; weights: { link: string; weight: number; tier: number }[]; why: string }
  | { kind: 'unreachable'; why: string }
  | { kind: 'none'; why: string };

export interface Explanation {
  packet: Packet;
  /** The steps met before the decision, one line each ("policies skipped: a probe of isp1"). */
  path: string[];
  policies: PolicyCheck[];
  /** The via list of the matching policy, each link with its state. */
  via?: { link: string; state: string; chosen: boolean }[];
  decision: Decision;
}

export function explainPacket(config: Config, states: LinkStates, plan: Plan, packet: Packet): Explanation {
  const family: Family = parseAddress(packet.dst)?.family ?? 4;
  const p: Packet = { ...packet, ...(packet.protocol === 'icmp' && family === 6 ? { protocol: 'icmpv6' } : {}) };
  const stateOf = (link: string) => {
    const state = states[link];
    if (!isUp(state)) return 'down';
    return plan.inService.includes(link) ? 'in service' : `out of service (${state.healthReason ?? 'unhealthy'})`;
  };
  const path: string[] = [];
  const policies: PolicyCheck[] = [];
  let via: Explanation['via'];
  const done = (decision: Decision): Explanation => ({ packet: p, path, policies, ...(via ? { via } : {}), decision });

  const inbound = p.iif ? plan.nft.links.find((l) => l.iface === p.iif) : undefined;
  if (inbound) {
    const table = plan.steps.find((s) => s.kind === 'mark' && s.link === inbound.name);
    return done({ kind: 'link', link: inbound.name, mark: inbound.mark, table: table?.kind === 'mark' ? table.table : 0, why: `it arrives on ${inbound.iface}, a WAN link: the connection is pinned to ${inbound.name}, and its replies leave by it` });
  }

  let mark: { value: number; by: string } | undefined;
  let policiesSkipped = false;
  for (const step of plan.steps) {
    switch (step.kind) {
      case 'lan': {
        const prefix = step.prefixes[family].find((q) => prefixContains(q, p.dst));
        if (prefix) return done({ kind: 'lan', why: `${p.dst} is in lan ${prefix}: never marked; main's route decides` });
        break;
      }
      case 'probes': {
        const probe = p.iif ? undefined : step.pairs.find((pair) => pair.family === family && pair.local === p.src && pair.targets.includes(p.dst));
        if (probe) {
          policiesSkipped = true;
          path.push(`a health probe of ${probe.link} (${probe.local} to ${p.dst}): policies do not apply`);
        }
        break;
      }
      case 'policy': {
        if (policiesSkipped || mark) break;
        const check = matchPolicy(step.policy, p, family);
        policies.push({ name: step.policy.name, ...check });
        if (!check.matched) break;
        const policy = config.policies.find((q) => q.name === step.policy.name);
        const action = step.policy.action;
        const chosen = action.kind === 'link' ? action.link : undefined;
        via = (policy?.via ?? []).map((link) => ({ link, state: stateOf(link), chosen: link === chosen }));
        if (action.kind === 'link') {
          const skipped = via.slice(0, via.findIndex((v) => v.chosen)).map((v) => `${v.link} is ${v.state}`);
          mark = { value: action.mark, by: `policy "${step.policy.name}" sends it via ${action.link}` + (skipped.length ? ` (${skipped.join(', ')})` : ', the first of its links') };
        } else if (action.kind === 'unreachable') {
          return done({ kind: 'unreachable', why: `policy "${step.policy.name}": none of ${policy?.via.join(', ')} is in service, and its fallback is "unreachable": rejected` });
        } else {
          path.push(`policy "${step.policy.name}": none of ${policy?.via.join(', ')} is in service; fallback "default"`);
          policiesSkipped = true;
        }
        break;
      }
      case 'main':
        if (!mark && !policiesSkipped && config.balance === 'source' && p.iif) {
          const bucket = sourceMark(plan, p.src, family);
          if (bucket) mark = bucket;
        }
        break;
      case 'mark':
        if (mark && step.mark === mark.value && step.families.includes(family)) {
          return done({ kind: 'link', link: step.link, mark: step.mark, table: step.table, why: mark.by });
        }
        break;
      case 'source': {
        if (step.family !== family) break;
        const from = step.from.find((q) => prefixContains(q, p.src));
        if (from) {
          const what = from.includes('/') ? `in ${from}, a prefix of ${step.link}` : `${step.link}'s address`;
          return done({ kind: 'link', link: step.link, table: step.table, why: `its source ${p.src} is ${what}: it leaves by ${step.link}` });
        }
        break;
      }
      case 'dns':
        if (step.family === family && step.servers.includes(p.dst)) {
          return done({ kind: 'link', link: step.link, table: step.table, why: `${p.dst} is a DNS server of ${step.link}: reached through it` });
        }
        break;
      case 'balance': {
        if (step.family !== family) break;
        let best: { prefix: string; link: string; length: number } | undefined;
        for (const route of step.routes) {
          const length = Number(route.prefix.split('/')[1] ?? (family === 6 ? 128 : 32));
          if ((!best || length > best.length) && prefixContains(route.prefix, p.dst)) best = { ...route, length };
        }
        if (best) return done({ kind: 'link', link: best.link, table: step.table, why: `${p.dst} is in ${best.prefix}, a destination route of ${best.link}` });
        const reason = policies.some((c) => c.matched) || policiesSkipped ? path.at(-1) ?? 'no policy decides' : policies.length ? 'no policy matches' : 'no policies';
        if (!step.links.length) return done({ kind: 'none', why: `${reason}; no link is in service in IPv${family}: main's own default route (if any) decides` });
        const weights = step.links.map((l) => ({ link: l.link, weight: l.weight, tier: l.tier }));
        const tier = step.links[0]!.tier;
        return done({
          kind: 'balance',
          table: step.table,
          weights,
          why: `${reason}: the balanced default route${tier > 1 ? ` (tier ${tier}: every link of a lower tier is out of service)` : ''}, ${weights.map((w) => `${w.link} weight ${w.weight}`).join(', ')}; the kernel hashes each connection onto one of them, and the link it picks is pinned`,
        });
      }
    }
  }
  return done({ kind: 'none', why: `no link is up in IPv${family}: main's own routes decide` });
}

/** `balance = "source"`: the link of the source's hash bucket, as the nft rule computes it. */
function sourceMark(plan: Plan, src: string, family: Family): { value: number; by: string } | undefined {
  const buckets = plan.nft.sourceBuckets[family];
  if (!buckets.length) return undefined;
  // A host of a delegated prefix is not hashed: its link's `from` rule decides (render-nft.ts).
  if (family === 6 && plan.steps.some((s) => s.kind === 'source' && s.family === 6 && s.from.some((p) => p.includes('/') && prefixContains(p, src)))) return undefined;
  const bucket = sourceBucket(src, family, buckets.length);
  const value = buckets[bucket]!;
  const link = plan.nft.links.find((l) => l.mark === value)?.name ?? '?';
  return { value, by: `balance = "source": ${src} hashes to bucket ${bucket}, which goes to ${link}` };
}

/** Whether one policy's selectors match a packet, as its nft rule does. */
export function matchPolicy(policy: NftPolicy, packet: Packet, family: Family): { matched: boolean; why: string } {
  if (policy.iif.length && !(packet.iif && policy.iif.includes(packet.iif))) {
    return { matched: false, why: packet.iif ? `iif ${packet.iif} is not ${policy.iif.join(', ')}` : `iif: the router's own traffic has no incoming interface (${policy.iif.join(', ')} wanted)` };
  }
  const named = (list: { 4: string[]; 6: string[] }) => list[4].length + list[6].length > 0;
  if (named(policy.src) && !policy.src[family].some((q) => prefixContains(q, packet.src))) {
    return { matched: false, why: `src ${packet.src} is in none of its ${policy.src[family].length} IPv${family} src prefix(es)` };
  }
  if (named(policy.dst) && !policy.dst[family].some((q) => prefixContains(q, packet.dst))) {
    return { matched: false, why: `dst ${packet.dst} is in none of its ${policy.dst[family].length} IPv${family} dst prefix(es)` };
  }
  const protocol = packet.protocol;
  if (policy.protocol) {
    const wanted = policy.protocol === 'icmp' ? (family === 6 ? 'icmpv6' : 'icmp') : policy.protocol;
    if (protocol !== wanted) return { matched: false, why: `protocol ${protocol ?? '(none given)'} is not ${policy.protocol}` };
  } else if ((policy.srcPort.length || policy.dstPort.length) && protocol !== 'tcp' && protocol !== 'udp') {
    return { matched: false, why: `its ports need tcp or udp, not ${protocol ?? '(no protocol given)'}` };
  }
  const inRanges = (port: number | undefined, ranges: NftPolicy['srcPort']) => port !== undefined && ranges.some((r) => port >= r.from && port <= r.to);
  if (policy.srcPort.length && !inRanges(packet.sport, policy.srcPort)) return { matched: false, why: `sport ${packet.sport ?? '(none given)'} is not in src_port` };
  if (policy.dstPort.length && !inRanges(packet.dport, policy.dstPort)) return { matched: false, why: `dport ${packet.dport ?? '(none given)'} is not in dst_port` };
  return { matched: true, why: 'every selector matches' };
}

export type { Step };
