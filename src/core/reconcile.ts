import { requireConfig } from '../config/require-config.js';
import { changeLinks, type ChangeResult } from './change-links.js';
import type { Context } from './context.js';

/**
 * `multiwan apply`: brings the kernel in line with the config on disk and the
 * links as they are (the record checked against the live interfaces).
 */
export async function reconcile(ctx: Context): Promise<ChangeResult> {
  const outcome = await changeLinks(ctx, { kind: 'refresh' }, () => requireConfig(ctx.configFile, ctx.stateDir));
  if (outcome.kind !== 'applied') throw new Error(`reconcile: unexpected ${outcome.kind}`);
  return outcome.result;
}
