/**
 * `multiwan monitor`: one process for all links. Each link with a `check`
 * gets a prober (windows of probes bound to its address) and a detector;
 * carrier and address changes come from netlink as they happen. A verdict goes
 * through setLinkHealth, the same pipeline as pppd's events, under the same
 * lock. The monitor follows the hooks through the state directory: a link that
 * comes up is probed from its new address, one that goes down is dropped.
 */
import { watch, type FSWatcher } from 'node:fs';
import { loadConfig } from '../config/load-config.js';
import type { Config, LinkConfig } from '../config/types.js';
import type { Context } from '../core/context.js';
import { setLinkHealth } from '../core/set-link-health.js';
import { ConfigError } from '../errors.js';
import { readLinkStates, writeLinkHealth } from '../state/state-store.js';
import type { LinkState } from '../state/types.js';
import { newDetector, observeWindow, type Detector } from './detector.js';
import { startLinkProber, type LinkProber, type WindowResult } from './link-prober.js';
import { addSample, summarize, type WindowSample } from './link-stats.js';
import type { IpMonitorEvent } from './parse-ip-monitor.js';
import { watchLinks, type LinkWatcher } from './watch-links.js';

export interface Monitor {
  reload(): Promise<void>;
  stop(): Promise<void>;
}

interface Tracked {
  /** Identity of the link's current incarnation: a change restarts probing. */
  key: string;
  state: LinkState & { local: string };
  prober?: LinkProber;
  detector: Detector;
  samples: WindowSample[];
  published: number;
}

