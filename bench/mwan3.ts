// mwan3's health tracking with its defaults, for comparison in
// bench/monitor.ts. Pure arithmetic, nothing measured.
//
// Where the defaults come from: openwrt/packages, net/mwan3 (2.11.x),
// files/usr/sbin/mwan3track. The `config_get` fallbacks used when
// /etc/config/mwan3 sets nothing:
//   reliability 1, count 1, timeout 4, interval 10, down 5, up 5,
//   failure_interval = interval, recovery_interval = interval.
// The shipped files/etc/config/mwan3 (2.11.x) sets no timing option for its
// interfaces (only track_ip x 4 and reliability 2 for `wan`), so these
// fallbacks are what a default install runs. (Older shipped configs set
// interval 5, timeout 2, down 3, up 8.)
//
// The loop, per interface: ping each track_ip in turn with
// `ping -c $count -W $timeout` until `reliability` of them answered; a round
// with fewer answers is a failure: score-- (score starts at down + up = 10);
// the interface is declared offline (ifdown hotplug: routes and rules change)
// when score reaches `up`, i.e. after `down` failed rounds in a row, because a
// good round resets score to down + up. Then it sleeps interval (or
// failure_interval after a failure) and starts the next round.

export const MWAN3_DEFAULTS = {
  reliability: 1,
  count: 1,
  timeoutS: 4,
  intervalS: 10,
  failureIntervalS: 10,
  down: 5,
  up: 5,
} as const;

export const MWAN3_SOURCE =
  'openwrt/packages net/mwan3/files/usr/sbin/mwan3track (config_get fallbacks, 2.11.x); net/mwan3/files/etc/config/mwan3 sets no timing options';

export interface Mwan3Detection {
  /** Dies just after a good round: a full sleep first, then `down` failing rounds with sleeps between. */
  worstS: number;
  /** Dies just before a round starts. */
  bestS: number;
  arithmetic: string;
}

/** Silent death (no reply at all), `targets` track_ips, default settings. */
export function mwan3SilentDeath(targets = 1): Mwan3Detection {
  const d = MWAN3_DEFAULTS;
  // A failing round pings every target (none reaches `reliability`), each waiting the full timeout.
  const failingRoundS = targets * d.count * d.timeoutS;
  const bestS = d.down * failingRoundS + (d.down - 1) * d.failureIntervalS;
  const worstS = d.intervalS + bestS;
  const perRound = targets === 1 ? `timeout ${d.timeoutS} s` : `${targets} targets x timeout ${d.timeoutS} s`;
  return {
    worstS,
    bestS,
    arithmetic:
      `interval ${d.intervalS} s + down ${d.down} x ${perRound} + (down-1) ${d.down - 1} x failure_interval ${d.failureIntervalS} s` +
      ` = ${worstS} s${targets === 1 ? ' = down x (interval + timeout)' : ''} (best case ${bestS} s)`,
  };
}

/**
 * Probability that mwan3 with its defaults and one track_ip declares a link
 * offline within `seconds` when each direction loses `loss` of packets at
 * random: `down` failed rounds in a row, a failed round taking timeout +
 * failure_interval and a good one interval. Exact over whole seconds.
 */
export function mwan3FalseOffline(loss: number, seconds: number): { p: number; perRound: number; rounds: string } {
  const d = MWAN3_DEFAULTS;
  const q = 1 - (1 - loss) ** 2; // request or reply lost
  const failS = d.timeoutS + d.failureIntervalS;
  const okS = d.intervalS;
  // dist[t][k]: probability of being at time t with k failed rounds in a row (not yet offline)
  let absorbed = 0;
  const dist: Float64Array[] = Array.from({ length: seconds + 1 }, () => new Float64Array(d.down));
  dist[0]![0] = 1;
  for (let t = 0; t <= seconds; t++) {
    for (let k = 0; k < d.down; k++) {
      const p = dist[t]![k]!;
      if (p === 0) continue;
      // A failing round ends after its timeout (the verdict comes then, before the sleep).
      if (t + d.timeoutS <= seconds) {
        if (k + 1 === d.down) absorbed += p * q;
        else if (t + failS <= seconds) dist[t + failS]![k + 1]! += p * q;
      }
      if (t + okS <= seconds) dist[t + okS]![0]! += p * (1 - q);
    }
  }
  const roundsMin = Math.floor(seconds / failS);
  const roundsMax = Math.floor(seconds / okS);
  return { p: absorbed, perRound: q, rounds: `${roundsMin}-${roundsMax}` };
}
