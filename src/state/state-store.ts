/**
 * Runtime state under /run/multiwan (MULTIWAN_STATE_DIR): a JSON file per
 * link and one for the stable ids, each written atomically (temp + rename).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LinkIds, LinkState, LinkStates } from './types.js';

export const defaultStateDir = '/run/multiwan';

export function stateDirOf(env: NodeJS.ProcessEnv): string {
  return env.MULTIWAN_STATE_DIR ?? defaultStateDir;
}

export function readLinkStates(dir: string): LinkStates {
  const names = listDir(dir);
  const states: Record<string, LinkState> = {};
  for (const name of names) {
    const match = /^link-(.+)\.json$/.exec(name);
    if (!match) continue;
    const state = readJson<LinkState>(join(dir, name));
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
  for (const name of listDir(dir)) if (name.startsWith('link-')) rmSync(join(dir, name), { force: true });
}

function writeJsonAtomic(file: string, value: unknown): void {
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o755 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(value, null, 2) + '\n', { mode: 0o644 });
  renameSync(temp, file);
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
