/**
 * One link event, start to finish: config, match, lock, state, plan, apply,
 * conntrack cleanup, state written last (so a failed apply leaves the recorded
 * state, like the kernel, as it was).
 */
import { applyPlan } from '../apply/apply-plan.js';
import { flushConntrack } from '../apply/flush-conntrack.js';
import { readInterfaceAddress } from '../apply/read-interface.js';
import { loadConfig } from '../config/load-config.js';
import { matchLink } from '../events/match-link.js';
import type { LinkEvent } from '../events/types.js';
import { assignIds, linkNumbers } from '../plan/assign-ids.js';
import { planFlush } from '../plan/plan-flush.js';
import { planRouting } from '../plan/plan-routing.js';
import { readLinkIds, readLinkStates, writeLinkIds, writeLinkState } from '../state/state-store.js';
import type { LinkState } from '../state/types.js';
import { withLock } from '../state/with-lock.js';
import type { Context } from './context.js';

export type EventOutcome =
  | { kind: 'no-config' }
  | { kind: 'ignored' }
  | { kind: 'applied'; link: string; ipBatch: string; nftScript: string; inService: string[] };

export async function handleLinkEvent(ctx: Context, event: LinkEvent): Promise<EventOutcome> {
  const config = await loadConfig(ctx.configFile, ctx.stateDir);
  if (!config) return { kind: 'no-config' };
  const link = matchLink(config, event);
  if (!link) return { kind: 'ignored' };

  return withLock(ctx.stateDir, async () => {
    const states = readLinkStates(ctx.stateDir);
    const ids = assignIds(config, readLinkIds(ctx.stateDir));
    const before = states[link.name];
    const address =
      event.action === 'up' && !event.local ? await readInterfaceAddress(ctx.run, event.iface) : event;
    const up = event.action === 'up';
    const after: LinkState = {
      link: link.name,
      iface: event.iface,
      up,
      ...((address.local ?? before?.local) ? { local: address.local ?? before?.local } : {}),
      ...((address.peer ?? before?.peer) ? { peer: address.peer ?? before?.peer } : {}),
      since: before && before.up === up ? before.since : ctx.now().toISOString(),
    };
    const next = { ...states, [link.name]: after };
    const plan = planRouting(config, next, ids);
    const previousNft = planRouting(config, states, ids).nft;
    const applied = await applyPlan(ctx.run, plan, { dryRun: ctx.dryRun, previousNft });
    const inService = plan.nft.links.map((l) => l.name);
    if (ctx.dryRun) return { kind: 'applied', link: link.name, ...applied, inService };

    const { mark } = linkNumbers(config, ids[link.name]!);
    await flushConntrack(ctx.run, planFlush(before, after, { mark, mask: config.markMask }));
    writeLinkIds(ctx.stateDir, ids);
    writeLinkState(ctx.stateDir, after);
    return { kind: 'applied', link: link.name, ...applied, inService };
  });
}
