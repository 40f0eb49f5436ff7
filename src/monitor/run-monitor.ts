/**
 * `multiwan monitor`: one process for all links. Each link with a `check`
 * gets a prober (windows of probes bound to its address) and a detector;
 * carrier and address changes come from netlink as they happen. A verdict goes
 * through the same pipeline as the hooks' events, under the same lock, planned
 * with the config on disk at that moment.
 *
 * Built to run for a year unattended:
 * - it starts on a bare machine: no state directory (created), no config
 *   (waited for), no link up yet (probing starts when a hook records one);
 * - it follows the config on disk by itself (a stat every second, and
 *   SIGHUP); a config that fails validation is logged once and the last valid
 *   one kept for probing, and a verdict is then planned with the last config
 *   that validated;
 * - what the detector says and what is recorded are reconciled every window:
 *   a verdict that could not be applied is tried again (with a backoff), so a
 *   failing `ip` or a lock held too long never leaves a dead link in service;
 * - an interface that vanishes or goes administratively down is reported to
 *   the pipeline, which takes its link down (the record is only a cache).
 */
import { watch, type FSWatcher } from 'node:fs';
import { depKey, loadConfig } from '../config/load-config.js';
import type { Config, LinkConfig } from '../config/types.js';
import { changeLinks } from '../core/change-links.js';
import type { Context } from '../core/context.js';
import { setLinkHealth } from '../core/set-link-health.js';
import { ConfigError } from '../errors.js';
import { ensureStateDir, readConfigCache, readLinkStates, writeLinkHealth } from '../state/state-store.js';
import { isUp, type LinkState } from '../state/types.js';
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
  /** Identity of the link's current incarnation and check: a change restarts probing. */
  key: string;
  state: LinkState;
  source?: string;
  prober?: LinkProber;
  detector: Detector;
  samples: WindowSample[];
  published: number;
  /** A verdict is queued or being applied. */
  pending: boolean;
  /** After a failed verdict: not before this time (ms). */
  retryAt: number;
  lastFailure?: string;
}

const CONFIG_POLL_MS = 1000;
const RETRY_MS = 2000;

