import type { Config } from '../config/types.js';
import { changeLink, type LinkChange } from './change-link.js';
import type { Context } from './context.js';

/**
 * The monitor's verdict on a link, through the same pipeline as pppd's
 * events. Changes nothing when the link is not up or the verdict is the one
 * already recorded.
 */
export async function setLinkHealth(
  ctx: Context,
  config: Config,
  name: string,
  healthy: boolean,
  reason: string,
  /** The incarnation the verdict is about: a link that went down and up since is left alone. */
  expect?: { local: string; since: string },
): Promise<LinkChange | undefined> {
  const link = config.links.find((l) => l.name === name);
  if (!link) return undefined;
  return changeLink(ctx, config, link, (before) => {
    if (!before?.up || (before.healthy !== false) === healthy) return undefined;
    if (expect && (before.local !== expect.local || before.since !== expect.since)) return undefined;
    const { healthReason: _dropped, ...rest } = before;
    return {
      ...rest,
      healthy,
      ...(healthy ? {} : { healthReason: reason }),
      healthSince: ctx.now().toISOString(),
    };
  });
}
