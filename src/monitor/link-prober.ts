/**
 * Probes one link: every target, `count` probes per target per window, and
 * one WindowResult per `intervalMs` (see probe-window.ts for the model).
 *
 * ICMP: one supervised `ping` per target (ping-process.ts), spacing
 * intervalMs / count. TCP: `count` connects per target per window, half a
 * spacing off the window edges, each with timeout intervalMs (tcp-probe.ts).
 * Every probe is bound to `source`, the link's local address.
 *
 * Timers run on the monotonic clock without drift; `at` comes from `now`
 * (default Date.now). A window is closed in a setImmediate after its timer,
 * so output that ping wrote before the window's end, and that is already
 * waiting to be read, counts in it even after the event loop stalled.
 */
import type { spawn } from 'node:child_process';
import { ConfigError } from '../errors.js';
import { startPingProcess } from './ping-process.js';
import {
  checkProbeSettings,
  closeWindow,
  emptyTally,
  nextDeadline,
  probeSpacingMs,
  tallyProbe,
  type ProbeEvent,
  type ProbeSettings,
  type WindowResult,
} from './probe-window.js';
import { probeTcp } from './tcp-probe.js';

export type { ProbeSettings, WindowResult } from './probe-window.js';

export interface LinkProber {
  /** Kills the ping processes (SIGTERM, then SIGKILL), aborts TCP probes, clears every timer. */
  stop(): Promise<void>;
}

export interface LinkProberDeps {
  now?: () => number;
  spawn?: typeof spawn;
  /** Diagnostics (a ping exited and is restarted, ...). Default: dropped. */
  log?: (message: string) => void;
}

/** Throws ConfigError listing every problem of `settings`. */
export function startLinkProber(
  settings: ProbeSettings,
  onWindow: (result: WindowResult) => void,
  deps: LinkProberDeps = {},
): LinkProber {
  const checked = checkProbeSettings(settings);
  if (!checked.ok) throw new ConfigError(`link probe settings: ${checked.problems.join('; ')}`, checked.problems);
  const s = checked.settings;
  const now = deps.now ?? Date.now;
  let stopped = false;
  let tally = emptyTally;
  const record = (event: ProbeEvent): void => {
    if (!stopped) tally = tallyProbe(tally, event);
  };

  const sources =
    s.method === 'icmp'
      ? s.targets.map((target) => startPingProcess({ source: s.source, target, spacingMs: probeSpacingMs(s) }, record, deps))
      : [startTcpProbes(s, record)];

  const windows = every(s.intervalMs, 0, () => {
    const result = closeWindow(tally, now());
    tally = emptyTally;
    onWindow(result);
  });

  let stopping: Promise<void> | undefined;
  return {
    stop: () => {
      stopping ??= (async () => {
        stopped = true;
        windows.cancel();
        await Promise.all(sources.map((source) => source.stop()));
      })();
      return stopping;
    },
  };
}

/** TCP: a connect to every target every intervalMs / count, half a spacing off the window edges. */
function startTcpProbes(s: ProbeSettings, record: (event: ProbeEvent) => void): { stop(): Promise<void> } {
  const spacingMs = s.intervalMs / s.count;
  const abort = new AbortController();
  const inFlight = new Set<Promise<unknown>>();
  const ticker = every(spacingMs, spacingMs / 2, () => {
    for (const target of s.targets) {
      record({ kind: 'sent', probes: 1 });
      const probe = probeTcp({ source: s.source, target, port: s.port, timeoutMs: s.intervalMs, signal: abort.signal }).then(
        (result) => {
          inFlight.delete(probe);
          if (result.ok) record({ kind: 'reply', rttMs: result.rttMs });
        },
      );
      inFlight.add(probe);
    }
  });
  return {
    stop: async () => {
      ticker.cancel();
      abort.abort();
      await Promise.all([...inFlight]);
    },
  };
}

/**
 * Calls `fn` every `periodMs` on the monotonic clock, on the grid
 * start - offsetMs + k * periodMs (k >= 1), without drift (nextDeadline). `fn`
 * runs in a setImmediate after its timer, so I/O already waiting is read first.
 */
function every(periodMs: number, offsetMs: number, fn: () => void): { cancel(): void } {
  let deadline = performance.now() + periodMs - offsetMs;
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let cancelled = false;
  const arm = (): void => {
    timer = setTimeout(() => {
      immediate = setImmediate(() => {
        immediate = undefined;
        if (cancelled) return;
        deadline = nextDeadline(deadline, performance.now(), periodMs);
        arm();
        fn();
      });
    }, Math.max(0, deadline - performance.now()));
  };
  arm();
  return {
    cancel: () => {
      cancelled = true;
      clearTimeout(timer);
      if (immediate) clearImmediate(immediate);
    },
  };
}
