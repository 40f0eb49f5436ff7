import { defaultContext } from '../core/default-context.js';
import { handleLinkEvent } from '../core/handle-link-event.js';
import { parsePppEvent } from '../events/parse-ppp-event.js';

/**
 * Shared body of ip-up and ip-down: argv/env in, one line out. By hand,
 * `--dry-run` (or MULTIWAN_DRY_RUN=1) prints the ip batch and nft script the
 * event would run, and changes nothing.
 */
export async function runPppHook(action: 'up' | 'down', args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const argv = args.filter((arg) => arg !== '--dry-run');
  const event = parsePppEvent(action, argv, env);
  const ctx = defaultContext(env, { dryRun: env.MULTIWAN_DRY_RUN === '1' || argv.length < args.length });
  const outcome = await handleLinkEvent(ctx, event);
  if (outcome.kind === 'no-config') ctx.say(`multiwan: no config at ${ctx.configFile}; nothing done`);
  if (outcome.kind === 'applied') {
    if (ctx.dryRun) {
      ctx.say(`# ip -4 -batch -\n${outcome.ipBatch}# nft -f -\n${outcome.nftScript || '# (the nft table already holds this ruleset)\n'}`);
    }
    ctx.say(`multiwan: ${outcome.link} (${event.iface}) ${action}; in service: ${outcome.inService.join(', ') || 'none'}`);
  }
  return 0;
}
