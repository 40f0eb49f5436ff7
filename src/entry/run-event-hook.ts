import { defaultContext } from '../core/default-context.js';
import { handleLinkEvent } from '../core/handle-link-event.js';
import { renderApplied } from '../core/render-applied.js';
import type { LinkEvent } from '../events/types.js';
import { familyState } from '../state/types.js';

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
  /** failIfNotUp: `multiwan link up` that brings nothing up is an error (a hook's is only logged). */
  options: { dryRun?: boolean; verbose?: boolean; config?: string; failIfNotUp?: boolean } = {},
): Promise<number> {
  if (!event) return 0;
  const ctx = defaultContext(env, { dryRun: options.dryRun || env.MULTIWAN_DRY_RUN === '1', verbose: options.verbose ?? false, ...(options.config ? { config: options.config } : {}) });
  const outcome = await handleLinkEvent(ctx, event);
  if (outcome.kind === 'no-config') ctx.log(`multiwan: ${event.iface} ${event.reason}: no config at ${ctx.configFile}; nothing done`);
  if (outcome.kind === 'ignored') ctx.log(`multiwan: ${event.iface} ${event.reason}: no link of the config is on ${event.iface}; nothing done`);
  if (outcome.kind !== 'applied') return 0;
  const { result } = outcome;
  if (ctx.dryRun) ctx.say(renderApplied(result));
  const name = result.link!;
  const after = result.states[name];
  const families = event.families.length ? event.families : ([4, 6] as const);
  const broughtUp = event.action === 'down' || families.some((f) => familyState(after, f) !== undefined);
  const family = event.families.length === 1 && event.families[0] === 6 ? ' (IPv6)' : '';
  const what = broughtUp ? `${event.action}${family}` : `not brought up${family}`;
  const line = `multiwan: ${name} (${after?.iface ?? event.iface}) ${what}; in service: ${result.inService.join(', ') || 'none'}`;
  if (ctx.dryRun) ctx.say(`${line} (dry run: nothing changed)`);
  else ctx.log(line);
  return !broughtUp && options.failIfNotUp ? 1 : 0;
}
