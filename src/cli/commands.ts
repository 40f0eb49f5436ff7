/**
 * The admin command's commands and options, described once: `multiwan
 * --help` (yargs, src/entry/multiwan.ts), multiwan(8) and the bash
 * completion are all made from this, so they cannot drift.
 */

export interface OptionDoc {
  name: string;
  type: 'string' | 'boolean' | 'number';
  /** Given several times (`--local A --local B`). */
  array?: boolean;
  describe: string;
  default?: string | boolean | number;
  choices?: readonly string[];
  /** Completed with the config's link names. */
  completesLinks?: boolean;
}

export interface PositionalDoc {
  name: string;
  describe: string;
  choices?: readonly string[];
  completesLinks?: boolean;
}

export interface CommandDoc {
  name: string;
  positionals: PositionalDoc[];
  summary: string;
  /** More for the man page, in plain sentences. */
  details?: string;
  options: OptionDoc[];
}

const dryRun: OptionDoc = { name: 'dry-run', type: 'boolean', default: false, describe: 'print the ip batches and nft script instead of running them' };
const json: OptionDoc = { name: 'json', type: 'boolean', default: false, describe: 'print JSON' };

export const globalOptions: OptionDoc[] = [
  { name: 'config', type: 'string', describe: 'config file (default $MULTIWAN_CONFIG or /etc/multiwan/multiwan.toml)' },
  { name: 'verbose', type: 'boolean', default: false, describe: 'also log the ip batches and nft scripts each change runs' },
  { name: 'debug', type: 'boolean', default: false, describe: 'show the stack of an internal error' },
];

export const commands: CommandDoc[] = [
  {
    name: 'status',
    positionals: [],
    summary: 'show each link (in service or not and why, since when, address, gateway, tier, weight, table, mark, connections pinned, traffic) and the policies with their hits',
    details: 'Exit status 0 when every configured link is in service, 1 when some are not, 2 when none are.',
    options: [json, { name: 'format', type: 'string', choices: ['text', 'json', 'prometheus'], default: 'text', describe: 'text, json, or prometheus (for node_exporter\'s textfile collector)' }],
  },
  {
    name: 'apply',
    positionals: [],
    summary: 're-apply the routing for the links as they are now (after editing the config)',
    options: [dryRun],
  },
  {
    name: 'check',
    positionals: [],
    summary: 'validate the config, warn about what silently defeats the hooks, and print the plan for the links as they are now',
    options: [],
  },
  {
    name: 'explain',
    positionals: [
      { name: 'src', describe: 'source address (a LAN host, or one of the router’s own)' },
      { name: 'dst', describe: 'destination address' },
    ],
    summary: 'which policy a new connection from SRC to DST matches, which link it takes and why, and the route the kernel would use',
    options: [
      { name: 'proto', type: 'string', describe: 'tcp, udp, icmp, … or a protocol number' },
      { name: 'sport', type: 'number', describe: 'source port' },
      { name: 'dport', type: 'number', describe: 'destination port' },
      { name: 'iif', type: 'string', describe: 'incoming interface (default: the one towards SRC)' },
      json,
    ],
  },
  {
    name: 'link',
    positionals: [
      { name: 'action', describe: 'up or down', choices: ['up', 'down'] },
      { name: 'target', describe: 'the link name ([link.NAME]) or its interface', completesLinks: true },
    ],
    summary: 'report any other link (OpenVPN --up/--down, wg-quick PostUp/PreDown, your scripts): up or down, by link name or interface; what is not given is read from the interface',
    options: [
      { name: 'local', type: 'string', array: true, describe: 'the link’s address (one per family)' },
      { name: 'peer', type: 'string', array: true, describe: 'the point-to-point peer (one per family)' },
      { name: 'gateway', type: 'string', array: true, describe: 'the next hop (one per family)' },
      dryRun,
    ],
  },
  {
    name: 'monitor',
    positionals: [],
    summary: 'run the health monitor (the multiwan-monitor service): probes, carrier and address watching; follows the config on disk; SIGHUP reloads it at once',
    options: [],
  },
  {
    name: 'down',
    positionals: [],
    summary: 'remove every route, rule and nft table multiwan made, and forget the link states',
    options: [dryRun],
  },
];

export function commandDoc(name: string): CommandDoc {
  const doc = commands.find((c) => c.name === name);
  if (!doc) throw new Error(`no command ${name}`);
  return doc;
}

/** The `multiwan <command> ...` line of a command. */
export function commandUsage(doc: CommandDoc): string {
  return [doc.name, ...doc.positionals.map((p) => `<${p.name}>`)].join(' ');
}

/** An option as yargs takes it. */
export function yargsOption(option: OptionDoc): Record<string, unknown> {
  return {
    type: option.type,
    describe: option.describe,
    ...(option.array ? { array: true } : {}),
    ...(option.default !== undefined ? { default: option.default } : {}),
    ...(option.choices ? { choices: option.choices } : {}),
  };
}

export function yargsOptions(options: readonly OptionDoc[]): Record<string, Record<string, unknown>> {
  return Object.fromEntries(options.map((o) => [o.name, yargsOption(o)]));
}
