/**
 * The one pipeline every change goes through, whoever reports it (pppd's,
 * dhclient's and ifupdown's hooks, `multiwan link`, the health monitor,
 * `multiwan apply`): under the lock, the config on disk now, the recorded
 * states, and in one read-back round what multiwan owns in the kernel and the
 * live interfaces; then each link's next state (the record checked against
 * the kernel, then the input), the plan, the apply; the states recorded as
 * soon as the kernel holds them; the stale connections flushed last, a flush
 * that fails being a warning that changes nothing already done.
 *
 * An interface can vanish between the read-back and the apply (pppd killed
 * while another link's ip-up runs): the apply fails on it and is undone. When
 * a second read shows the interfaces changed, the change is planned once more
 * from that read, so one link's trouble does not cost another its event.
 */
import { applyPlan, RESTORED, type Applied } from '../apply/apply-plan.js';
import { flushConntrack } from '../apply/flush-conntrack.js';
import { readKernel, type KernelView } from '../apply/read-kernel.js';
import type { Config } from '../config/types.js';
import { CommandError } from '../errors.js';
import { matchLink, resolveEvent } from '../events/match-link.js';
import type { LinkEvent } from '../events/types.js';
import { assignIds, linkNumbers } from '../plan/assign-ids.js';
import { planFlush } from '../plan/plan-flush.js';
import { planRouting } from '../plan/plan-routing.js';
import type { Plan } from '../plan/types.js';
import { changedInterfaces } from '../state/live.js';
import { nextLinkStates, type LinkInput, type Transition } from '../state/next-link-state.js';
import { ensureStateDir, readLinkIds, readLinkStates, writeLinkIds, writeLinkState } from '../state/state-store.js';
import type { LinkStates } from '../state/types.js';
import { withLock } from '../state/with-lock.js';
import type { Context } from './context.js';

export type ChangeInput =
  | { kind: 'event'; event: LinkEvent }
  | { kind: 'verdict'; link: string; healthy: boolean; reason: string; expect?: { since: string } }
  | { kind: 'refresh' };

export interface ChangeResult extends Applied {
  config: Config;
  /** The link the input was about. */
  link?: string;
  states: LinkStates;
  plan: Plan;
  inService: string[];
  transitions: Transition[];
  /** What the check against the kernel found (already logged). */
  notes: string[];
}

export type ChangeOutcome = { kind: 'applied'; result: ChangeResult } | { kind: 'no-config' } | { kind: 'ignored' };

/** `loadConfig` is called under the lock, so the plan is made from the config on disk at that moment. */
export async function changeLinks(
  ctx: Context,
  input: ChangeInput,
  loadConfig: () => Promise<Config | undefined>,
): Promise<ChangeOutcome> {
  ensureStateDir(ctx.stateDir);
  return withLock(ctx.stateDir, async (): Promise<ChangeOutcome> => {
    const config = await loadConfig();
    if (!config) return { kind: 'no-config' };
    const target = targetLink(config, input);
    if (target === null) return { kind: 'ignored' };

    const recorded = readLinkStates(ctx.stateDir);
    const ids = assignIds(config, readLinkIds(ctx.stateDir));
    const now = ctx.now().toISOString();

    const attempt = async (kernel: KernelView) => {
      const next = nextLinkStates(config, recorded, target, inputFor(config, input), kernel.interfaces, now);
      const plan = planRouting(config, next.states, ids);
      const applied = await applyPlan(ctx.run, plan, {
        current: kernel.owned,
        nftStamp: kernel.nftStamp,
        nftCounters: kernel.nftCounters,
        dryRun: ctx.dryRun,
        ...(ctx.sysctlRoot ? { sysctlRoot: ctx.sysctlRoot } : {}),
      });
      return { ...next, plan, applied };
    };
    const first = await readKernel(ctx.run);
    const { states, changed, notes, transitions, plan, applied } = await attempt(first).catch(async (error: unknown) => {
      // Undone exactly, and the interfaces are not those it was planned for: once more, from a new read.
      if (!(error instanceof CommandError) || error.outcome !== RESTORED) throw error;
      const again = await readKernel(ctx.run).catch(() => undefined);
      const moved = again ? changedInterfaces(first.interfaces, again.interfaces) : [];
      if (!again || !moved.length) throw error;
      ctx.log(`${error.message}; ${moved.join(', ')} changed meanwhile: planned again`);
      return attempt(again);
    });
    const result: ChangeResult = { ...applied, config, ...(target ? { link: target } : {}), states, plan, inService: plan.inService, transitions, notes };
    if (ctx.dryRun) return { kind: 'applied', result };

    writeLinkIds(ctx.stateDir, ids);
    for (const state of changed) writeLinkState(ctx.stateDir, state);
    notes.forEach(ctx.log);
    if (ctx.verbose) logApplied(ctx, applied);
    if (transitions.length) ctx.notify?.(transitions, plan.inService);

    const flushes = config.links.flatMap((link) =>
      planFlush(recorded[link.name], states[link.name], {
        ...linkNumbers(config, ids[link.name]!),
        mask: config.markMask,
        flushOnHealth: link.flushConntrack,
      }),
    );
    const failures = await flushConntrack(ctx.run, flushes);
    if (failures.length) {
      failures.slice(1).forEach((failure) => ctx.log(failure.message));
      throw failures[0];
    }
    return { kind: 'applied', result };
  });
}

/** --verbose: what ran, one log line per line of it. */
function logApplied(ctx: Context, applied: Applied): void {
  for (const [what, text] of [['ip -4 -batch', applied.ipBatch[4]], ['ip -6 -batch', applied.ipBatch[6]], ['nft -f', applied.nftScript]] as const) {
    for (const line of text.split('\n').filter(Boolean)) ctx.log(`${what}: ${line}`);
  }
}

/** The link an input is about: undefined for a refresh, null for an event no link claims. */
function targetLink(config: Config, input: ChangeInput): string | undefined | null {
  if (input.kind === 'refresh') return undefined;
  if (input.kind === 'verdict') return config.links.some((l) => l.name === input.link) ? input.link : null;
  return matchLink(config, input.event)?.name ?? null;
}

function inputFor(config: Config, input: ChangeInput): LinkInput {
  if (input.kind === 'verdict') {
    return { kind: 'verdict', healthy: input.healthy, reason: input.reason, ...(input.expect ? { expect: input.expect } : {}) };
  }
  return input.kind === 'event' ? { kind: 'event', event: resolveEvent(config, input.event) } : { kind: 'refresh' };
}
