import type { Runner } from '../apply/run-command.js';
import type { Transition } from '../state/next-link-state.js';

/** Everything an operation needs from outside, passed in so tests can supply their own. */
export interface Context {
  run: Runner;
  configFile: string;
  stateDir: string;
  dryRun?: boolean;
  /** Log the ip batches and nft script each change runs. */
  verbose?: boolean;
  /** Where kernel settings are written (default /proc/sys; unit tests point it elsewhere). */
  sysctlRoot?: string;
  now: () => Date;
  /** Where progress lines go (stdout in the entry points). */
  say: (line: string) => void;
  /** What happened, one line each (stdout, and the journal for the monitor). */
  log: (line: string) => void;
  /** Told of every transition once it is applied and recorded (notify hooks). */
  notify?: (transitions: readonly Transition[], inService: readonly string[]) => void;
}
