/**
 * Plan -> kernel. Sysctls, then, side by side, one `ip -batch` computed
 * against what multiwan owns now and one `nft -f` transaction. `ip -batch`
 * stops at the first failure keeping what ran, so on any failure the owned
 * routes and rules are brought back to the set read before, and an nft
 * transaction that did go through is replaced by the previous plan's.
 * Returns what it ran, or with dryRun what it would run.
 */
import { renderIpBatch } from '../plan/render-ip-batch.js';
import { renderNft } from '../plan/render-nft.js';
import type { NftPlan, Owned, Plan } from '../plan/types.js';
import { readOwned } from './read-owned.js';
import type { Runner } from './run-command.js';
import { writeSysctls } from './write-sysctls.js';

export interface Applied {
  ipBatch: string;
  nftScript: string;
}

export interface ApplyOptions {
  dryRun?: boolean;
  /** The nft plan in force before, restored if the routing half fails. */
  previousNft?: NftPlan;
  sysctlRoot?: string;
}

export async function applyPlan(run: Runner, plan: Plan, options: ApplyOptions = {}): Promise<Applied> {
  const before = await readOwned(run, 4);
  const ipBatch = renderIpBatch(before, plan.ip4);
  const nftScript = renderNft(plan.nft);
  if (options.dryRun) return { ipBatch, nftScript };

  writeSysctls(plan.sysctls, options.sysctlRoot);
  const [ip, nft] = await Promise.allSettled([
    ipBatch ? run(['ip', '-4', '-batch', '-'], { input: ipBatch }) : Promise.resolve(undefined),
    run(['nft', '-f', '-'], { input: nftScript }),
  ]);
  if (ip.status === 'rejected' || nft.status === 'rejected') {
    await restoreRouting(run, before).catch(() => undefined);
    if (nft.status === 'fulfilled' && options.previousNft) {
      await run(['nft', '-f', '-'], { input: renderNft(options.previousNft) }).catch(() => undefined);
    }
    throw ip.status === 'rejected' ? ip.reason : (nft as PromiseRejectedResult).reason;
  }
  return { ipBatch, nftScript };
}

async function restoreRouting(run: Runner, before: Owned): Promise<void> {
  const batch = renderIpBatch(await readOwned(run, 4), before);
  if (batch) await run(['ip', '-4', '-force', '-batch', '-'], { input: batch });
}
