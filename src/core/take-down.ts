/**
 * `multiwan down`: removes every route and rule (both families) and the nft
 * table multiwan owns, flushes the connections pinned to the links that were
 * up, and forgets the link states. Works with a broken or missing config too:
 * what multiwan owns is found by its protocol id and table name.
 */
import { applyPlan, type Applied } from '../apply/apply-plan.js';
import { flushConntrack } from '../apply/flush-conntrack.js';
import { readKernel } from '../apply/read-kernel.js';
import { loadConfig } from '../config/load-config.js';
import type { Config } from '../config/types.js';
import { assignIds, linkNumbers } from '../plan/assign-ids.js';
import { planFlush } from '../plan/plan-flush.js';
import { planRouting } from '../plan/plan-routing.js';
import { clearLinkStates, ensureStateDir, readLinkIds, readLinkStates } from '../state/state-store.js';
import { withLock } from '../state/with-lock.js';
import type { Context } from './context.js';

export async function takeDown(ctx: Context): Promise<Applied> {
  const config = await loadConfig(ctx.configFile).catch(() => undefined);
  ensureStateDir(ctx.stateDir);
  return withLock(ctx.stateDir, async () => {
    const kernel = await readKernel(ctx.run);
    const empty = planRouting(config ?? emptyConfig(ctx.configFile), {}, {});
    const applied = await applyPlan(ctx.run, empty, { current: kernel.owned, nftStamp: kernel.nftStamp, nftCounters: kernel.nftCounters, dryRun: ctx.dryRun, ...(ctx.sysctlRoot ? { sysctlRoot: ctx.sysctlRoot } : {}) });
    if (ctx.dryRun) return applied;
    const states = readLinkStates(ctx.stateDir);
    clearLinkStates(ctx.stateDir);
    if (config) {
      const ids = assignIds(config, readLinkIds(ctx.stateDir));
      const flushes = config.links.flatMap((l) =>
        planFlush(states[l.name], undefined, { ...linkNumbers(config, ids[l.name]!), mask: config.markMask }),
      );
      const failures = await flushConntrack(ctx.run, flushes);
      if (failures[0]) throw failures[0];
    }
    return applied;
  });
}

function emptyConfig(file: string): Config {
  return { file, lan: [], markMask: 0x3f00, tableBase: 200, rulePriority: 1000, balance: 'connection', links: [], policies: [], files: [] };
}
