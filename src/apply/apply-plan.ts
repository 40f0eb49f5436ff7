/**
 * Plan -> kernel, given what multiwan owns now (read back by readKernel). The
 * sysctls first, then side by side one `ip -batch` per family, computed
 * against the routes and rules read, and one `nft -f` transaction unless the
 * table's stamp shows the kernel already holds this ruleset. `ip -batch`
 * stops at the first failure keeping what ran, so on any failure the owned
 * routes and rules of both families are brought back to the sets read before,
 * and an nft transaction that did go through is replaced by the previous
 * plan's. Returns what it ran, or with dryRun what it would run.
 */
import { renderIpBatch } from '../plan/render-ip-batch.js';
import { nftStamp, renderNft } from '../plan/render-nft.js';
import type { NftPlan, Owned, PerFamily, Plan } from '../plan/types.js';
import type { Family } from '../net/address.js';
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
  /** The nft plan in force before: restored if the routing half fails. */
  previousNft?: NftPlan;
  dryRun?: boolean;
  sysctlRoot?: string;
}

const FAMILIES = [4, 6] as const;

export async function applyPlan(run: Runner, plan: Plan, options: ApplyOptions): Promise<Applied> {
  const ipBatch = { 4: renderIpBatch(options.current[4], plan.ip[4]), 6: renderIpBatch(options.current[6], plan.ip[6]) };
  const nftScript = options.nftStamp === nftStamp(plan.nft) ? '' : renderNft(plan.nft);
  if (options.dryRun) return { ipBatch, nftScript };

  writeSysctls(plan.sysctls, options.sysctlRoot);
  const ipRun = (family: Family) =>
    ipBatch[family] ? run(['ip', `-${family}`, '-batch', '-'], { input: ipBatch[family] }) : Promise.resolve(undefined);
  const results = await Promise.allSettled([
    ipRun(4),
    ipRun(6),
    nftScript ? run(['nft', '-f', '-'], { input: nftScript }) : Promise.resolve(undefined),
  ]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (!failed) return { ipBatch, nftScript };

  const restored = await restore(run, options, nftScript !== '' && results[2].status === 'fulfilled');
  const reason = failed.reason as unknown;
  throw typeof (reason as { withOutcome?: unknown }).withOutcome === 'function'
    ? (reason as { withOutcome(o: string): Error }).withOutcome(restored)
    : reason;
}

/** Back to the owned sets read before (and the previous ruleset); says how that went. */
async function restore(run: Runner, options: ApplyOptions, nftChanged: boolean): Promise<string> {
  try {
    const now = await readKernel(run);
    for (const family of FAMILIES) {
      const batch = renderIpBatch(now.owned[family], options.current[family]);
      if (batch) await run(['ip', `-${family}`, '-force', '-batch', '-'], { input: batch });
    }
    if (nftChanged && options.previousNft) await run(['nft', '-f', '-'], { input: renderNft(options.previousNft) });
    return 'nothing changed: the previous routing is in place';
  } catch (error) {
    return `restoring the previous routing failed too (${error instanceof Error ? error.message : String(error)}); the next event or 'multiwan apply' repairs it`;
  }
}
