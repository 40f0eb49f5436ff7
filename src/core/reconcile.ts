/**
 * `multiwan apply` and `multiwan down`: bring the kernel in line with the
 * recorded link states (after a config edit), or take everything away.
 */
import { applyPlan, type Applied } from '../apply/apply-plan.js';
import { flushConntrack } from '../apply/flush-conntrack.js';
import { loadConfig } from '../config/load-config.js';
import type { Config } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { assignIds, linkNumbers } from '../plan/assign-ids.js';
import { planRouting } from '../plan/plan-routing.js';
import type { Plan } from '../plan/types.js';
import { clearLinkStates, readLinkIds, readLinkStates, writeLinkIds } from '../state/state-store.js';
import { withLock } from '../state/with-lock.js';
import type { Context } from './context.js';

export async function requireConfig(file: string, cacheDir?: string): Promise<Config> {
  const config = await loadConfig(file, cacheDir);
  if (!config) throw new ConfigError(`${file}: no such file; write one (every key is in /usr/share/doc/multiwan/README.md, "Config reference") or pass --config`);
  return config;
}

/** The plan for the links as they are recorded now. */
export async function currentPlan(config: Config, stateDir: string): Promise<Plan> {
  const ids = assignIds(config, readLinkIds(stateDir));
  return planRouting(config, readLinkStates(stateDir), ids);
}

export async function reconcile(ctx: Context): Promise<Applied & { inService: string[] }> {
  const config = await requireConfig(ctx.configFile, ctx.stateDir);
  return withLock(ctx.stateDir, async () => {
    const ids = assignIds(config, readLinkIds(ctx.stateDir));
    const plan = planRouting(config, readLinkStates(ctx.stateDir), ids);
    // The ruleset recorded states call for: the stamp is checked, not trusted.
    const applied = await applyPlan(ctx.run, plan, { dryRun: ctx.dryRun, previousNft: plan.nft });
    if (!ctx.dryRun) writeLinkIds(ctx.stateDir, ids);
    return { ...applied, inService: plan.inService };
  });
}

/** Removes every route, rule and the nft table multiwan owns, and forgets the link states. */
export async function takeDown(ctx: Context): Promise<Applied> {
  const config = await loadConfig(ctx.configFile).catch(() => undefined);
  return withLock(ctx.stateDir, async () => {
    const empty = planRouting(config ?? emptyConfig(ctx.configFile), {}, {});
    const applied = await applyPlan(ctx.run, empty, { dryRun: ctx.dryRun });
    if (ctx.dryRun) return applied;
    if (config) {
      const states = readLinkStates(ctx.stateDir);
      const ids = assignIds(config, readLinkIds(ctx.stateDir));
      const flushes = config.links
        .filter((l) => states[l.name]?.up)
        .map((l) => ({ kind: 'mark' as const, mark: linkNumbers(config, ids[l.name]!).mark, mask: config.markMask, link: l.name }));
      await flushConntrack(ctx.run, flushes);
    }
    clearLinkStates(ctx.stateDir);
    return applied;
  });
}

function emptyConfig(file: string): Config {
  return { file, lan: [], markMask: 0x3f00, tableBase: 200, rulePriority: 1000, links: [], policies: [], files: [] };
}