export async function startMonitor(ctx: Context, log: (line: string) => void): Promise<Monitor> {
  ensureStateDir(ctx.stateDir);
  const tracked = new Map<string, Tracked>();
  let config: Config | undefined;
  let configKey = '';
  let said = '';
  let queue: Promise<unknown> = Promise.resolve();
  let stopping = false;

  /** Says a line once until something else was said about the config. */
  const sayOnce = (line: string) => {
    if (line !== said) log(line);
    said = line;
  };

  /** Re-reads the config when it (or a file it names) changed; true when the followed config changed. */
  const followConfig = async (force = false): Promise<boolean> => {
    const key = fileKey(ctx.configFile, config?.files ?? []);
    if (!force && key === configKey) return false;
    configKey = key;
    try {
      const next = await loadConfig(ctx.configFile, ctx.stateDir);
      if (!next) {
        sayOnce(`no config at ${ctx.configFile}; waiting for one`);
        return false;
      }
      const first = !config;
      config = next;
      configKey = fileKey(ctx.configFile, next.files);
      sayOnce(`${first ? 'monitoring' : 'config reloaded:'} ${next.links.filter((l) => l.check).map((l) => l.name).join(', ') || 'no link with a check'} (${ctx.configFile})`);
      return true;
    } catch (error) {
      sayOnce(`config not reloaded, keeping the previous one: ${messageOf(error)}`);
      return false;
    }
  };

  /** The config a verdict is planned with: the one on disk now, else the last that validated. */
  const configForVerdict = async (): Promise<Config | undefined> => {
    try {
      return await loadConfig(ctx.configFile, ctx.stateDir);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const cached = readConfigCache(ctx.stateDir)?.config as Config | undefined;
      log(`the config on disk has problems (${error.problems[0]}); this verdict uses the last config that validated`);
      return cached ?? config;
    }
  };

  /** Changes are applied one at a time, in order. */
  const enqueue = (work: () => Promise<unknown>) => {
    queue = queue.then(work).catch((error: unknown) => log(`internal error in the monitor's queue, please report it: ${messageOf(error)}`));
  };

  const verdict = (link: LinkConfig, t: Tracked, healthy: boolean, reason: string, why: string) => {
    t.pending = true;
    enqueue(async () => {
      try {
        if (stopping || tracked.get(link.name) !== t) return;
        const outcome = await setLinkHealth(ctx, { link: link.name, healthy, reason, expect: { since: t.state.since } }, configForVerdict);
        if (outcome.kind === 'applied') {
          const after = outcome.result.states[link.name];
          if (after) t.state = after;
          if (outcome.result.transitions.some((tr) => tr.link === link.name)) {
            log(`${link.name} (${t.state.iface}): ${healthy ? 'back in service' : 'out of service'}: ${why}; in service: ${outcome.result.inService.join(', ') || 'none'}`);
          }
        }
        t.lastFailure = undefined;
      } catch (error) {
        const message = messageOf(error);
        if (message !== t.lastFailure) log(`${link.name}: could not apply the verdict (${healthy ? 'in service' : 'out of service'}), trying again: ${message}`);
        t.lastFailure = message;
        t.retryAt = Date.now() + RETRY_MS;
      } finally {
        t.pending = false;
      }
      publish(link, t, true);
    });
  };

  /** The pipeline checks every record against the kernel: a vanished link is taken down there. */
  let refreshQueued = false;
  const refresh = () => {
    if (refreshQueued) return;
    refreshQueued = true;
    enqueue(async () => {
      refreshQueued = false;
      if (stopping) return;
      try {
        await changeLinks(ctx, { kind: 'refresh' }, configForVerdict);
      } catch (error) {
        log(`could not bring the routing in line with the interfaces: ${messageOf(error)}`);
      }
    });
  };

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

  const onWindow = (name: string, t: Tracked, window: WindowResult) => {
    const link = config?.links.find((l) => l.name === name);
    if (tracked.get(name) !== t || !link?.check) return;
    t.samples = addSample(t.samples, window);
    const was = t.detector.healthy;
    t.detector = observeWindow(t.detector, { down: link.check.down, up: link.check.up }, window.ok);
    const recorded = t.state.healthy !== false;
    if (t.detector.healthy !== recorded && !t.pending && Date.now() >= t.retryAt) {
      const rounds = t.detector.healthy ? link.check.up : link.check.down;
      const why =
        t.detector.healthy === was
          ? 'the recorded state disagreed with the probes'
          : t.detector.healthy
            ? `${rounds} good interval(s) of ${link.check.intervalMs} ms`
            : `no reply from ${link.check.targets.join(', ')} for ${rounds} interval(s) of ${link.check.intervalMs} ms`;
      verdict(link, t, t.detector.healthy, 'probes', why);
    }
    publish(link, t);
  };

  /** Brings probers in line with the config and the recorded link states. */
  const sync = () => {
    if (stopping || !config) return;
    const states = readLinkStates(ctx.stateDir);
    for (const [name, t] of tracked) {
      if (!config.links.some((l) => l.name === name)) {
        void t.prober?.stop();
        tracked.delete(name);
      }
    }
    for (const link of config.links) {
      const state = states[link.name];
      const probe = isUp(state) ? probeFrom(state, link) : undefined;
      const key = isUp(state) ? [state.iface, state.since, probe?.source ?? '', JSON.stringify(link.check ?? null)].join('|') : '';
      const current = tracked.get(link.name);
      if (current && current.key === key) {
        current.state = state!;
        continue;
      }
      if (current) {
        void current.prober?.stop();
        tracked.delete(link.name);
      }
      if (!key || !state) continue;
      // A restarted monitor starts from the recorded verdict, so no link flaps.
      const t: Tracked = { key, state, detector: newDetector(state.healthy !== false), samples: [], published: 0, pending: false, retryAt: 0 };
      tracked.set(link.name, t);
      if (link.check && probe) {
        const check = link.check;
        t.source = probe.source;
        try {
          t.prober = startLinkProber(
            { source: probe.source, targets: probe.targets, method: check.method, port: check.port, intervalMs: check.intervalMs, count: check.count },
            (window) => onWindow(link.name, t, window),
            { log: (message) => log(`${link.name}: ${message}`) },
          );
        } catch (error) {
          // Said once per incarnation of the link: the key only changes with it.
          log(`${link.name}: cannot probe from ${probe.source}: ${messageOf(error)}`);
        }
      } else if (link.check) {
        log(`${link.name}: no address to probe ${link.check.targets.join(', ')} from; judged by carrier alone until it has one`);
      }
      publish(link, t, true);
    }
  };

  const onKernel = (event: IpMonitorEvent) => {
    if (event.kind === 'other' || !config) return;
    for (const link of config.links) {
      const t = tracked.get(link.name);
      if (!t || t.state.iface !== event.iface) continue;
      if (event.kind === 'link' && (event.deleted || !event.adminUp)) {
        refresh();
      } else if (event.kind === 'link' && !event.carrier) {
        // Out at once; with probes, back only after `up` good intervals.
        if (link.check) t.detector = newDetector(false);
        verdict(link, t, false, 'carrier', 'carrier lost');
      } else if (event.kind === 'link' && event.carrier && !link.check) {
        verdict(link, t, true, 'carrier', 'carrier back');
      } else if (event.kind === 'address' && event.deleted && (event.address === t.state.v4?.local || event.address === t.state.v6?.local)) {
        refresh();
      }
    }
  };

  let debounce: NodeJS.Timeout | undefined;
  const stateWatcher: FSWatcher = watch(ctx.stateDir, (_type, file) => {
    if (!file || !/^link-[^.]+\.json$/.test(String(file))) return;
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(sync, 30);
  });
  stateWatcher.on('error', (error) => log(`cannot watch ${ctx.stateDir}: ${messageOf(error)}`));
  const linkWatcher: LinkWatcher = watchLinks(onKernel, (message) => log(message));
  const reload = async (force: boolean) => {
    if (!(await followConfig(force))) return;
    for (const t of tracked.values()) t.key = ''; // settings may have changed: probe afresh
    sync();
  };
  const poll = setInterval(() => void reload(false), CONFIG_POLL_MS);
  await reload(true);
  // Events missed while the monitor was not running: a link that vanished meanwhile.
  if (config) refresh();

  return {
    reload: () => reload(true),
    async stop() {
      stopping = true;
      clearInterval(poll);
      if (debounce) clearTimeout(debounce);
      stateWatcher.close();
      linkWatcher.stop();
      await Promise.all([...tracked.values()].map((t) => t.prober?.stop()));
      await queue;
    },
  };
}

/** Where a link is probed from: its IPv4 address for IPv4 targets, else its IPv6 address for IPv6 targets. */
function probeFrom(state: LinkState, link: LinkConfig): { source: string; targets: string[] } | undefined {
  const targets = link.check?.targets ?? [];
  for (const [fs, v6] of [[state.v4, false], [state.v6, true]] as const) {
    const mine = targets.filter((t) => t.includes(':') === v6);
    if (fs?.local && mine.length) return { source: fs.local, targets: mine };
  }
  return undefined;
}

/** Identity of the config file and the files it names, as the config cache keys them. */
function fileKey(file: string, deps: readonly string[]): string {
  return [file, ...deps].map(depKey).join('|');
}

function messageOf(error: unknown): string {
  if (error instanceof ConfigError) return error.problems.join(' | ');
  return error instanceof Error ? error.message : String(error);
}
