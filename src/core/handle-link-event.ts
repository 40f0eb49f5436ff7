/**
 * One link event (pppd, dhclient, dhcpcd, ifupdown, `multiwan link`): through
 * the pipeline with the config on disk now. An event no link claims changes
 * nothing; without a config file the hooks do nothing.
 */
import { loadConfig } from '../config/load-config.js';
import type { LinkEvent } from '../events/types.js';
import { changeLinks, type ChangeOutcome } from './change-links.js';
import type { Context } from './context.js';

export function handleLinkEvent(ctx: Context, event: LinkEvent): Promise<ChangeOutcome> {
  return changeLinks(ctx, { kind: 'event', event }, () => loadConfig(ctx.configFile, ctx.stateDir));
}
