/**
 * Reads the config. A hook runs on every pppd event, and parsing TOML and
 * validating it costs more than the rest of the hook's own work, so the
 * validated Config is cached in the state directory, keyed by the identity
 * and times of the file and of every file it names (@lists, routes_file), and
 * by the build. The parser is loaded only on a miss.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import { ConfigError } from '../errors.js';
import { readConfigCache, writeConfigCache } from '../state/state-store.js';
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
  let stats: Stats;
  let source: string;
  try {
    stats = statSync(file);
    if (cacheDir) {
      const cached = readConfigCache(cacheDir);
      if (cached?.key === cacheKey(file, stats) && depsUnchanged(cached.deps)) return cached.config as Config;
    }
    source = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new ConfigError(`${file}: cannot read the config (${code ?? String(error)}); check its permissions`);
  }
  const { parseConfig } = await import('./parse-config.js');
  const config = parseConfig(source, file, (path) => readFileSync(path, 'utf8'));
  if (cacheDir) {
    const deps = Object.fromEntries(config.files.map((dep) => [dep, depKey(dep)]));
    writeConfigCache(cacheDir, { key: cacheKey(file, stats), deps, config });
  }
  return config;
}

function cacheKey(file: string, stats: Stats): string {
  return [build, file, stats.dev, stats.ino, stats.size, stats.mtimeMs, stats.ctimeMs].join('|');
}

function depKey(file: string): string {
  try {
    return cacheKey(file, statSync(file));
  } catch {
    return 'missing';
  }
}

function depsUnchanged(deps: Record<string, string> | undefined): boolean {
  return Object.entries(deps ?? {}).every(([dep, key]) => depKey(dep) === key);
}
