/**
 * One link event from pppd (or the admin running a hook by hand): config,
 * match, then the link's new state through changeLink.
 */
import { readInterfaceAddress } from '../apply/read-interface.js';
import { loadConfig } from '../config/load-config.js';
import { matchLink } from '../events/match-link.js';
import type { LinkEvent } from '../events/types.js';
import type { LinkState } from '../state/types.js';
import { changeLink } from './change-link.js';
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

  const change = await changeLink(ctx, config, link, async (before) => {
    const address = event.action === 'up' && !event.local ? await readInterfaceAddress(ctx.run, event.iface) : event;
    const up = event.action === 'up';
    const local = address.local ?? before?.local;
    const peer = address.peer ?? before?.peer;
    const next: LinkState = {
      link: link.name,
      iface: event.iface,
      up,
      ...(local ? { local } : {}),
      ...(peer ? { peer } : {}),
      since: before && before.up === up ? before.since : ctx.now().toISOString(),
    };
    // A link that comes (back) up is in service until the monitor finds otherwise;
    // pppd re-running ip-up for a link already up keeps the monitor's verdict.
    if (up && before?.up && before.healthy === false) {
      return { ...next, healthy: false, ...(before.healthReason ? { healthReason: before.healthReason } : {}), ...(before.healthSince ? { healthSince: before.healthSince } : {}) };
    }
    return next;
  });
  return { kind: 'applied', link: link.name, ipBatch: change!.ipBatch, nftScript: change!.nftScript, inService: change!.inService };
}
