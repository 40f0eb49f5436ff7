/**
 * Plan -> kernel. What multiwan owns is read back first: routes and rules by
 * protocol id, and, when the previous plan's ruleset is the same as this one
 * (pppd renegotiating, a weight change), the nft table's plan stamp. Then the
 * sysctls, then, side by side, one `ip -batch` computed against the routes and
 * rules read, and one `nft -f` transaction unless the stamp shows the kernel
 * already holds this ruleset. The script is idempotent, so applying it when
 * the stamp was not read is only a few milliseconds, never wrong. `ip -batch`
 * stops at the first failure keeping what ran, so on any failure the owned
 * routes and rules are brought back to the set read before, and an nft
 * transaction that did go through is replaced by the previous plan's.
 * Returns what it ran, or with dryRun what it would run.
 */
import { renderIpBatch } from '../plan/render-ip-batch.js';
import { nftStamp, parseNftStamp, renderNft } from '../plan/render-nft.js';
import type { NftPlan, Owned, Plan } from '../plan/types.js';
import { readOwned } from './read-owned.js';
import type { Runner } from './run-command.js';
import { writeSysctls } from './write-sysctls.js';

export interface Applied {
  ipBatch: string;
  /** Empty when the kernel already held this ruleset. */
  nftScript: string;
}

export interface ApplyOptions {
  dryRun?: boolean;
  /** The nft plan in force before: restored if the routing half fails; when it equals the new one, the kernel's stamp is checked. */
  previousNft?: NftPlan;
  sysctlRoot?: string;
}

export async function applyPlan(run: Runner, plan: Plan, options: ApplyOptions = {}): Promise<Applied> {
  const wanted = nftStamp(plan.nft);
  const mayBeInForce = options.previousNft !== undefined && nftStamp(options.previousNft) === wanted;
  const [before, stamp] = await Promise.all([readOwned(run, 4), mayBeInForce ? readNftStamp(run) : undefined]);
  const ipBatch = renderIpBatch(before, plan.ip4);
  const nftScript = stamp === wanted ? '' : renderNft(plan.nft);
  if (options.dryRun) return { ipBatch, nftScript };

  writeSysctls(plan.sysctls, options.sysctlRoot);
  const [ip, nft] = await Promise.allSettled([
    ipBatch ? run(['ip', '-4', '-batch', '-'], { input: ipBatch }) : Promise.resolve(undefined),
    nftScript ? run(['nft', '-f', '-'], { input: nftScript }) : Promise.resolve(undefined),
  ]);
  if (ip.status === 'rejected' || nft.status === 'rejected') {
    await restoreRouting(run, before).catch(() => undefined);
    if (nftScript && nft.status === 'fulfilled' && options.previousNft) {
      await run(['nft', '-f', '-'], { input: renderNft(options.previousNft) }).catch(() => undefined);
    }
    throw ip.status === 'rejected' ? ip.reason : (nft as PromiseRejectedResult).reason;
  }
  return { ipBatch, nftScript };
}

/** The plan stamp of the nft table in force (ABSENT when there is no table). */
async function readNftStamp(run: Runner): Promise<string> {
  const { stdout } = await run(['nft', 'list', 'chain', 'inet', 'multiwan', 'stamp'], { okCodes: [0, 1] });
  return parseNftStamp(stdout);
}

async function restoreRouting(run: Runner, before: Owned): Promise<void> {
  const batch = renderIpBatch(await readOwned(run, 4), before);
  if (batch) await run(['ip', '-4', '-force', '-batch', '-'], { input: batch });
}
