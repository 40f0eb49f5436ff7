import { ConfigError } from '../errors.js';
import { loadConfig } from './load-config.js';
import type { Config } from './types.js';

/** The config, or a ConfigError saying where to get one. */
export async function requireConfig(file: string, cacheDir?: string): Promise<Config> {
  const config = await loadConfig(file, cacheDir);
  if (!config) throw new ConfigError(`${file}: no such file; write one (every key is in /usr/share/doc/multiwan/README.md, "Config reference") or pass --config`);
  return config;
}
