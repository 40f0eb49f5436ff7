/**
 * What each `multiwan` command does, once its arguments are parsed: call the
 * core, print, return the exit status. src/entry/multiwan.ts only dispatches.
 */
import { checkWarnings } from '../check/check-warnings.js';
import { readCheckFacts } from '../check/read-check-facts.js';
import { requireConfig } from '../config/require-config.js';
import type { Context } from '../core/context.js';
import { explain } from '../core/explain.js';
import { readCurrent } from '../core/read-current.js';
import { reconcile } from '../core/reconcile.js';
import { renderApplied } from '../core/render-applied.js';
import { renderExplanation } from '../core/render-explanation.js';
import { readStatus } from '../core/read-status.js';
import { renderStatusPrometheus } from '../core/render-status-prometheus.js';
import { renderStatus } from '../core/render-status.js';
import { statusExitCode } from '../core/status-report.js';
import { takeDown } from '../core/take-down.js';
import { runEventHook } from '../entry/run-event-hook.js';
import { parseLinkCommand } from '../events/parse-link-command.js';
import { startMonitor } from '../monitor/run-monitor.js';
import { renderIpBatch } from '../plan/render-ip-batch.js';
import { renderNft } from '../plan/render-nft.js';

export type Argv = Record<string, unknown>;
export type Handler = (ctx: Context, argv: Argv) => Promise<number>;

const strings = (value: unknown): string[] | undefined => (Array.isArray(value) ? value.map(String) : undefined);

export const handlers: Record<string, Handler> = {
  async status(ctx, argv) {
    const report = await readStatus(ctx);
    const format = argv.json ? 'json' : String(argv.format ?? 'text');
    ctx.say(format === 'json' ? JSON.stringify(report, null, 2) : format === 'prometheus' ? renderStatusPrometheus(report).trimEnd() : renderStatus(report));
    return statusExitCode(report);
  },

  async apply(ctx) {
    const applied = await reconcile(ctx);
    ctx.say(ctx.dryRun ? renderApplied(applied) : `in service: ${applied.inService.join(', ') || 'none'}`);
    return 0;
  },

  async check(ctx) {
    const config = await requireConfig(ctx.configFile);
    ctx.say(`${ctx.configFile}: ok, ${config.links.length} link(s)`);
    const { plan, states } = await readCurrent(ctx, config);
    const up = Object.values(states).filter((s) => s.v4).map((s) => ({ link: s.link, iface: s.iface }));
    const warnings = checkWarnings(config, await readCheckFacts(ctx.run, config, up));
    for (const warning of warnings) ctx.say(`warning: ${warning}`);
    const none = { routes: [], rules: [] };
    ctx.say(`# IPv4 routes and rules (as an ip batch from nothing)\n${renderIpBatch(none, plan.ip[4])}# IPv6\n${renderIpBatch(none, plan.ip[6])}# nft -f -\n${renderNft(plan.nft)}`);
    return 0;
  },

  async explain(ctx, argv) {
    const result = await explain(ctx, {
      src: String(argv.src),
      dst: String(argv.dst),
      ...(argv.proto !== undefined ? { protocol: String(argv.proto) } : {}),
      ...(argv.sport !== undefined ? { sport: Number(argv.sport) } : {}),
      ...(argv.dport !== undefined ? { dport: Number(argv.dport) } : {}),
      ...(argv.iif !== undefined ? { iif: String(argv.iif) } : {}),
    });
    ctx.say(argv.json ? JSON.stringify(result, null, 2) : renderExplanation(result));
    return 0;
  },

  async link(ctx, argv) {
    const event = parseLinkCommand({
      action: String(argv.action),
      target: String(argv.target),
      ...(strings(argv.local) ? { local: strings(argv.local)! } : {}),
      ...(strings(argv.peer) ? { peer: strings(argv.peer)! } : {}),
      ...(strings(argv.gateway) ? { gateway: strings(argv.gateway)! } : {}),
    });
    return runEventHook(event, process.env, { dryRun: ctx.dryRun ?? false, verbose: ctx.verbose ?? false, config: ctx.configFile, failIfNotUp: true });
  },

  async monitor(context) {
    // It runs for ever: its lines go to its stdout, which systemd keeps in the journal.
    const ctx: Context = { ...context, log: context.say };
    const monitor = await startMonitor(ctx, ctx.log);
    process.on('SIGHUP', () => void monitor.reload());
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve());
      process.once('SIGINT', () => resolve());
    });
    await monitor.stop();
    ctx.log('stopped');
    return 0;
  },

  async down(ctx) {
    const applied = await takeDown(ctx);
    if (ctx.dryRun) ctx.say(renderApplied(applied));
    return 0;
  },
};
