/**
 * Link health from a stream of window results. Pure.
 *
 * `down` failed windows in a row take a healthy link out of service, `up`
 * good windows in a row put it back; anything else keeps the state. A window
 * that agrees with the current state resets the streak.
 *
 * Why the defaults (interval 200 ms, count 3, down 3, up 3) and two or more
 * targets. A window is OK when any probe to any target got a reply in it.
 * With 20% random loss on each direction of the ISP path, a probe fails with
 *   p = 1 - 0.8^2 = 0.36.
 * Two targets, count = 3: a window holds 6 probes and fails with
 *   0.36^6 = 0.00218 (2.2e-3);
 *   down = 3 in a row: 0.00218^3 = 1.03e-8 per window;
 *   120 s at 5 windows/s (600 windows): 6.2e-6 that the link is ever taken
 *   out of service (exact, Markov chain: 6.15e-6; over a whole day of such
 *   loss, 432 000 windows: 0.44%).
 * One target, count = 3: 0.36^3 = 0.0467 per window, 1.02e-4 for three in a
 *   row, 5.6% over 600 windows (the union bound 600 x 1.02e-4 gives 6.1%), and
 *   a near certainty over a day. Configure two targets or more; three make a
 *   day of 20% loss safe too (4.5e-7).
 * These assume each window holds the replies of exactly count x targets
 * probes. RTT jitter moves a reply across a window edge now and then, so a
 * window holds 5 or 7 (on average 6); if half the windows held 5 and half 7,
 * the 600-window figure would be 2.4e-5, still negligible.
 *
 * Detection of a dead link: the window in which it dies may still be OK, then
 * `down` windows must fail, so the link leaves service at most
 * (down + 1) x interval = 800 ms after the last reply arrived (a reply already
 * in flight when the path dies can arrive up to one RTT later).
 */

export interface DetectorSettings {
  down: number;
  up: number;
}

export interface Detector {
  healthy: boolean;
  /** Consecutive windows contradicting `healthy`. */
  streak: number;
}

export function newDetector(healthy: boolean): Detector {
  return { healthy, streak: 0 };
}

/** The state after one more window. Thresholds below 1 act as 1. */
export function observeWindow(detector: Detector, settings: DetectorSettings, ok: boolean): Detector {
  if (ok === detector.healthy) return { healthy: detector.healthy, streak: 0 };
  const streak = detector.streak + 1;
  const needed = detector.healthy ? settings.down : settings.up;
  return streak >= needed ? { healthy: !detector.healthy, streak: 0 } : { healthy: detector.healthy, streak };
}
