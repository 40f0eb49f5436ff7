import { hex } from '../plan/render-ip-batch.js';
import type { Flush } from '../plan/plan-flush.js';
import type { Runner } from './run-command.js';

/** conntrack argv for each planned flush; conntrack -D exits 1 when nothing matched. */
export function conntrackArgv(flush: Flush): string[] {
  return flush.kind === 'mark'
    ? ['conntrack', '-D', '--mark', `${hex(flush.mark)}/${hex(flush.mask)}`]
    : ['conntrack', '-D', '--reply-dst', flush.address];
}

export async function flushConntrack(run: Runner, flushes: readonly Flush[]): Promise<void> {
  for (const flush of flushes) await run(conntrackArgv(flush), { okCodes: [0, 1] });
}
