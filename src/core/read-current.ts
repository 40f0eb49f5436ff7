/**
 * The links as they are now, for the commands that only look (status, check,
 * explain): the recorded states checked against the live interfaces, as the
 * next event would find them, without recording or applying anything.
 */
import { readKernel, type KernelView } from '../apply/read-kernel.js';
import type { Config } from '../config/types.js';
import { assignIds } from '../plan/assign-ids.js';
import { planRouting } from '../plan/plan-routing.js';
import type { Plan } from '../plan/types.js';
import { nextLinkStates } from '../state/next-link-state.js';
import { readLinkIds, readLinkStates } from '../state/state-store.js';
import type { LinkIds, LinkStates } from '../state/types.js';
import type { Context } from './context.js';

export interface Current {
  states: LinkStates;
  ids: LinkIds;
  plan: Plan;
  kernel: KernelView;
  /** What the next event will find (a link that vanished), one line each. */
  notes: string[];
}

export async function readCurrent(ctx: Context, config: Config): Promise<Current> {
  const recorded = readLinkStates(ctx.stateDir);
  const ids = assignIds(config, readLinkIds(ctx.stateDir));
  const kernel = await readKernel(ctx.run);
  const { states, notes } = nextLinkStates(config, recorded, undefined, { kind: 'refresh' }, kernel.interfaces, ctx.now().toISOString());
  return { states, ids, plan: planRouting(config, states, ids), kernel, notes };
}
