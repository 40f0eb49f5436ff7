import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newDetector, observeWindow, type Detector, type DetectorSettings } from '../../src/monitor/detector.js';

const defaults: DetectorSettings = { down: 3, up: 3 };

/** Runs a string of windows ("x" failed, "o" OK) from `start`; returns the state after each. */
function run(start: Detector, settings: DetectorSettings, windows: string): Detector[] {
  const states: Detector[] = [];
  let d = start;
  for (const w of windows) {
    d = observeWindow(d, settings, w === 'o');
    states.push(d);
  }
  return states;
}

const show = (states: Detector[]): string => states.map((d) => `${d.healthy ? 'H' : 'U'}${d.streak}`).join(' ');

describe('newDetector', () => {
  it.each([true, false])('healthy=%s starts with no streak', (healthy) => {
    expect(newDetector(healthy)).toEqual({ healthy, streak: 0 });
  });
});

describe('observeWindow', () => {
  it.each<[string, boolean, DetectorSettings, string, string]>([
    // name, start healthy, settings, windows, states after each window
    ['healthy stays healthy on good windows', true, defaults, 'ooo', 'H0 H0 H0'],
    ['down=3 failed windows take a healthy link out', true, defaults, 'xxx', 'H1 H2 U0'],
    ['two failures are not enough', true, defaults, 'xxo', 'H1 H2 H0'],
    ['a good window resets a failure streak', true, defaults, 'xxoxx', 'H1 H2 H0 H1 H2'],
    ['…and the count starts again', true, defaults, 'xxoxxx', 'H1 H2 H0 H1 H2 U0'],
    ['up=3 good windows put it back', false, defaults, 'ooo', 'U1 U2 H0'],
    ['a failure resets the good streak', false, defaults, 'ooxoo', 'U1 U2 U0 U1 U2'],
    ['unhealthy stays unhealthy on failures', false, defaults, 'xxx', 'U0 U0 U0'],
    ['down, then up, then down', true, defaults, 'xxxoooxxx', 'H1 H2 U0 U1 U2 H0 H1 H2 U0'],
    ['failures after going down do not count toward coming back', true, defaults, 'xxxxoo', 'H1 H2 U0 U0 U1 U2'],
    ['down=1: one failure is enough', true, { down: 1, up: 3 }, 'xo', 'U0 U1'],
    ['up=1: one good window is enough', false, { down: 3, up: 1 }, 'ox', 'H0 H1'],
    ['asymmetric: down=2, up=5', true, { down: 2, up: 5 }, 'xxooooo', 'H1 U0 U1 U2 U3 U4 H0'],
    ['thresholds below 1 act as 1', true, { down: 0, up: -1 }, 'xo', 'U0 H0'],
  ])('%s', (_name, healthy, settings, windows, expected) => {
    expect(show(run(newDetector(healthy), settings, windows))).toBe(expected);
  });

  it('is pure: the input state is not changed', () => {
    const d = Object.freeze({ healthy: true, streak: 2 });
    expect(observeWindow(d, defaults, false)).toEqual({ healthy: false, streak: 0 });
    expect(d).toEqual({ healthy: true, streak: 2 });
  });

  it('flips exactly when the last `down` (resp. `up`) windows since the last flip all contradicted the state', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.boolean(), { maxLength: 200 }),
        (healthy, down, up, windows) => {
          const settings = { down, up };
          let d = newDetector(healthy);
          let sinceFlip: boolean[] = []; // windows seen since the last flip
          for (const ok of windows) {
            const before = d;
            d = observeWindow(d, settings, ok);
            sinceFlip.push(ok);
            // Reference: the run of windows contradicting the state, counted back from now.
            let run = 0;
            for (let i = sinceFlip.length - 1; i >= 0 && sinceFlip[i] !== before.healthy; i--) run++;
            const needed = before.healthy ? down : up;
            expect(d.healthy !== before.healthy).toBe(run === needed);
            if (d.healthy !== before.healthy) {
              expect(d.streak).toBe(0);
              sinceFlip = [];
            } else {
              expect(d.streak).toBe(run);
              expect(d.streak).toBeLessThan(needed);
            }
          }
        },
      ),
    );
  });
});
