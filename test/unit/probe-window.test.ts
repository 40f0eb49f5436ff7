import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePingLine } from '../../src/monitor/parse-ping-line.js';
import {
  checkProbeSettings,
  closeWindow,
  emptyTally,
  newPingSeqState,
  nextDeadline,
  pingProbeEvents,
  probeSpacingMs,
  tallyProbe,
  type ProbeEvent,
  type ProbeSettings,
  type WindowResult,
} from '../../src/monitor/probe-window.js';

const sent = (probes = 1): ProbeEvent => ({ kind: 'sent', probes });
const reply = (rttMs: number): ProbeEvent => ({ kind: 'reply', rttMs });

describe('tallyProbe + closeWindow', () => {
  it.each<[string, ProbeEvent[], number, WindowResult]>([
    ['nothing happened: failed', [], 200, { ok: false, at: 200, sent: 0, replies: 0 }],
    ['probes sent, no reply: failed', [sent(), sent(), sent(2)], 400, { ok: false, at: 400, sent: 4, replies: 0 }],
    ['one reply is enough', [sent(), sent(), sent(), reply(10)], 200, { ok: true, at: 200, sent: 3, replies: 1, rttMs: 10 }],
    ['mean RTT of the replies', [sent(3), reply(1), reply(2), reply(4)], 200, { ok: true, at: 200, sent: 3, replies: 3, rttMs: 2.333 }],
    ['RTT to the microsecond, no float noise', [sent(2), reply(0.1), reply(0.2)], 200, { ok: true, at: 200, sent: 2, replies: 2, rttMs: 0.15 }],
    ['a late reply to an earlier window still counts', [reply(350)], 600, { ok: true, at: 600, sent: 0, replies: 1, rttMs: 350 }],
    ['six probes to two targets, all answered', [sent(), reply(5), sent(), reply(7), sent(), reply(5), sent(), reply(7), sent(), reply(5), sent(), reply(7)], 1000, { ok: true, at: 1000, sent: 6, replies: 6, rttMs: 6 }],
  ])('%s', (_name, events, at, expected) => {
    expect(closeWindow(events.reduce(tallyProbe, emptyTally), at)).toEqual(expected);
  });

  it('an empty window has no rttMs key at all', () => {
    expect(Object.keys(closeWindow(emptyTally, 1))).toEqual(['ok', 'at', 'sent', 'replies']);
  });

  it('tallyProbe does not change its input', () => {
    const tally = emptyTally;
    tallyProbe(tally, reply(1));
    expect(tally).toEqual({ sent: 0, replies: 0, rttSumMs: 0 });
  });
});

/**
 * Feeds ping output lines through parsePingLine and pingProbeEvents; "|"
 * closes a window (at = 200, 400, ...). Returns the windows' results.
 */
function pingWindows(lines: string[]): WindowResult[] {
  let state = newPingSeqState();
  let tally = emptyTally;
  const out: WindowResult[] = [];
  for (const line of lines) {
    if (line === '|') {
      out.push(closeWindow(tally, (out.length + 1) * 200));
      tally = emptyTally;
      continue;
    }
    const next = pingProbeEvents(state, parsePingLine(line));
    state = next.state;
    tally = next.events.reduce(tallyProbe, tally);
  }
  return out;
}

const r = (seq: number, ms = 1) => `64 bytes from 198.51.100.10: icmp_seq=${seq} ttl=62 time=${ms} ms`;
const lost = (seq: number) => `no answer yet for icmp_seq=${seq}`;
const unreach = (seq: number) => `From 100.64.1.1 icmp_seq=${seq} Destination Host Unreachable`;

