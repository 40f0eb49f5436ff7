import { parsePppEvent } from '../events/parse-ppp-event.js';
import type { Family } from '../net/address.js';
import { runEventHook } from './run-event-hook.js';

/**
 * Shared body of ip-up, ip-down, ipv6-up and ipv6-down: pppd's six arguments
 * (or `ip-up ppp1` by hand, with --dry-run, --verbose or --debug).
 */
export function runPppHook(action: 'up' | 'down', args: string[], env: NodeJS.ProcessEnv, family: Family = 4): Promise<number> {
  const flags = ['--dry-run', '--verbose', '--debug'];
  const argv = args.filter((arg) => !flags.includes(arg));
  return runEventHook(parsePppEvent(action, argv, env, family), env, { dryRun: args.includes('--dry-run'), verbose: args.includes('--verbose') });
}