export async function startMonitor(ctx: Context, log: (line: string) => void): Promise<Monitor> {
  let config = await requireConfigForMonitor(ctx.configFile);
  const tracked = new Map<string, Tracked>();
  let queue: Promise<unknown> = Promise.resolve();
  let stopping = false;

  /** Verdicts are applied one at a time, in order. */
  const enqueue = (work: () => Promise<unknown>) => {
    queue = queue.then(work).catch((error: unknown) => log(`could not apply a verdict: ${messageOf(error)}`));
  };

  const verdict = (link: LinkConfig, t: Tracked, healthy: boolean, reason: string, why: string) =>
    enqueue(async () => {
      if (stopping || tracked.get(link.name) !== t) return;
      const change = await setLinkHealth(ctx, config, link.name, healthy, reason, { local: t.state.local, since: t.state.since });
      if (change) {
        log(`${link.name} (${t.state.iface}): ${healthy ? 'back in service' : 'out of service'}: ${why}; in service: ${change.inService.join(', ') || 'none'}`);
      }
      publish(link, t, true);
    });

  const publish = (link: LinkConfig, t: Tracked, now = false) => {
    const at = Date.now();
    if (!now && at - t.published < 1000) return;
    t.published = at;
    try {
      writeLinkHealth(ctx.stateDir, { link: link.name, probing: !!t.prober, ...summarize(t.samples), updated: new Date(at).toISOString() });
    } catch (error) {
      log(`cannot write health of ${link.name}: ${messageOf(error)}`);
    }
  };

  const onWindow = (link: LinkConfig, t: Tracked, window: WindowResult) => {
    if (tracked.get(link.name) !== t || !link.check) return;
    t.samples = addSample(t.samples, window);
    const was = t.detector.healthy;
    t.detector = observeWindow(t.detector, { down: link.check.down, up: link.check.up }, window.ok);
    if (t.detector.healthy !== was) {
      const rounds = t.detector.healthy ? link.check.up : link.check.down;
      const why = t.detector.healthy
        ? `${rounds} good interval(s) of ${link.check.intervalMs} ms`
        : `no reply from ${link.check.targets.join(', ')} for ${rounds} interval(s) of ${link.check.intervalMs} ms`;
      verdict(link, t, t.detector.healthy, 'probes', why);
    }
    publish(link, t);
  };

  /** Brings probers in line with the config and the recorded link states. */
  const sync = () => {
    if (stopping) return;
    const states = readLinkStates(ctx.stateDir);
    for (const [name, t] of tracked) {
      if (!config.links.some((l) => l.name === name)) {
        void t.prober?.stop();
        tracked.delete(name);
      }
    }
    for (const link of config.links) {
      const state = states[link.name];
      const key = state?.up && state.local ? [state.local, state.iface, state.since, JSON.stringify(link.check ?? null)].join('|') : '';
      const current = tracked.get(link.name);
      if (current?.key === key) {
        current.state = state as Tracked['state'];
        continue;
      }
      if (current) {
        void current.prober?.stop();
        tracked.delete(link.name);
      }
      if (!key || !state?.local) continue;
      // A restarted monitor starts from the recorded verdict, so no link flaps.
      const t: Tracked = { key, state: state as Tracked['state'], detector: newDetector(state.healthy !== false), samples: [], published: 0 };
      tracked.set(link.name, t);
      if (link.check) {
        const check = link.check;
        try {
          t.prober = startLinkProber(
            { source: state.local, targets: check.targets, method: check.method, port: check.port, intervalMs: check.intervalMs, count: check.count },
            (window) => onWindow(link, t, window),
            { log: (message) => log(`${link.name}: ${message}`) },
          );
        } catch (error) {
          // Said once per incarnation of the link: the key only changes with it.
          log(`${link.name}: cannot probe from ${state.local}: ${messageOf(error)}`);
        }
      }
      publish(link, t, true);
    }
  };

  const onKernel = (event: IpMonitorEvent) => {
    if (event.kind === 'other') return;
    for (const link of config.links) {
      const t = tracked.get(link.name);
      if (!t || t.state.iface !== event.iface) continue;
      if (event.kind === 'link' && !event.carrier) {
        // Out at once; with probes, back only after `up` good intervals.
        if (link.check) t.detector = newDetector(false);
        verdict(link, t, false, 'carrier', event.deleted ? 'interface removed' : 'carrier lost');
      } else if (event.kind === 'link' && event.carrier && !link.check) {
        verdict(link, t, true, 'carrier', 'carrier back');
      } else if (event.kind === 'address' && event.deleted && event.address === t.state.local) {
        if (link.check) t.detector = newDetector(false);
        verdict(link, t, false, 'address', `address ${event.address} removed`);
      }
    }
  };

  const linkWatcher: LinkWatcher = watchLinks(onKernel, (message) => log(message));
  let debounce: NodeJS.Timeout | undefined;
  const stateWatcher: FSWatcher = watch(ctx.stateDir, (_type, file) => {
    if (!file || !/^link-[^.]+\.json$/.test(String(file))) return;
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(sync, 30);
  });
  sync();
  log(`monitoring ${config.links.filter((l) => l.check).map((l) => l.name).join(', ') || 'no link with a check'} (${ctx.configFile})`);

  return {
    async reload() {
      try {
        config = await requireConfigForMonitor(ctx.configFile);
        log(`config reloaded from ${ctx.configFile}`);
        for (const t of tracked.values()) t.key = ''; // settings may have changed: probe afresh
        sync();
      } catch (error) {
        log(`config not reloaded, keeping the previous one: ${messageOf(error)}`);
      }
    },
    async stop() {
      stopping = true;
      if (debounce) clearTimeout(debounce);
      stateWatcher.close();
      linkWatcher.stop();
      await Promise.all([...tracked.values()].map((t) => t.prober?.stop()));
      await queue;
    },
  };
}

async function requireConfigForMonitor(file: string): Promise<Config> {
  const config = await loadConfig(file);
  if (!config) throw new ConfigError(`${file}: no such file; the monitor needs the config`);
  return config;
}

function messageOf(error: unknown): string {
  if (error instanceof ConfigError) return error.problems.join(' | ');
  return error instanceof Error ? error.message : String(error);
}