describe('pingProbeEvents, window by window', () => {
  it.each<[string, string[], Array<Omit<WindowResult, 'at'>>]>([
    [
      'healthy: three replies a window',
      ['PING 198.51.100.10 (198.51.100.10) from 100.64.1.2 : 56(84) bytes of data.', r(1), r(2), r(3), '|', r(4), r(5), r(6), '|'],
      [{ ok: true, sent: 3, replies: 3, rttMs: 1 }, { ok: true, sent: 3, replies: 3, rttMs: 1 }],
    ],
    [
      'dead: -O reports each probe as the next leaves',
      [r(1), lost(2), lost(3), '|', lost(4), lost(5), lost(6), '|'],
      [{ ok: true, sent: 3, replies: 1, rttMs: 1 }, { ok: false, sent: 3, replies: 0 }],
    ],
    [
      'preload 2 at start: "no answer yet" for 1 before its reply; counted once',
      [lost(1), r(1), r(2), r(3), '|'],
      [{ ok: true, sent: 3, replies: 3, rttMs: 1 }],
    ],
    [
      'bufferbloat: every reply after its "no answer yet", still one reply per probe',
      [lost(1), lost(2), r(1, 150), lost(3), r(2, 150), '|', lost(4), r(3, 150), lost(5), r(4, 150), lost(6), r(5, 150), '|'],
      [{ ok: true, sent: 3, replies: 2, rttMs: 150 }, { ok: true, sent: 3, replies: 3, rttMs: 150 }],
    ],
    [
      'an unreachable and then "no answer yet" for the same probe: one probe sent, failed',
      [unreach(1), lost(1), unreach(2), lost(2), '|'],
      [{ ok: false, sent: 2, replies: 0 }],
    ],
    [
      'a duplicate reply is not a second reply',
      [r(1), '64 bytes from 198.51.100.10: icmp_seq=1 ttl=62 time=1 ms (DUP!)', '|'],
      [{ ok: true, sent: 1, replies: 1, rttMs: 1 }],
    ],
    [
      'a gap in the sequence numbers counts the probes in it',
      [r(1), r(4), '|'],
      [{ ok: true, sent: 4, replies: 2, rttMs: 1 }],
    ],
    [
      'sequence numbers wrap at 65536',
      [r(65534), r(65535), r(0), '|', r(1), '|'],
      [{ ok: true, sent: 3, replies: 3, rttMs: 1 }, { ok: true, sent: 1, replies: 1, rttMs: 1 }],
    ],
    [
      'stderr and statistics lines change nothing',
      ['ping: sendmsg: Network is unreachable', '--- 198.51.100.10 ping statistics ---', '|'],
      [{ ok: false, sent: 0, replies: 0 }],
    ],
  ])('%s', (_name, lines, expected) => {
    const windows = pingWindows(lines);
    expect(windows.map(({ at: _at, ...rest }) => rest)).toEqual(expected);
  });

  it.each<[string, number | undefined, number, number, boolean]>([
    // name, last seq, line seq, probes counted as sent, state moves
    ['first line ever', undefined, 17, 1, true],
    ['next', 5, 6, 1, true],
    ['same (late reply)', 6, 6, 0, false],
    ['behind', 6, 3, 0, false],
    ['wrap', 65535, 0, 1, true],
    ['32767 ahead is new', 0, 32767, 32767, true],
    ['32768 ahead is behind', 0, 32768, 0, false],
  ])('%s: last %s, seq %i', (_name, last, seq, probes, moves) => {
    const state = last === undefined ? newPingSeqState() : { last };
    const { state: after, events } = pingProbeEvents(state, { kind: 'lost', seq });
    expect(events).toEqual(probes > 0 ? [{ kind: 'sent', probes }] : []);
    expect(after).toEqual(moves ? { last: seq } : state);
  });

  it('counts every probe of a run of -O output exactly once, whatever the order of first reports and late replies', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 300 }), (first, answered) => {
        // Probe i leaves; "no answer yet" for i-1 if it was not answered in time; the answer to i (if any) follows.
        let state = newPingSeqState();
        let total = emptyTally;
        answered.forEach((ok, i) => {
          const seq = (first + i) % 65536;
          const lines = ok ? [r(seq)] : [lost(seq)];
          for (const line of lines) {
            const next = pingProbeEvents(state, parsePingLine(line));
            state = next.state;
            total = next.events.reduce(tallyProbe, total);
          }
        });
        expect(total.sent).toBe(answered.length);
        expect(total.replies).toBe(answered.filter(Boolean).length);
      }),
    );
  });
});

