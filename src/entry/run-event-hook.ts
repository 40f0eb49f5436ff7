import { defaultContext } from '../core/default-context.js';
import { handleLinkEvent } from '../core/handle-link-event.js';
import { renderApplied } from '../core/render-applied.js';
import type { LinkEvent } from '../events/types.js';

/**
 * Shared body of every hook (pppd's, dhclient's, dhcpcd's, ifupdown's) and of
 * `multiwan link`: one event through the pipeline, one line out. `--dry-run`
 * (or MULTIWAN_DRY_RUN=1) prints the ip batches and nft script the event
 * would run, and changes nothing. No event (a reason that changes nothing, a
 * stanza that is not multiwan's): exit 0 at once.
 */
export async function runEventHook(
  event: LinkEvent | undefined,
  env: NodeJS.ProcessEnv,
  options: { dryRun?: boolean; verbose?: boolean; config?: string } = {},
): Promise<number> {
  if (!event) return 0;
  const ctx = defaultContext(env, { dryRun: options.dryRun || env.MULTIWAN_DRY_RUN === '1', verbose: options.verbose ?? false, ...(options.config ? { config: options.config } : {}) });
  const outcome = await handleLinkEvent(ctx, event);
  if (outcome.kind === 'no-config') ctx.log(`multiwan: ${event.iface} ${event.reason}: no config at ${ctx.configFile}; nothing done`);
  if (outcome.kind === 'ignored') ctx.log(`multiwan: ${event.iface} ${event.reason}: no link of the config is on ${event.iface}; nothing done`);
  if (outcome.kind === 'applied') {
    if (ctx.dryRun) ctx.say(renderApplied(outcome.result));
    const family = event.families.length === 1 && event.families[0] === 6 ? ' (IPv6)' : '';
    const line = `multiwan: ${outcome.result.link} (${outcome.result.states[outcome.result.link!]?.iface ?? event.iface}) ${event.action}${family}; in service: ${outcome.result.inService.join(', ') || 'none'}`;
    if (ctx.dryRun) ctx.say(`${line} (dry run: nothing changed)`);
    else ctx.log(line);
  }
  return 0;
}
