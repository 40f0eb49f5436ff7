/**
 * The one way a link's recorded state changes, whoever reports it (pppd's
 * hooks, the health monitor): under the lock, read the states, derive the
 * link's new state, plan, apply, clean up conntrack, and record the state last,
 * so a failed apply leaves the record, like the kernel, as it was.
 */
import { applyPlan, type Applied } from '../apply/apply-plan.js';
import { flushConntrack } from '../apply/flush-conntrack.js';
import type { Config, LinkConfig } from '../config/types.js';
import { assignIds, linkNumbers } from '../plan/assign-ids.js';
import { planFlush } from '../plan/plan-flush.js';
import { planNft, planRouting } from '../plan/plan-routing.js';
import { readLinkIds, readLinkStates, writeLinkIds, writeLinkState } from '../state/state-store.js';
import type { LinkState } from '../state/types.js';
import { withLock } from '../state/with-lock.js';
import type { Context } from './context.js';

export interface LinkChange extends Applied {
  before: LinkState | undefined;
  after: LinkState;
  inService: string[];
}

/** `update` returns the link's next state, or undefined to change nothing. */
export async function changeLink(
  ctx: Context,
  config: Config,
  link: LinkConfig,
  update: (before: LinkState | undefined) => Promise<LinkState | undefined> | LinkState | undefined,
): Promise<LinkChange | undefined> {
  return withLock(ctx.stateDir, async () => {
    const states = readLinkStates(ctx.stateDir);
    const ids = assignIds(config, readLinkIds(ctx.stateDir));
    const before = states[link.name];
    const after = await update(before);
    if (!after) return undefined;
    const plan = planRouting(config, { ...states, [link.name]: after }, ids);
    const previousNft = planNft(config, states, ids);
    const applied = await applyPlan(ctx.run, plan, { dryRun: ctx.dryRun, previousNft });
    const change = { ...applied, before, after, inService: plan.inService };
    if (ctx.dryRun) return change;

    const { mark } = linkNumbers(config, ids[link.name]!);
    await flushConntrack(ctx.run, planFlush(before, after, { mark, mask: config.markMask, flushOnHealth: link.flushConntrack }));
    writeLinkIds(ctx.stateDir, ids);
    writeLinkState(ctx.stateDir, after);
    return change;
  });
}
