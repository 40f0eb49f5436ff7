// The admin's command: status, apply, check, explain, link, monitor, down.
// Commands and options are described once in src/cli/commands.ts.
import yargs from 'yargs/yargs';
import { commands, commandUsage, globalOptions, yargsOptions } from '../cli/commands.js';
import { handlers } from '../cli/handlers.js';
import { defaultContext } from '../core/default-context.js';
import { runMain } from './run-main.js';

void runMain('multiwan', async () => {
  let code = 0;
  let parser = yargs(process.argv.slice(2))
    .scriptName('multiwan')
    .usage('$0 <command>\n\nMulti-WAN policy routing: per-link tables, fwmark rules, connection pinning and weighted balancing from /etc/multiwan/multiwan.toml. pppd, dhclient, dhcpcd and ifupdown run the hooks; this command is for the admin.')
    .options(yargsOptions(globalOptions));
  for (const doc of commands) {
    parser = parser.command(
      commandUsage(doc),
      doc.summary,
      (y) => {
        for (const p of doc.positionals) y.positional(p.name, { type: 'string', demandOption: true, describe: p.describe, ...(p.choices ? { choices: p.choices } : {}) });
        return y.options(yargsOptions(doc.options));
      },
      async (argv) => {
        const ctx = defaultContext(process.env, { config: argv.config as string | undefined, dryRun: argv['dry-run'] === true, verbose: argv.verbose === true });
        code = await handlers[doc.name]!(ctx, argv);
      },
    );
  }
  await parser
    .demandCommand(1, `name a command: ${commands.map((c) => c.name).join(', ')}`)
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
