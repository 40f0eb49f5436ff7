import { defaultContext } from '../core/default-context.js';
import { handleLinkEvent } from '../core/handle-link-event.js';
import { parsePppEvent } from '../events/parse-ppp-event.js';

/** Shared body of ip-up and ip-down: argv/env in, one line out. */
export async function runPppHook(action: 'up' | 'down', argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const event = parsePppEvent(action, argv, env);
  const ctx = defaultContext(env, { dryRun: env.MULTIWAN_DRY_RUN === '1' });
  const outcome = await handleLinkEvent(ctx, event);
  if (outcome.kind === 'no-config') ctx.say(`multiwan: no config at ${ctx.configFile}; nothing done`);
  if (outcome.kind === 'applied') {
    if (ctx.dryRun) ctx.say(`# ip -batch\n${outcome.ipBatch}# nft -f\n${outcome.nftScript}`);
    ctx.say(`multiwan: ${outcome.link} (${event.iface}) ${action}; in service: ${outcome.inService.join(', ') || 'none'}`);
  }
  return 0;
}
