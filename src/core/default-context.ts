import { dirname, join } from 'node:path';
import { runCommand } from '../apply/run-command.js';
import { startNotify } from '../notify/start-notify.js';
import { configPath } from '../config/load-config.js';
import { stateDirOf } from '../state/state-store.js';
import type { Context } from './context.js';

/** The context of a real run: real programs, paths from the environment or flags. */
export function defaultContext(env: NodeJS.ProcessEnv, options: { config?: string; dryRun?: boolean } = {}): Context {
  const say = (line: string) => void process.stdout.write(line + '\n');
  const configFile = configPath(env, options.config);
  return {
    run: runCommand,
    configFile,
    stateDir: stateDirOf(env),
    dryRun: options.dryRun ?? false,
    now: () => new Date(),
    say,
    log: say,
    notify: (transitions, inService) => startNotify({ dir: join(dirname(configFile), 'notify.d'), transitions: [...transitions], inService: [...inService] }),
  };
}
