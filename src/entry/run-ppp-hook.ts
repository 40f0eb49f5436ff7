import { parsePppEvent } from '../events/parse-ppp-event.js';
import type { Family } from '../net/address.js';
import { runEventHook } from './run-event-hook.js';

/** Shared body of ip-up, ip-down, ipv6-up and ipv6-down: pppd's six arguments (or `ip-up ppp1` by hand). */
export function runPppHook(action: 'up' | 'down', args: string[], env: NodeJS.ProcessEnv, family: Family = 4): Promise<number> {
  const argv = args.filter((arg) => arg !== '--dry-run');
  return runEventHook(parsePppEvent(action, argv, env, family), env, { dryRun: argv.length < args.length });
}
