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
      const { exitCode, stderr } = await run(argv, { okCodes: [0, 1] });
      if (exitCode === 1 && !/\b0 flow entries have been deleted/.test(stderr)) throw new CommandError(argv, 1, stderr);
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      failures.push(error.withOutcome(`the routing is applied and recorded; stale connections of ${flush.link} were not flushed`));
    }
  }
  return failures;
}
