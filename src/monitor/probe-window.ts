/**
 * Window bookkeeping for the link prober. Pure: the prober feeds probe events
 * in and gets one WindowResult per interval out.
 *
 * A window is one `intervalMs` of wall clock. It is OK when at least one probe
 * to at least one target got a reply during it. Events are counted in the
 * window in which they are *handled*, not by timestamp: the prober closes a
 * window only after the I/O already waiting has been read, and a step of the
 * wall clock (NTP on a router without RTC) cannot move a reply into the wrong
 * window. A late reply (after ping's "no answer yet") counts in the window it
 * arrives in: on a bufferbloated link every reply may be later than the probe
 * spacing, and the replies still arrive at the probing rate.
 */
import { parseAddress } from '../net/address.js';
import type { PingLine } from './parse-ping-line.js';

export interface ProbeSettings {
  /** The link's local address: every probe leaves bound to it. */
  source: string;
  targets: string[];
  method: 'icmp' | 'tcp';
  /** TCP port (method tcp only). */
  port: number;
  /** Length of a window. */
  intervalMs: number;
  /** Probes per target per window. */
  count: number;
}

export interface WindowResult {
  ok: boolean;
  /** End of the window, in ms of the prober's clock. */
  at: number;
  /** Probes sent (ICMP: new sequence numbers ping reported) in the window. */
  sent: number;
  /** Replies received in the window (a late reply may answer a probe of an earlier window). */
  replies: number;
  /** Mean RTT of the replies in the window, to the microsecond. */
  rttMs?: number;
}

export type ProbeEvent = { kind: 'sent'; probes: number } | { kind: 'reply'; rttMs: number };

export interface WindowTally {
  sent: number;
  replies: number;
  rttSumMs: number;
}

export const emptyTally: WindowTally = Object.freeze({ sent: 0, replies: 0, rttSumMs: 0 });

export function tallyProbe(tally: WindowTally, event: ProbeEvent): WindowTally {
  return event.kind === 'sent'
    ? { ...tally, sent: tally.sent + event.probes }
    : { ...tally, replies: tally.replies + 1, rttSumMs: tally.rttSumMs + event.rttMs };
}

export function closeWindow(tally: WindowTally, at: number): WindowResult {
  const result: WindowResult = { ok: tally.replies > 0, at, sent: tally.sent, replies: tally.replies };
  if (tally.replies > 0) result.rttMs = Math.round((tally.rttSumMs / tally.replies) * 1000) / 1000;
  return result;
}

/** What one ping process has reported so far: the newest sequence number (undefined: nothing yet). */
export interface PingSeqState {
  last?: number;
}

export const newPingSeqState = (): PingSeqState => ({});

/**
 * The probe events in one parsed ping line. With `-O` ping reports every
 * sequence number once the next probe leaves (a reply, or "no answer yet"),
 * so a sequence number seen for the first time is a probe sent. Numbers wrap
 * at 65536; one up to 32767 ahead of the last is new, one behind is a late
 * reply or a second report of a lost probe.
 */
export function pingProbeEvents(state: PingSeqState, line: PingLine): { state: PingSeqState; events: ProbeEvent[] } {
  if (line.kind === 'other') return { state, events: [] };
  const ahead = state.last === undefined ? 1 : (line.seq - state.last + SEQ_RANGE) % SEQ_RANGE;
  const isNew = ahead > 0 && ahead < SEQ_RANGE / 2;
  const events: ProbeEvent[] = isNew ? [{ kind: 'sent', probes: ahead }] : [];
  if (line.kind === 'reply') events.push({ kind: 'reply', rttMs: line.rttMs });
  return { state: isNew ? { last: line.seq } : state, events };
}

/**
 * When the next tick of a periodic timer is due, on a monotonic clock:
 * `previous + period` (no drift), unless the timer fired more than half a
 * period late (a stalled event loop); then a whole period from now, so the
 * next window is never cut short.
 */
export function nextDeadline(previous: number, now: number, periodMs: number): number {
  const next = previous + periodMs;
  return next - now < periodMs / 2 ? now + periodMs : next;
}

/** Milliseconds between two probes to one target: whole ms, rounded down (ping's `-i` takes whole ms). */
export function probeSpacingMs(settings: Pick<ProbeSettings, 'intervalMs' | 'count'>): number {
  return Math.floor(settings.intervalMs / settings.count);
}

export const PROBE_LIMITS = { minSpacingMs: 5, maxIntervalMs: 600_000, maxCount: 100 } as const;

/**
 * Settings with canonical addresses, or every problem found. Addresses pass
 * through parseAddress before they reach an argv.
 */
export function checkProbeSettings(
  settings: ProbeSettings,
): { ok: true; settings: ProbeSettings } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const source = parseAddress(settings.source);
  if (!source) problems.push(`source "${String(settings.source)}" is not an IPv4 or IPv6 address`);
  const targets: string[] = [];
  if (!Array.isArray(settings.targets) || settings.targets.length === 0) {
    problems.push('no targets: give at least one address to probe (two or more, so one lost reply cannot fail a window)');
  } else {
    for (const text of settings.targets) {
      const target = parseAddress(text);
      if (!target) problems.push(`target "${String(text)}" is not an IPv4 or IPv6 address`);
      else if (source && target.family !== source.family) {
        problems.push(`target ${target.address} is IPv${target.family} but the source ${source.address} is IPv${source.family}`);
      } else if (targets.includes(target.address)) problems.push(`target ${target.address} is given twice`);
      else targets.push(target.address);
    }
  }
  if (settings.method !== 'icmp' && settings.method !== 'tcp') {
    problems.push(`method "${String(settings.method)}" is not "icmp" or "tcp"`);
  }
  if (settings.method === 'tcp' && !(Number.isInteger(settings.port) && settings.port >= 1 && settings.port <= 65535)) {
    problems.push(`port ${String(settings.port)} is not a whole number from 1 to 65535`);
  }
  const { minSpacingMs, maxIntervalMs, maxCount } = PROBE_LIMITS;
  const intervalOk = Number.isInteger(settings.intervalMs) && settings.intervalMs > 0 && settings.intervalMs <= maxIntervalMs;
  const countOk = Number.isInteger(settings.count) && settings.count >= 1 && settings.count <= maxCount;
  if (!intervalOk) problems.push(`interval ${String(settings.intervalMs)} ms is not a whole number of ms from 1 to ${maxIntervalMs}`);
  if (!countOk) problems.push(`count ${String(settings.count)} is not a whole number from 1 to ${maxCount}`);
  if (intervalOk && countOk && probeSpacingMs(settings) < minSpacingMs) {
    problems.push(
      `interval ${settings.intervalMs} ms / count ${settings.count} leaves ${probeSpacingMs(settings)} ms between probes; the least is ${minSpacingMs} ms`,
    );
  }
  if (problems.length > 0 || !source) return { ok: false, problems };
  return { ok: true, settings: { ...settings, source: source.address, targets } };
}

const SEQ_RANGE = 0x10000;
