/**
 * The one pure function every change of a link's recorded state goes through:
 * (what is recorded, an event or a verdict, the live interfaces) -> the next
 * state, the log lines worth saying, and the transitions to announce.
 *
 * The record is only a cache: it is first checked against the kernel. A link
 * recorded up whose interface is gone (pppd killed by SIGKILL runs no
 * ip-down), is administratively down, or no longer holds the recorded address
 * is down, whatever the record said. Then the input applies:
 * - an event brings families up or down; what the caller did not say (a
 *   manual `ip-up ppp1`, `multiwan link up wg0`) is read from the interface;
 * - a verdict of the monitor takes an up link out of service or puts it back,
 *   unless the link went down and up since the verdict's probes began;
 * - a refresh only checks the record against the kernel.
 * A link that comes (back) up is in service until the monitor finds
 * otherwise; an event for a link already up (pppd renegotiating, a DHCP
 * renewal) keeps the monitor's verdict.
 */
import type { Config, LinkConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';
import type { LinkEvent } from '../events/types.js';
import type { Family } from '../net/address.js';
import { liveAddresses, holds, type LiveInterface, type LiveInterfaces } from './live.js';
import { familyState, isUp, type FamilyState, type LinkState, type LinkStates } from './types.js';

export type LinkInput =
  | { kind: 'event'; event: LinkEvent }
  | { kind: 'verdict'; healthy: boolean; reason: string; why?: string; expect?: { since: string } }
  | { kind: 'refresh' };

/** What notify hooks and the log hear about: the link as a whole. */
export interface Transition {
  link: string;
  iface: string;
  event: 'up' | 'down' | 'in-service' | 'out-of-service';
  reason: string;
}

export interface NextState {
  /** undefined: never seen, and still nothing to record. */
  state: LinkState | undefined;
  /** One line each, for the log: what the check against the kernel found. */
  notes: string[];
  transitions: Transition[];
  changed: boolean;
}

/** Every configured link's next state: `input` for the link named `target`, a refresh for the others. */
export function nextLinkStates(
  config: Config,
  recorded: LinkStates,
  target: string | undefined,
  input: LinkInput,
  live: LiveInterfaces,
  now: string,
): { states: Record<string, LinkState>; changed: LinkState[]; notes: string[]; transitions: Transition[] } {
  const states: Record<string, LinkState> = { ...recorded };
  const changed: LinkState[] = [];
  const notes: string[] = [];
  const transitions: Transition[] = [];
  for (const link of config.links) {
    const next = nextLinkState(link, recorded[link.name], link.name === target ? input : { kind: 'refresh' }, live, now);
    notes.push(...next.notes);
    transitions.push(...next.transitions);
    if (!next.changed || !next.state) continue;
    states[link.name] = next.state;
    changed.push(next.state);
  }
  return { states, changed, notes, transitions };
}

export function nextLinkState(
  link: LinkConfig,
  recorded: LinkState | undefined,
  input: LinkInput,
  live: LiveInterfaces,
  now: string,
): NextState {
  const notes: string[] = [];
  const checked = checkAgainstKernel(link, recorded, live, now, notes);
  let vanished = isUp(recorded) && !isUp(checked);
  let state = applyInput(link, checked, input, live, now, notes);
  // A down event arrives after the interface lost what it takes down (ifupdown's post-down,
  // dhclient's RELEASE): when the event alone gives the same state, it is the event's doing,
  // not a vanishing, and says nothing more than the event.
  if (input.kind === 'event' && input.event.action === 'down' && recorded && input.event.iface === recorded.iface) {
    const direct = applyInput(link, recorded, input, live, now, []);
    if (JSON.stringify(direct) === JSON.stringify(state)) {
      notes.length = 0;
      vanished = false;
      state = direct;
    }
  }
  const transitions = describe(recorded, state, input, vanished);
  return { state, notes, transitions, changed: JSON.stringify(recorded) !== JSON.stringify(state) };
}

/** The record as the kernel allows it: families whose interface or address is gone are down. */
function checkAgainstKernel(
  link: LinkConfig,
  recorded: LinkState | undefined,
  live: LiveInterfaces,
  now: string,
  notes: string[],
): LinkState | undefined {
  if (!isUp(recorded)) return recorded;
  const iface = live.get(recorded.iface);
  const who = `${link.name}: ${recorded.iface}`;
  if (!iface) {
    notes.push(`${who} vanished without ${downHook(recorded)}; taken down`);
    return wentDown(recorded, now);
  }
  if (!iface.up) {
    notes.push(`${who} is administratively down; taken down`);
    return wentDown(recorded, now);
  }
  if (recorded.ifindex !== undefined && iface.index !== undefined && recorded.ifindex !== iface.index) {
    // pppd killed and started again before any event ran: the same name and maybe the same
    // address, but another session, whose verdicts and connections are not the old one's.
    notes.push(`${who} was replaced by a new interface (ifindex ${recorded.ifindex} -> ${iface.index}) without ${downHook(recorded)}; the old one taken down`);
    return wentDown(recorded, now);
  }
  let state = recorded;
  for (const family of [4, 6] as const) {
    const fs = family === 4 ? state.v4 : state.v6;
    if (!fs?.local || holds(iface, fs.local)) continue;
    state = withFamily(state, family, undefined);
    notes.push(`${who} no longer holds ${fs.local}; ${isUp(state) ? `its IPv${family} is taken down` : 'taken down'}`);
  }
  return isUp(state) ? state : wentDown(state, now);
}

function applyInput(
  link: LinkConfig,
  state: LinkState | undefined,
  input: LinkInput,
  live: LiveInterfaces,
  now: string,
  notes: string[],
): LinkState | undefined {
  if (input.kind === 'refresh') return state;
  if (input.kind === 'verdict') {
    if (!isUp(state) || (state.healthy !== false) === input.healthy) return state;
    if (input.expect && state.since !== input.expect.since) return state;
    const { healthReason: _old, ...rest } = state;
    return { ...rest, healthy: input.healthy, ...(input.healthy ? {} : { healthReason: input.reason }), healthSince: now };
  }
  const event = input.event;
  if (event.action === 'down') {
    let next = state;
    if (next?.pending6 && event.families.includes(6)) {
      const { pending6: _dropped, ...rest } = next;
      next = rest;
    }
    if (!isUp(next)) return next;
    // An IPv6 lease still waiting for its router outlives an IPv4 release.
    const waiting = next.pending6;
    for (const family of event.families) next = withFamily(next, family, undefined);
    return isUp(next) ? next : { ...wentDown(next, now), ...(waiting ? { pending6: waiting } : {}) };
  }

  const iface = live.get(event.iface);
  if (!iface || !iface.up) {
    notes.push(`${link.name}: ${event.iface} ${iface ? 'is administratively down' : 'does not exist'}; not brought up`);
    return state;
  }
  const wasUp = isUp(state);
  const sameIface = wasUp && state.iface === event.iface;
  // An IPv6 lease waiting for its router on this interface waits on through events of the other family.
  const waiting = state?.iface === event.iface ? state.pending6 : undefined;
  let next: LinkState = sameIface
    ? { ...state, kind: event.kind, ...(state.ifindex === undefined && iface.index !== undefined ? { ifindex: iface.index } : {}) }
    : { link: link.name, iface: event.iface, ...(iface.index !== undefined ? { ifindex: iface.index } : {}), kind: event.kind, since: now, ...(waiting ? { pending6: waiting } : {}) };
  // No family said (`multiwan link up wg0`): every family the interface has a global address in.
  const families = event.families.length ? event.families : ([4, 6] as const).filter((f) => liveAddresses(iface, f).length);
  if (!families.length) {
    throw new ConfigError(`interface ${event.iface} has no global address (ip addr show dev ${event.iface}); bring it up first, or give one with --local`);
  }
  let pending: FamilyState | undefined;
  for (const family of families) {
    // IPv6 learned piecemeal: what was pending (a lease that came before the router) counts as known.
    const previous = (sameIface ? familyState(state, family) : undefined) ?? (family === 6 && state?.iface === event.iface ? state.pending6 : undefined);
    const fs = familyFromEvent(link, event, family, iface, previous, notes);
    if (fs && 'pending' in fs) pending = fs.pending;
    else if (fs) next = withFamily(next, family, fs);
  }
  // Only an IPv6 event decides what waits: routed, still waiting, or gone.
  if (next.v6 || (families.includes(6) && !pending)) {
    const { pending6: _routed, ...rest } = next;
    next = rest;
  } else if (pending) next = { ...next, pending6: pending };
  if (isUp(next)) return next;
  // Nothing routed yet; a pending IPv6 lease is still worth recording.
  if (!pending) return state;
  const base = state ?? { link: link.name, iface: event.iface, kind: event.kind, since: now };
  return { ...base, iface: event.iface, kind: event.kind, pending6: pending };
}

/**
 * What the event says of one family, over what was known of it (a DHCPv6
 * renewal does not repeat the router an advertisement gave), completed from
 * the interface; undefined when the interface does not hold it.
 */
function familyFromEvent(
  link: LinkConfig,
  event: LinkEvent,
  family: Family,
  iface: LiveInterface,
  previous: FamilyState | undefined,
  notes: string[],
): FamilyState | { pending: FamilyState } | undefined {
  const said = compact((family === 4 ? event.v4 : event.v6) ?? {});
  // Another address starts the family afresh, but an IPv6 router is the link's, not the address's.
  const fresh = !!said.local && !!previous?.local && said.local !== previous.local;
  const kept: FamilyState = family === 6 && previous ? compact({ gateway: previous.gateway, peer: previous.peer }) : {};
  const known: FamilyState = fresh ? { ...kept, ...said } : { ...previous, ...said };
  const global = liveAddresses(iface, family);
  const who = `${link.name}: ${event.iface}`;
  if (said.local && !holds(iface, said.local)) {
    notes.push(`${who} does not hold ${said.local} (${event.reason}: it changed or went before this event ran); ${family === 4 ? 'not brought up' : 'its IPv6 is not brought up'}`);
    return undefined;
  }
  if (family === 4) {
    const first = known.local && holds(iface, known.local) ? { local: known.local, peer: undefined } : global[0];
    if (!first) {
      throw new ConfigError(
        `interface ${event.iface} has no IPv4 address (ip -4 addr show dev ${event.iface}); bring it up first, or give the address`,
      );
    }
    return compact({ ...known, local: first.local, ...(known.peer || known.gateway || !first.peer ? {} : { peer: first.peer }) });
  }
  const local = known.local && holds(iface, known.local) ? known.local : global[0]?.local;
  // The next hop: the peer (pppd), the gateway said, or the router main learned from advertisements.
  const gateway = known.gateway ?? (known.peer ? undefined : iface.routers6[0]);
  if (!known.peer && !gateway && !iface.pointToPoint) {
    notes.push(`${who} has no IPv6 router yet (no gateway given, no router advertisement); its IPv6 waits for one`);
    return { pending: compact({ ...known, ...(local ? { local } : {}) }) };
  }
  return compact({ ...known, ...(local ? { local } : {}), ...(gateway ? { gateway } : {}) });
}

function describe(before: LinkState | undefined, after: LinkState | undefined, input: LinkInput, vanished: boolean): Transition[] {
  const out: Transition[] = [];
  const of = (state: LinkState) => ({ link: state.link, iface: state.iface });
  const reason = input.kind === 'refresh' ? 'refresh' : input.kind === 'event' ? input.event.reason : input.reason;
  if (isUp(before) && !isUp(after)) out.push({ ...of(before), event: 'down', reason: vanished ? 'vanished' : reason });
  else if (!isUp(before) && isUp(after)) out.push({ ...of(after), event: 'up', reason });
  else if (isUp(before) && isUp(after) && (before.healthy !== false) !== (after.healthy !== false)) {
    out.push({ ...of(after), event: after.healthy === false ? 'out-of-service' : 'in-service', reason });
  }
  return out;
}

function downHook(state: LinkState): string {
  return state.kind === 'ppp' ? 'ip-down' : state.kind === 'dhcp' ? 'a DHCP release' : state.kind === 'static' ? 'ifdown' : 'a down event';
}

/** A link that went down: nothing of either family, no verdict. */
function wentDown(state: LinkState, now: string): LinkState {
  return { link: state.link, iface: state.iface, ...(state.kind ? { kind: state.kind } : {}), since: now };
}

function withFamily(state: LinkState, family: Family, fs: FamilyState | undefined): LinkState {
  const key = family === 4 ? 'v4' : 'v6';
  const { [key]: _old, ...rest } = state;
  return fs ? ({ ...rest, [key]: fs } as LinkState) : (rest as LinkState);
}

function compact<T extends FamilyState>(fs: T): T {
  return Object.fromEntries(Object.entries(fs).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))) as T;
}

