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
import type { LinkConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';
import type { LinkEvent } from '../events/types.js';
import type { Family } from '../net/address.js';
import { liveAddresses, holds, type LiveInterface, type LiveInterfaces } from './live.js';
import { isUp, type FamilyState, type LinkState } from './types.js';

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

export function nextLinkState(
  link: LinkConfig,
  recorded: LinkState | undefined,
  input: LinkInput,
  live: LiveInterfaces,
  now: string,
): NextState {
  const notes: string[] = [];
  const checked = checkAgainstKernel(link, recorded, live, now, notes);
  const vanished = isUp(recorded) && !isUp(checked);
  const state = applyInput(link, checked, input, live, now, notes);
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
    if (!isUp(next)) return next;
    for (const family of event.families) next = withFamily(next, family, undefined);
    return isUp(next) ? next : wentDown(next, now);
  }

  const iface = live.get(event.iface);
  if (!iface || !iface.up) {
    notes.push(`${link.name}: ${event.iface} ${iface ? 'is administratively down' : 'does not exist'}; not brought up`);
    return state;
  }
  const wasUp = isUp(state);
  let next: LinkState = wasUp && state.iface === event.iface
    ? { ...state, kind: event.kind }
    : { link: link.name, iface: event.iface, kind: event.kind, since: now };
  for (const family of event.families) {
    const fs = familyFromEvent(link, event, family, iface, notes);
    if (fs) next = withFamily(next, family, fs);
  }
  return isUp(next) ? next : state;
}

/** What the event says of one family, completed from the interface; undefined when the interface does not hold it. */
function familyFromEvent(link: LinkConfig, event: LinkEvent, family: Family, iface: LiveInterface, notes: string[]): FamilyState | undefined {
  const said = (family === 4 ? event.v4 : event.v6) ?? {};
  const global = liveAddresses(iface, family);
  if (family === 4) {
    if (said.local) {
      if (!holds(iface, said.local)) {
        notes.push(`${link.name}: ${event.iface} does not hold ${said.local} (it changed before this event ran); not brought up`);
        return undefined;
      }
      return compact({ ...said, local: said.local });
    }
    const first = global[0];
    if (!first) {
      throw new ConfigError(
        `interface ${event.iface} has no IPv4 address (ip -4 addr show dev ${event.iface}); bring it up first, or give the address`,
      );
    }
    return compact({ ...said, local: first.local, ...(said.peer || !first.peer ? {} : { peer: first.peer }) });
  }
  if (said.local && !holds(iface, said.local)) {
    notes.push(`${link.name}: ${event.iface} does not hold ${said.local}; its IPv6 is not brought up`);
    return undefined;
  }
  const local = said.local ?? global[0]?.local;
  if (!said.peer && !said.gateway) {
    const peer = global.find((a) => a.peer)?.peer;
    if (!peer && !local) {
      notes.push(`${link.name}: ${event.iface} has no IPv6 gateway or peer; its IPv6 is not brought up`);
      return undefined;
    }
  }
  return compact({ ...said, ...(local ? { local } : {}) });
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

