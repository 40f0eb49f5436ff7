/**
 * Plan -> kernel, given what multiwan owns now (read back by readKernel): the
 * sysctls, then one `ip -batch` per family side by side, computed against the
 * routes and rules read, then one `nft -f` transaction unless the table's
 * stamp shows the kernel already holds this ruleset. nft runs only once both
 * batches went through: a transaction that fails changes nothing, so a
 * failure anywhere is undone exactly by bringing the owned routes and rules
 * of both families back to the sets read before (`ip -batch` stops at its
 * first failure keeping what ran). Returns what it ran, or with dryRun what
 * it would run.
 */
import type { Family } from '../net/address.js';
import { renderIpBatch } from '../plan/render-ip-batch.js';
import { nftCounterNames, nftStamp, renderNft } from '../plan/render-nft.js';
import type { Owned, PerFamily, Plan, Route } from '../plan/types.js';
import { readKernel } from './read-kernel.js';
import type { Runner } from './run-command.js';
import { writeSysctls } from './write-sysctls.js';

export interface Applied {
  ipBatch: PerFamily<string>;
  /** Empty when the kernel already held this ruleset. */
  nftScript: string;
}

export interface ApplyOptions {
  /** What multiwan owns now, read back in this event's round. */
  current: PerFamily<Owned>;
  /** The stamp of the nft table in force. */
  nftStamp: string;
  /** The named counters the table holds now. */
  nftCounters?: Readonly<Record<string, unknown>>;
  dryRun?: boolean;
  sysctlRoot?: string;
}

const FAMILIES = [4, 6] as const;

/** The outcome a failed apply reports when the kernel is back as it was read. */
export const RESTORED = 'nothing changed: the previous routing is in place';

export async function applyPlan(run: Runner, plan: Plan, options: ApplyOptions): Promise<Applied> {
  const ipBatch = { 4: renderIpBatch(options.current[4], plan.ip[4]), 6: renderIpBatch(options.current[6], plan.ip[6]) };
  // Counters of links or policies the plan no longer has go with this transaction.
  const declared = new Set(nftCounterNames(plan.nft));
  const stale = plan.nft.links.length ? Object.keys(options.nftCounters ?? {}).filter((name) => !declared.has(name)) : [];
  const nftScript = options.nftStamp === nftStamp(plan.nft) && !stale.length ? '' : renderNft(plan.nft, stale);
  if (options.dryRun) return { ipBatch, nftScript };

  writeSysctls(plan.sysctls, options.sysctlRoot);
  const ipRun = (family: Family) =>
    ipBatch[family] ? run(['ip', `-${family}`, '-batch', '-'], { input: ipBatch[family] }) : Promise.resolve(undefined);
  try {
    const results = await Promise.allSettled([ipRun(4), ipRun(6)]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    if (nftScript) await run(['nft', '-f', '-'], { input: nftScript });
  } catch (reason) {
    const restored = await restore(run, options);
    throw typeof (reason as { withOutcome?: unknown }).withOutcome === 'function'
      ? (reason as { withOutcome(o: string): Error }).withOutcome(restored)
      : reason;
  }
  return { ipBatch, nftScript };
}

/**
 * Back to the owned sets read before; says how that went. A route through an
 * interface that has vanished since (the likeliest reason the apply failed)
 * went with it in the kernel, and stays gone.
 */
async function restore(run: Runner, options: ApplyOptions): Promise<string> {
  try {
    const now = await readKernel(run);
    for (const family of FAMILIES) {
      const before = options.current[family];
      const target = { ...before, routes: before.routes.filter((route) => devicesOf(route).every((dev) => now.interfaces.has(dev))) };
      const batch = renderIpBatch(now.owned[family], target);
      if (batch) await run(['ip', `-${family}`, '-force', '-batch', '-'], { input: batch });
    }
    return RESTORED;
  } catch (error) {
    return `restoring the previous routing failed too (${error instanceof Error ? error.message : String(error)}); the next event or 'multiwan apply' repairs it`;
  }
}

function devicesOf(route: Route): string[] {
  return [...(route.dev ? [route.dev] : []), ...(route.nexthops ?? []).map((hop) => hop.dev)];
}