describe('nextDeadline', () => {
  it.each([
    // previous, now, period, next
    [200, 200, 200, 400], // on time
    [200, 203, 200, 400], // a little late: no drift
    [200, 299, 200, 400], // just under half a period late: keep the grid
    [200, 301, 200, 501], // more than half a period late: a whole period from now
    [200, 1500, 200, 1700], // stalled for seconds: one full window, not a burst of short ones
    [200, 199.5, 200, 400], // fired a hair early
    [33, 34, 66.666, 99.666],
  ])('previous %d, now %d, period %d -> %d', (previous, now, period, next) => {
    expect(nextDeadline(previous, now, period)).toBeCloseTo(next, 9);
  });
});

describe('probeSpacingMs', () => {
  it.each([
    [200, 3, 66],
    [200, 2, 100],
    [500, 3, 166],
    [1000, 1, 1000],
    [100, 10, 10],
    [50, 10, 5],
  ])('interval %d, count %d -> %d ms', (intervalMs, count, spacing) => {
    expect(probeSpacingMs({ intervalMs, count })).toBe(spacing);
  });
});

describe('checkProbeSettings', () => {
  const good: ProbeSettings = { source: '100.64.1.2', targets: ['198.51.100.10', '203.0.113.2'], method: 'icmp', port: 0, intervalMs: 200, count: 3 };

  it('accepts the defaults and returns canonical addresses', () => {
    expect(checkProbeSettings(good)).toEqual({ ok: true, settings: good });
    expect(
      checkProbeSettings({ ...good, source: '2001:DB8::2', targets: ['2001:db8:0:0::1'], method: 'tcp', port: 443 }),
    ).toEqual({ ok: true, settings: { ...good, source: '2001:db8::2', targets: ['2001:db8::1'], method: 'tcp', port: 443 } });
  });

  it.each<[string, Partial<ProbeSettings>, string[]]>([
    ['bad source', { source: '100.64.1' }, ['source "100.64.1" is not an IPv4 or IPv6 address']],
    ['option-like target', { targets: ['-f'] }, ['target "-f" is not an IPv4 or IPv6 address']],
    ['host name target', { targets: ['one.one.one.one'] }, ['target "one.one.one.one" is not an IPv4 or IPv6 address']],
    ['no targets', { targets: [] }, ['no targets: give at least one address to probe (two or more, so one lost reply cannot fail a window)']],
    ['family mismatch', { targets: ['2001:db8::1'] }, ['target 2001:db8::1 is IPv6 but the source 100.64.1.2 is IPv4']],
    ['duplicate target', { targets: ['1.1.1.1', '1.1.1.1'] }, ['target 1.1.1.1 is given twice']],
    ['bad method', { method: 'udp' as 'tcp' }, ['method "udp" is not "icmp" or "tcp"']],
    ['tcp without a port', { method: 'tcp', port: 0 }, ['port 0 is not a whole number from 1 to 65535']],
    ['interval 0', { intervalMs: 0 }, ['interval 0 ms is not a whole number of ms from 1 to 600000']],
    ['fractional count', { count: 1.5 }, ['count 1.5 is not a whole number from 1 to 100']],
    ['probes too close', { intervalMs: 40, count: 10 }, ['interval 40 ms / count 10 leaves 4 ms between probes; the least is 5 ms']],
    [
      'every problem at once',
      { source: 'x', targets: ['y'], count: 0 },
      ['source "x" is not an IPv4 or IPv6 address', 'target "y" is not an IPv4 or IPv6 address', 'count 0 is not a whole number from 1 to 100'],
    ],
  ])('%s', (_name, change, problems) => {
    expect(checkProbeSettings({ ...good, ...change })).toEqual({ ok: false, problems });
  });
});
