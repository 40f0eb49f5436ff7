import { defaultContext } from '../core/default-context.js';
import { handleLinkEvent } from '../core/handle-link-event.js';
import { renderApplied } from '../core/render-applied.js';
import { parsePppEvent } from '../events/parse-ppp-event.js';
import type { Family } from '../net/address.js';

/**
 * Shared body of ip-up, ip-down, ipv6-up and ipv6-down: argv/env in, one line
 * out. By hand, `--dry-run` (or MULTIWAN_DRY_RUN=1) prints the ip batches and
 * nft script the event would run, and changes nothing.
 */
export async function runPppHook(action: 'up' | 'down', args: string[], env: NodeJS.ProcessEnv, family: Family = 4): Promise<number> {
  const argv = args.filter((arg) => arg !== '--dry-run');
  const event = parsePppEvent(action, argv, env, family);
  const ctx = defaultContext(env, { dryRun: env.MULTIWAN_DRY_RUN === '1' || argv.length < args.length });
  const outcome = await handleLinkEvent(ctx, event);
  if (outcome.kind === 'no-config') ctx.say(`multiwan: no config at ${ctx.configFile}; nothing done`);
  if (outcome.kind === 'applied') {
    if (ctx.dryRun) ctx.say(renderApplied(outcome.result));
    ctx.say(`multiwan: ${outcome.result.link} (${event.iface}) ${action}${family === 6 ? ' (IPv6)' : ''}; in service: ${outcome.result.inService.join(', ') || 'none'}`);
  }
  return 0;
}
