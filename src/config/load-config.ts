import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import { parseConfig } from './parse-config.js';
import type { Config } from './types.js';

export const defaultConfigPath = '/etc/multiwan/multiwan.toml';

export function configPath(env: NodeJS.ProcessEnv, explicit?: string): string {
  return explicit ?? env.MULTIWAN_CONFIG ?? defaultConfigPath;
}

/** Reads and validates the config; undefined when the file does not exist. */
export async function loadConfig(file: string): Promise<Config | undefined> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new ConfigError(`${file}: cannot read the config (${code ?? String(error)}); check its permissions`);
  }
  return parseConfig(source, file);
}
