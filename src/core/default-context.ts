import { dirname, join } from 'node:path';
import { runCommand } from '../apply/run-command.js';
import { logToSyslog } from '../log/syslog-buffer.js';
import { startNotify } from '../notify/start-notify.js';
import { configPath } from '../config/load-config.js';
import { stateDirOf } from '../state/state-store.js';
import type { Context } from './context.js';

/**
 * The context of a real run: real programs, paths from the environment or
 * flags. What it logs is printed and kept for syslog (sent when the process
 * exits); the monitor, which runs for ever, logs to its stdout only (the
 * journal).
 */
export function defaultContext(env: NodeJS.ProcessEnv, options: { config?: string; dryRun?: boolean; verbose?: boolean; syslog?: boolean } = {}): Context {
  const say = (line: string) => void process.stdout.write(line + '\n');
  const syslog = options.syslog ?? true;
  const configFile = configPath(env, options.config);
  return {
    run: runCommand,
    configFile,
    stateDir: stateDirOf(env),
    dryRun: options.dryRun ?? false,
    verbose: options.verbose || env.MULTIWAN_VERBOSE === '1',
    now: () => new Date(),
    say,
    log: (line) => {
      say(line);
      if (syslog) logToSyslog(line);
    },
    notify: (transitions, inService) => startNotify({ dir: join(dirname(configFile), 'notify.d'), transitions: [...transitions], inService: [...inService] }),
  };
}
