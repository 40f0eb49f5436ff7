/**
 * Reads the config. A hook runs on every pppd event, and parsing TOML and
 * validating it costs more than the rest of the hook's own work, so the
 * validated Config is cached in the state directory, keyed by the identity
 * and times of the file and of every file it names (@lists, routes_file), and
 * by the build. The parser is loaded only on a miss.
 *
 * Whoever can write the config (or a file it names, or a directory on the
 * way to one) decides the routing, so each of them must be writable only by
 * root, or by the user running multiwan; checked on every read, the cache
 * included (a chmod of a directory does not change the file's key).
 */
import { readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, systemErrorMessage } from '../errors.js';
import { readConfigCache, writeConfigCache } from '../state/state-store.js';
import { checkFileSafety } from './check-file-safety.js';
import type { Config } from './types.js';

declare const __MULTIWAN_BUILD__: string | undefined;
const build = typeof __MULTIWAN_BUILD__ === 'string' ? __MULTIWAN_BUILD__ : 'dev';

export const defaultConfigPath = '/etc/multiwan/multiwan.toml';

export function configPath(env: NodeJS.ProcessEnv, explicit?: string): string {
  return explicit ?? env.MULTIWAN_CONFIG ?? defaultConfigPath;
}

/**
 * Reads and validates the config; undefined when the file does not exist.
 * With `cacheDir`, an unchanged file is not parsed again.
 */
export async function loadConfig(file: string, cacheDir?: string): Promise<Config | undefined> {
  const judge = safetyJudge();
  let stats: Stats;
  let source: string;
  try {
    stats = statSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new ConfigError(`${file}: cannot read the config (${code ?? String(error)}); check its permissions`);
  }
  const unsafe = judge(file, stats);
  if (unsafe) throw new ConfigError(unsafe);
  try {
    if (cacheDir) {
      const cached = readConfigCache(cacheDir);
      if (cached?.key === cacheKey(file, stats) && depsUnchanged(cached.deps, judge)) return cached.config as Config;
    }
    source = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new ConfigError(`${file}: cannot read the config (${code ?? String(error)}); check its permissions`);
  }
  // A file the config names is refused like the config, but as one problem
  // among the others (`file:line: key: ...`): parse-policies' readList
  // reports a ConfigError's message as it is.
  const read = (path: string): string => {
    const problem = judge(path, statSync(path));
    if (problem) throw new ConfigError(problem);
    return readFileSync(path, 'utf8');
  };
  const { parseConfig } = await import('./parse-config.js');
  const config = parseConfig(source, file, read);
  if (cacheDir) {
    const deps = Object.fromEntries(config.files.map((dep) => [dep, depKey(dep)]));
    writeConfigCache(cacheDir, { key: cacheKey(file, stats), deps, config });
  }
  return config;
}

type Judge = (file: string, stats: Stats) => string | undefined;

/**
 * Judges a file from its stats, then every directory on the way to it (as
 * named and, through symlinks, as it really is). Directories are stat'ed once
 * per read of the config: the files it names usually share them.
 */
function safetyJudge(): Judge {
  const euid = process.geteuid?.() ?? 0;
  const dirs = new Map<string, string | undefined>();
  const judgeDir = (dir: string, holding: string): string | undefined => {
    if (!dirs.has(dir)) {
      let problem: string | undefined;
      try {
        const stats = statSync(dir);
        problem = checkFileSafety({ path: dir, mode: stats.mode, uid: stats.uid }, euid, holding);
      } catch (error) {
        problem = `cannot check ${systemErrorMessage(error as NodeJS.ErrnoException, dir)} on the way to ${holding}; fix the path`;
      }
      dirs.set(dir, problem);
    }
    return dirs.get(dir);
  };
  return (file, stats) => {
    const own = checkFileSafety({ path: file, mode: stats.mode, uid: stats.uid }, euid);
    if (own) return own;
    const named = resolve(file);
    let real = named;
    try {
      real = realpathSync(file);
    } catch {
      // It was just stat'ed; a race with a rename is judged as named.
    }
    for (const path of new Set([named, real])) {
      for (let dir = dirname(path); ; dir = dirname(dir)) {
        const problem = judgeDir(dir, file);
        if (problem) return problem;
        if (dir === dirname(dir)) break;
      }
    }
    return undefined;
  };
}

function cacheKey(file: string, stats: Stats): string {
  return [build, file, stats.dev, stats.ino, stats.size, stats.mtimeMs, stats.ctimeMs].join('|');
}

/** A file's identity for the cache and for whoever follows the config (the monitor): 'missing' when it is not there. */
export function depKey(file: string): string {
  try {
    return cacheKey(file, statSync(file));
  } catch {
    return 'missing';
  }
}

/** Every file the cached Config read is as it was, and still safe to trust. */
function depsUnchanged(deps: Record<string, string> | undefined, judge: Judge): boolean {
  return Object.entries(deps ?? {}).every(([dep, key]) => {
    let stats: Stats;
    try {
      stats = statSync(dep);
    } catch {
      return key === 'missing';
    }
    return cacheKey(dep, stats) === key && judge(dep, stats) === undefined;
  });
}
