import type { Config } from '../config/types.js';
import { changeLinks, type ChangeOutcome } from './change-links.js';
import type { Context } from './context.js';

/**
 * The monitor's verdict on a link, through the same pipeline as the hooks'
 * events, planned with the config `loadConfig` finds on disk under the lock.
 * Changes nothing when the link is not up, the verdict is the one already
 * recorded, or the link went down and up since the verdict's probes began.
 */
export function setLinkHealth(
  ctx: Context,
  verdict: { link: string; healthy: boolean; reason: string; expect?: { since: string } },
  loadConfig: () => Promise<Config | undefined>,
): Promise<ChangeOutcome> {
  return changeLinks(ctx, { kind: 'verdict', ...verdict }, loadConfig);
}
