/**
 * Runtime state under /run/multiwan (MULTIWAN_STATE_DIR): a JSON file per
 * link and one for the stable ids, each written atomically (temp + rename).
 * It is only a cache of the kernel: every event checks it against the live
 * interfaces before planning.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError, RuntimeError, systemErrorMessage } from '../errors.js';
import type { LinkIds, LinkState, LinkStates } from './types.js';

export const defaultStateDir = '/run/multiwan';

export function stateDirOf(env: NodeJS.ProcessEnv): string {
  return env.MULTIWAN_STATE_DIR || defaultStateDir;
}

/**
 * Creates the state directory when it is missing (at boot, before any link
 * came up), and refuses one that someone else could tamper with: a symlink,
 * not a directory, writable by group or others, or owned by another user.
 */
export function ensureStateDir(dir: string): void {
  let stats;
  try {
    stats = lstatSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new RuntimeError(`cannot use the state directory: ${systemErrorMessage(error as NodeJS.ErrnoException, dir)}`);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
    } catch (mkdirError) {
      throw new RuntimeError(`cannot create the state directory: ${systemErrorMessage(mkdirError as NodeJS.ErrnoException, dir)}`);
    }
    return;
  }
  const fix = `remove it (rm -rf ${dir}); multiwan creates it again, mode 755`;
  if (stats.isSymbolicLink()) throw new ConfigError(`state directory ${dir} is a symlink; refusing to follow it: ${fix}`);
  if (!stats.isDirectory()) throw new ConfigError(`state directory ${dir} is not a directory: ${fix}`);
  if (stats.mode & 0o022) throw new ConfigError(`state directory ${dir} is writable by ${stats.mode & 0o002 ? 'others' : 'its group'} (mode ${(stats.mode & 0o777).toString(8)}); run chmod go-w ${dir}`);
  const uid = process.geteuid?.() ?? 0;
  if (stats.uid !== 0 && stats.uid !== uid) throw new ConfigError(`state directory ${dir} is owned by uid ${stats.uid}, not root; run chown root: ${dir}`);
}

export function readLinkStates(dir: string): LinkStates {
  const states: Record<string, LinkState> = {};
  for (const name of listDir(dir)) {
    const match = /^link-(.+)\.json$/.exec(name);
    if (!match) continue;
    const state = upgradeState(readJson<Record<string, unknown>>(join(dir, name)));
    if (state && state.link === match[1]) states[state.link] = state;
  }
  return states;
}

export function readLinkIds(dir: string): LinkIds {
  return readJson<LinkIds>(join(dir, 'ids.json')) ?? {};
}

export function writeLinkState(dir: string, state: LinkState): void {
  writeJsonAtomic(join(dir, `link-${state.link}.json`), state);
}

export function writeLinkIds(dir: string, ids: LinkIds): void {
  writeJsonAtomic(join(dir, 'ids.json'), ids);
}

/** What the monitor publishes of a link's probing (health-NAME.json). */
export interface LinkHealth {
  link: string;
  probing: boolean;
  lastRttMs?: number;
  loss: number;
  windows: number;
  updated: string;
}

export function writeLinkHealth(dir: string, health: LinkHealth): void {
  writeJsonAtomic(join(dir, `health-${health.link}.json`), health);
}

export function readLinkHealth(dir: string, link: string): LinkHealth | undefined {
  return readJson<LinkHealth>(join(dir, `health-${link}.json`));
}

export interface ConfigCache {
  key: string;
  /** Files the config read, each with its key when it was validated. */
  deps?: Record<string, string>;
  config: unknown;
}

export function readConfigCache(dir: string): ConfigCache | undefined {
  return readJson<ConfigCache>(join(dir, 'config-cache.json'));
}

/** Best effort: a cache that cannot be written is only a slower next event. */
export function writeConfigCache(dir: string, cache: ConfigCache): void {
  try {
    writeJsonAtomic(join(dir, 'config-cache.json'), cache);
  } catch {
    // ignored
  }
}

/** Forgets every link (used by `multiwan down`); keeps the ids so numbers stay stable. */
export function clearLinkStates(dir: string): void {
  for (const name of listDir(dir)) if (name.startsWith('link-') || name.startsWith('health-')) rmSync(join(dir, name), { force: true });
}

function writeJsonAtomic(file: string, value: unknown): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(temp, JSON.stringify(value, null, 2) + '\n', { mode: 0o644 });
    renameSync(temp, file);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // nothing to clean
    }
    throw new RuntimeError(`cannot record multiwan's state: ${systemErrorMessage(error as NodeJS.ErrnoException, file)}`);
  }
}

/** A state file of multiwan 0.1 (`up`, `local`, `peer` at the top) as the family-aware record. */
function upgradeState(raw: Record<string, unknown> | undefined): LinkState | undefined {
  if (!raw || typeof raw.link !== 'string' || typeof raw.iface !== 'string') return undefined;
  if (!('up' in raw)) return raw as unknown as LinkState;
  const { up, local, peer, gateway, ...rest } = raw;
  const state = rest as unknown as LinkState;
  if (up === true && typeof local === 'string') {
    return { ...state, v4: { local, ...(typeof peer === 'string' ? { peer } : {}), ...(typeof gateway === 'string' ? { gateway } : {}) } };
  }
  const { healthy: _h, healthReason: _r, healthSince: _s, ...down } = state;
  return down;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
