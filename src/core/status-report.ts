/**
 * `multiwan status` as data: every configured link (state and why, since
 * when, addresses, numbers, what it carries) and every policy with its
 * current decision and hits. Pure: built from what read-status gathered.
 * The text, JSON and Prometheus forms are renderings of this one report.
 */
import type { Counter } from '../plan/render-nft.js';
import type { Family } from '../net/address.js';
import type { Config } from '../config/types.js';
import { linkNumbers } from '../plan/assign-ids.js';
import { hex } from '../plan/hex.js';
import { linkCounter, policyCounter } from '../plan/render-nft.js';
import type { Plan } from '../plan/types.js';
import type { LinkHealth } from '../state/state-store.js';
import { isUp, type LinkIds, type LinkStates } from '../state/types.js';

export interface LinkReport {
  name: string;
  interface: string;
  kind?: string;
  tier: number;
  weight: number;
  state: 'in service' | 'out of service' | 'down' | 'never seen';
  /** Why it is out of service (probes, carrier) or down (vanished, ...). */
  reason?: string;
  since?: string;
  /** The families in whose balanced default it is now (carrying new unpinned connections): 4, 6. */
  balanced: Family[];
  ipv4?: { address: string; peer?: string; gateway?: string };
  ipv6?: { address?: string; peer?: string; gateway?: string; prefixes: string[] };
  table?: number;
  mark?: string;
  /** Connections pinned to it now (conntrack); absent when conntrack could not be read. */
  connections?: { ipv4: number; ipv6: number };
  /** Packets and bytes received and sent on its interface (nft counters, since the table was created). */
  traffic?: { rx: Counter; tx: Counter };
  probe?: { rttMs?: number; loss: number; updated: string };
}

export interface PolicyReport {
  name: string;
  via: string[];
  /** Where new matching connections go now: a link, or the fallback. */
  now: string;
  hits?: number;
}

export interface StatusReport {
  config: string;
  links: LinkReport[];
  policies: PolicyReport[];
  inService: string[];
  /** What the next event will find (a link that vanished), one line each. */
  notes: string[];
}

export interface StatusInputs {
  config: Config;
  states: LinkStates;
  ids: LinkIds;
  plan: Plan;
  notes: string[];
  health: Readonly<Record<string, LinkHealth | undefined>>;
  counters?: Record<string, Counter>;
  connections?: Record<4 | 6, Map<number, number>>;
}

export function buildStatusReport(input: StatusInputs): StatusReport {
  const { config, states, ids, plan } = input;
  const balancedIn = (name: string): Family[] =>
    plan.steps.flatMap((s) => (s.kind === 'balance' && s.links.some((l) => l.link === name) ? [s.family] : []));
  const links = config.links.map((link): LinkReport => {
    const state = states[link.name];
    const id = ids[link.name];
    const numbers = id === undefined ? undefined : linkNumbers(config, id);
    const up = isUp(state);
    const inService = plan.inService.includes(link.name);
    const probe = input.health[link.name];
    const counter = (name: string) => input.counters?.[name] ?? { packets: 0, bytes: 0 };
    return {
      name: link.name,
      interface: state?.iface ?? link.interface,
      ...(state?.kind ? { kind: state.kind } : {}),
      tier: link.tier,
      weight: link.weight,
      state: !state ? 'never seen' : !up ? 'down' : inService ? 'in service' : 'out of service',
      ...(up && !inService ? { reason: state.healthReason ?? 'unhealthy' } : {}),
      ...(state ? { since: up && state.healthy === false && state.healthSince ? state.healthSince : state.since } : {}),
      balanced: balancedIn(link.name),
      ...(state?.v4 ? { ipv4: { address: state.v4.local, ...(state.v4.peer ? { peer: state.v4.peer } : {}), ...(state.v4.gateway ? { gateway: state.v4.gateway } : {}) } } : {}),
      ...(state?.v6
        ? { ipv6: { ...(state.v6.local ? { address: state.v6.local } : {}), ...(state.v6.peer ? { peer: state.v6.peer } : {}), ...(state.v6.gateway ? { gateway: state.v6.gateway } : {}), prefixes: [...link.prefixes6, ...(state.v6.prefixes ?? [])] } }
        : {}),
      ...(numbers ? { table: numbers.table, mark: hex(numbers.mark) } : {}),
      ...(numbers && input.connections ? { connections: { ipv4: input.connections[4].get(numbers.mark) ?? 0, ipv6: input.connections[6].get(numbers.mark) ?? 0 } } : {}),
      ...(input.counters && up ? { traffic: { rx: counter(linkCounter('in', link.name)), tx: counter(linkCounter('out', link.name)) } } : {}),
      ...(probe?.probing && up ? { probe: { ...(probe.lastRttMs !== undefined ? { rttMs: probe.lastRttMs } : {}), loss: probe.loss, updated: probe.updated } } : {}),
    };
  });
  const policies = plan.steps.flatMap((s) => (s.kind === 'policy' ? [s.policy] : []));
  return {
    config: config.file,
    links,
    policies: config.policies.map((p) => {
      const action = policies.find((q) => q.name === p.name)?.action;
      return {
        name: p.name,
        via: p.via,
        now: !action ? 'nothing (no link is up)' : action.kind === 'link' ? action.link : `fallback ${action.kind}`,
        ...(input.counters ? { hits: input.counters[policyCounter(p.name)]?.packets ?? 0 } : {}),
      };
    }),
    inService: plan.inService,
    notes: input.notes,
  };
}

/** 0: every configured link in service; 1: some are not; 2: none is. */
export function statusExitCode(report: StatusReport): number {
  const serving = report.links.filter((l) => l.state === 'in service').length;
  return serving === report.links.length ? 0 : serving === 0 ? 2 : 1;
}
