// The admin's command: status, apply, check, explain, link, monitor, down.
import yargs from 'yargs/yargs';
import { defaultContext } from '../core/default-context.js';
import { explain } from '../core/explain.js';
import { readCurrent } from '../core/read-current.js';
import { reconcile } from '../core/reconcile.js';
import { renderApplied } from '../core/render-applied.js';
import { renderExplanation } from '../core/render-explanation.js';
import { renderStatus } from '../core/render-status.js';
import { takeDown } from '../core/take-down.js';
import { requireConfig } from '../config/require-config.js';
import { renderIpBatch } from '../plan/render-ip-batch.js';
import { renderNft } from '../plan/render-nft.js';
import { startMonitor } from '../monitor/run-monitor.js';
import { readLinkHealth } from '../state/state-store.js';
import { parseLinkCommand } from '../events/parse-link-command.js';
import { runEventHook } from './run-event-hook.js';
import { runMain } from './run-main.js';

const options = { config: { type: 'string', describe: 'config file (default $MULTIWAN_CONFIG or /etc/multiwan/multiwan.toml)' } } as const;
const contextOf = (argv: Record<string, unknown>) =>
  defaultContext(process.env, { config: argv.config as string | undefined, dryRun: argv['dry-run'] === true });
const dryRun = { 'dry-run': { type: 'boolean', default: false, describe: 'print the ip batch and nft script instead of running them' } } as const;

void runMain('multiwan', async () => {
  let code = 0;
  await yargs(process.argv.slice(2))
    .scriptName('multiwan')
    .usage('$0 <command>\n\nMulti-WAN policy routing: per-link tables, fwmark rules, connection pinning and weighted balancing from /etc/multiwan/multiwan.toml. pppd runs the hooks; this command is for the admin.')
    .options(options)
    .command('status', 'show each link: up/down, in service, address, table and mark', {}, async (argv) => {
      const ctx = contextOf(argv);
      const config = await requireConfig(ctx.configFile);
      const current = await readCurrent(ctx, config);
      const health = Object.fromEntries(config.links.map((l) => [l.name, readLinkHealth(ctx.stateDir, l.name)]));
      ctx.say(renderStatus(config, current.states, current.ids, current.plan.inService, health));
      current.notes.forEach((note) => ctx.say(`note: ${note} at the next event`));
    })
    .command('apply', 're-apply the routing for the links as they are now (after editing the config)', dryRun, async (argv) => {
      const ctx = contextOf(argv);
      const applied = await reconcile(ctx);
      if (ctx.dryRun) ctx.say(renderApplied(applied));
      else ctx.say(`in service: ${applied.inService.join(', ') || 'none'}`);
    })
    .command('check', 'validate the config and print the plan for the links as they are now', {}, async (argv) => {
      const ctx = contextOf(argv);
      const config = await requireConfig(ctx.configFile);
      ctx.say(`${ctx.configFile}: ok, ${config.links.length} link(s)`);
      const { plan } = await readCurrent(ctx, config);
      const none = { routes: [], rules: [] };
      ctx.say(`# IPv4 routes and rules (as an ip batch from nothing)\n${renderIpBatch(none, plan.ip[4])}# IPv6\n${renderIpBatch(none, plan.ip[6])}# nft -f -\n${renderNft(plan.nft)}`);
    })
    .command(
      'explain <src> <dst>',
      'which policy a new connection from SRC to DST matches, which link it takes and why, and the route the kernel would use',
      (y) =>
        y
          .positional('src', { type: 'string', demandOption: true, describe: 'source address (a LAN host, or one of the router’s own)' })
          .positional('dst', { type: 'string', demandOption: true, describe: 'destination address' })
          .option('proto', { type: 'string', describe: 'tcp, udp, icmp, …' })
          .option('sport', { type: 'number', describe: 'source port' })
          .option('dport', { type: 'number', describe: 'destination port' })
          .option('iif', { type: 'string', describe: 'incoming interface (default: the one towards SRC)' })
          .option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
      async (argv) => {
        const ctx = contextOf(argv);
        const result = await explain(ctx, {
          src: String(argv.src),
          dst: String(argv.dst),
          ...(argv.proto ? { protocol: argv.proto.toLowerCase() } : {}),
          ...(argv.sport !== undefined ? { sport: argv.sport } : {}),
          ...(argv.dport !== undefined ? { dport: argv.dport } : {}),
          ...(argv.iif ? { iif: argv.iif } : {}),
        });
        ctx.say(argv.json ? JSON.stringify(result, null, 2) : renderExplanation(result));
      },
    )
    .command(
      'link <action> <target>',
      'report any other link (OpenVPN --up/--down, wg-quick PostUp/PreDown, your scripts): up or down, by link name or interface; what is not given is read from the interface',
      (y) =>
        y
          .positional('action', { type: 'string', demandOption: true, choices: ['up', 'down'], describe: 'up or down' })
          .positional('target', { type: 'string', demandOption: true, describe: 'the link name ([link.NAME]) or its interface' })
          .option('local', { type: 'string', array: true, describe: 'the link’s address (one per family)' })
          .option('peer', { type: 'string', array: true, describe: 'the point-to-point peer (one per family)' })
          .option('gateway', { type: 'string', array: true, describe: 'the next hop (one per family)' })
          .options(dryRun),
      async (argv) => {
        const event = parseLinkCommand({
          action: String(argv.action),
          target: String(argv.target),
          ...(argv.local ? { local: argv.local.map(String) } : {}),
          ...(argv.peer ? { peer: argv.peer.map(String) } : {}),
          ...(argv.gateway ? { gateway: argv.gateway.map(String) } : {}),
        });
        code = await runEventHook(event, process.env, { dryRun: argv['dry-run'] === true, ...(argv.config ? { config: String(argv.config) } : {}) });
      },
    )
    .command('monitor', 'run the health monitor (the multiwan-monitor service): probes, carrier and address watching; SIGHUP reloads the config', {}, async (argv) => {
      const ctx = contextOf(argv);
      const log = (line: string) => process.stdout.write(`${line}\n`);
      const monitor = await startMonitor(ctx, log);
      process.on('SIGHUP', () => void monitor.reload());
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
      });
      await monitor.stop();
      log('stopped');
    })
    .command('down', 'remove every route, rule and nft table multiwan made, and forget the link states', dryRun, async (argv) => {
      const ctx = contextOf(argv);
      const applied = await takeDown(ctx);
      if (ctx.dryRun) ctx.say(renderApplied(applied));
    })
    .demandCommand(1, 'name a command: status, apply, check, explain, link, monitor or down')
    .strict()
    .fail((message, error) => {
      if (error) throw error;
      process.stderr.write(`multiwan: ${message}; see multiwan --help\n`);
      code = 1;
    })
    .help()
    .version(false)
    .parseAsync();
  return code;
});
