import type { Runner } from '../apply/run-command.js';

/** Everything an operation needs from outside, passed in so tests can supply their own. */
export interface Context {
  run: Runner;
  configFile: string;
  stateDir: string;
  dryRun?: boolean;
  now: () => Date;
  /** Where progress lines go (stdout in the entry points). */
  say: (line: string) => void;
}
