import { CommandError } from '../errors.js';
import { hex } from '../plan/hex.js';
import type { Flush } from '../plan/plan-flush.js';
import type { Runner } from './run-command.js';

/** conntrack argv for each planned flush (conntrack's family defaults to IPv4, so it is always given). */
export function conntrackArgv(flush: Flush): string[] {
  const family = flush.family === 6 ? 'ipv6' : 'ipv4';
  return flush.kind === 'mark'
    ? ['conntrack', '-D', '-f', family, '--mark', `${hex(flush.mark)}/${hex(flush.mask)}`]
    : ['conntrack', '-D', '-f', family, '--reply-dst', flush.address];
}

/** conntrack -D runs again after a race with an expiring entry, at most this many times in all. */
const FLUSH_ATTEMPTS = 3;

/**
 * Runs every flush. conntrack -D exits 1 both when nothing matched ("0 flow
 * entries have been deleted") and when it failed, so the exit code alone
 * does not tell. A flush that fails does not stop the others: the failures
 * are returned, each saying which link's connections were left.
 */
export async function flushConntrack(run: Runner, flushes: readonly Flush[]): Promise<CommandError[]> {
  const failures: CommandError[] = [];
  for (const flush of flushes) {
    try {
      const argv = conntrackArgv(flush);
      for (let attempt = 1; ; attempt++) {
        const { exitCode, stderr } = await run(argv, { okCodes: [0, 1] });
        if (exitCode === 0 || /\b0 flow entries have been deleted/.test(stderr)) break;
        // conntrack 1.4.7 stops at the first entry that expired between its dump and its
        // delete ("such conntrack doesn't exist"), leaving the rest: run it again.
        if (!(/such conntrack doesn't exist/.test(stderr) && attempt < FLUSH_ATTEMPTS)) throw new CommandError(argv, 1, stderr);
      }
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      failures.push(error.withOutcome(`the routing is applied and recorded; stale connections of ${flush.link} were not flushed`));
    }
  }
  return failures;
}
