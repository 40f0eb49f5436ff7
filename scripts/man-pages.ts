/**
 * multiwan(8) and multiwan.toml(5) as roff, made from the same descriptions
 * as `multiwan --help` (src/cli/commands.ts) and the README's config tables
 * (src/config/reference.ts), so the three cannot drift. Pure: everything read
 * from disk comes in as an argument (scripts/render-man-and-completion.ts
 * writes the pages).
 */
import { commands, globalOptions, type CommandDoc, type OptionDoc } from '../src/cli/commands.js';
import { configReference, type KeyDoc } from '../src/config/reference.js';
import { exitCodes } from '../src/errors.js';

export interface ManInput {
  version: string;
  /** YYYY-MM-DD, the date of the latest debian/changelog entry (reproducible builds). */
  date: string;
  /** build/files.txt: what is installed where. */
  manifest: ManifestEntry[];
  /** docs/multiwan.example.toml, the commented example installed as the config. */
  example: string;
}

export interface ManifestEntry {
  source: string;
  target: string;
  mode: string;
}

/** build/files.txt as entries (source, target on the router without the leading /, mode). */
export function parseManifest(text: string): ManifestEntry[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [source, target, mode] = line.split(/\s+/);
      if (!source || !target || !mode) throw new Error(`build/files.txt: "${line}" is not "source target mode"`);
      return { source, target, mode };
    });
}

/**
 * Who runs each installed program. A file build/files.txt installs that is
 * neither here nor plain documentation stops the build, so the man page
 * names every hook.
 */
const callers: Record<string, string> = {
  'dist/ip-up': 'pppd, through Debian\'s /etc/ppp/ip-up and run-parts, when a link\'s IPv4 is up (six arguments and `PPP_*` variables). By hand, `/etc/ppp/ip-up.d/multiwan ppp1` reads the addresses from the live interface.',
  'dist/ip-down': 'pppd, through /etc/ppp/ip-down, when a link\'s IPv4 goes down.',
  'dist/ipv6-up': 'pppd, through /etc/ppp/ipv6-up, when IPv6CP is up (link-local addresses).',
  'dist/ipv6-down': 'pppd, through /etc/ppp/ipv6-down, when IPv6CP goes down.',
  'dist/dhcp-hook': 'The dhclient and dhcpcd hook fragments, with the lease (`reason`, `interface`, `new_*`, `old_*`, delegated prefixes).',
  'dist/ifupdown-hook': 'ifupdown\'s if-up.d and if-post-down.d (`IFACE`, `MODE`, `METHOD`, `IF_*`) for static stanzas; `inet ppp` and `dhcp` stanzas are left to pppd and dhclient, which report them.',
  'dist/multiwan': 'The admin, and the multiwan-monitor service (`multiwan monitor`).',
  'hooks/dhclient-enter-hook': 'Sourced by dhclient-script before it configures an interface: keeps it from writing the router of a link multiwan manages into main\'s default route.',
  'hooks/dhclient-exit-hook': 'Sourced by dhclient-script after it configured an interface: hands the lease to /usr/lib/multiwan/dhcp-hook.',
  'hooks/dhcpcd-hook': 'Sourced by dhcpcd-run-hooks: hands the event to /usr/lib/multiwan/dhcp-hook.',
  'systemd/multiwan-monitor.service': 'systemd: runs `multiwan monitor`, the health monitor (`journalctl -u multiwan-monitor`).',
};

const documentation = (entry: ManifestEntry) => /^usr\/share\/(doc|man|bash-completion)\//.test(entry.target);

/** The installed programs and who runs them, in manifest order. */
export function hookEntries(manifest: readonly ManifestEntry[]): { targets: string[]; caller: string }[] {
  const bySource = new Map<string, string[]>();
  for (const entry of manifest) {
    if (documentation(entry)) continue;
    if (!(entry.source in callers)) {
      throw new Error(`build/files.txt installs /${entry.target} from ${entry.source}, which multiwan(8) does not describe: add it to callers in scripts/man-pages.ts`);
    }
    bySource.set(entry.source, [...(bySource.get(entry.source) ?? []), `/${entry.target}`]);
  }
  return [...bySource].map(([source, targets]) => ({ targets, caller: callers[source]! }));
}

export function renderCommandMan(input: ManInput): string {
  const exit = [
    [exitCodes.ok, 'Success. For `status`: every configured link is in service.'],
    [exitCodes.config, 'The config or the input is wrong (each problem on its own line, with file and line). For `status`: some links are out of service.'],
    [exitCodes.command, 'An `ip`, `nft` or `conntrack` command failed; the previous routing was restored. For `status`: no link is in service.'],
    [exitCodes.runtime, 'The system refused: a file could not be read or written, or the lock was held too long.'],
    [exitCodes.internal, 'An internal error, a bug: please report it (`--debug` shows the stack).'],
  ] as const;
  return lines(
    header('MULTIWAN', 8, input, 'System Administration'),
    '.SH NAME',
    'multiwan \\- multi\\-WAN policy routing for Debian routers',
    '.SH SYNOPSIS',
    synopsis(undefined),
    ...commands.map(synopsis),
    '.SH DESCRIPTION',
    para('multiwan keeps a Debian router\'s routing right for two or more uplinks (PPPoE sessions, a cable modem, a VPN) from one config file, /etc/multiwan/multiwan.toml (see `multiwan.toml(5)`): a routing table per link with `from` and `fwmark` rules, new connections balanced over the links in service by weight, every connection pinned to the link it started on, masquerade per link, each ISP\'s DNS servers and routes through that ISP, and policies that send chosen traffic through chosen links.'),
    para('The routing changes when a link does: pppd, dhclient, dhcpcd and ifupdown run multiwan\'s hooks as links come up and go down, and the health monitor takes a link that stops answering out of service and puts it back when it recovers. Each event is applied under one lock, planned from the config on disk and the states recorded in /run/multiwan, and rolled back if a command fails. Routes and rules multiwan made carry protocol `multiwan` (242); its packet rules are the nft table `inet multiwan`. Nothing else is touched.'),
    para('The hooks, and who runs them:'),
    ...hookEntries(input.manifest).flatMap(({ targets, caller }) => ['.TP', targets.map(roffPath).join('\n.TQ\n'), roffText(caller)]),
    para('The `multiwan` command is for the admin: it shows and explains the routing, re-applies it after the config changed, reports links the hooks do not see, runs the monitor, and takes everything down.'),
    '.SH COMMANDS',
    ...commands.flatMap(commandSection),
    '.SH OPTIONS',
    para('These options are taken by every command.'),
    ...[...globalOptions, helpOption].flatMap(optionItem),
    '.SH EXIT STATUS',
    ...exit.flatMap(([code, text]) => ['.TP', `.B ${code}`, roffText(text)]),
    para('A hook exits the same way; pppd and run-parts only log it. Every problem is one line on standard error and in the journal (tag `multiwan`), never a stack trace.'),
    '.SH ENVIRONMENT',
    ...[
      ['MULTIWAN_CONFIG', 'The config file, instead of /etc/multiwan/multiwan.toml (`--config` wins over it).'],
      ['MULTIWAN_STATE_DIR', 'The runtime state directory, instead of /run/multiwan. The hooks, the monitor and the command must agree on it.'],
      ['MULTIWAN_DRY_RUN', 'Set to `1`, the hooks print the ip batches and nft script an event would run, and change nothing (the command takes `--dry-run`).'],
    ].flatMap(([name, text]) => ['.TP', `.B ${name}`, roffText(text!)]),
    '.SH FILES',
    ...[
      ['/etc/multiwan/multiwan.toml', 'The config (`multiwan.toml(5)`). The hooks read it at every event; the monitor follows it on disk.'],
      ['/etc/multiwan/notify.d/', 'Programs run after each transition (a link up or down, in or out of service) with `MULTIWAN_LINK`, `MULTIWAN_IFACE`, `MULTIWAN_EVENT`, `MULTIWAN_REASON` and `MULTIWAN_IN_SERVICE`; names with dots are skipped, as run-parts does.'],
      ['/run/multiwan/', 'Runtime state shared by the hooks and the monitor: `link-NAME.json` (what each link reported), `health-NAME.json`, `ids.json` (each link\'s number, so marks never move), `config-cache.json`.'],
      ['/etc/iproute2/rt_protos.d/multiwan.conf', 'Names protocol 242 `multiwan`, so `ip rule` and `ip route` show what is multiwan\'s.'],
      ['/usr/share/doc/multiwan/README.md', 'The full documentation: how each client calls the hooks, the kernel state multiwan makes, performance.'],
    ].flatMap(([file, text]) => ['.TP', roffPath(file!), roffText(text!)]),
    '.SH SEE ALSO',
    seeAlso(['multiwan.toml(5)', 'pppd(8)', 'dhclient-script(8)', 'dhcpcd(8)', 'interfaces(5)', 'run-parts(8)', 'ip-rule(8)', 'ip-route(8)', 'nft(8)', 'conntrack(8)', 'systemctl(1)', 'journalctl(1)']),
  );
}

export function renderConfigMan(input: ManInput): string {
  const example = input.example
    .split('\n')
    .filter((line) => /^# (?!#)/.test(line) || line.trim() === '#')
    .map((line) => line.replace(/^# ?/, ''))
    .flatMap((line, i) => (line.startsWith('[') && i > 0 ? ['', line] : [line]));
  return lines(
    header('MULTIWAN.TOML', 5, input, 'File Formats'),
    '.SH NAME',
    'multiwan.toml \\- multiwan\'s config: links, policies and numbers',
    '.SH SYNOPSIS',
    roffPath('/etc/multiwan/multiwan.toml'),
    '.SH DESCRIPTION',
    para('The config of `multiwan(8)`, in TOML. pppd\'s, dhclient\'s, dhcpcd\'s and ifupdown\'s hooks read it at every event, and the health monitor follows it on disk (and reloads it at once on SIGHUP); after editing it, `multiwan check` validates it and `multiwan apply` re-applies the routing for the links that are up. Every problem is reported at once, each with its file and line, and nothing is changed while any remains.'),
    para('An event matches a link by its interface, or by pppd\'s `ipparam` equal to the link\'s name. An interface no link names is left alone. The file installed by the package is a commented example: until a link is named, the hooks change nothing.'),
    ...configReference.flatMap((section) => [
      `.SH ${section.id === 'top' ? 'TOP-LEVEL KEYS' : section.id === 'link' ? 'LINKS' : section.id === 'check' ? 'HEALTH PROBES' : 'POLICIES'}`,
      ...(section.id === 'top' ? [] : [para(section.title)]),
      ...section.keys.flatMap(keyItem),
    ]),
    '.SH EXAMPLE',
    para('The installed example with its settings uncommented:'),
    '.PP',
    '.nf',
    '.RS 4',
    ...example.map(roffLiteral),
    '.RE',
    '.fi',
    '.SH SEE ALSO',
    seeAlso(['multiwan(8)', 'pppd(8)', 'ip-rule(8)', 'nft(8)']),
  );
}

// ---------------------------------------------------------------------------

const helpOption: OptionDoc = { name: 'help', type: 'boolean', describe: 'show the usage (of a command, after its name) and exit' };

function header(title: string, section: number, input: ManInput, manual: string): string {
  return [
    `.\\" Generated by scripts/render-man-and-completion.ts from src/cli/commands.ts and src/config/reference.ts; do not edit.`,
    `.TH ${title} ${section} ${input.date} "multiwan ${roffText(input.version)}" "${manual}"`,
  ].join('\n');
}

function synopsis(doc: CommandDoc | undefined): string {
  const options = doc ? doc.options : globalOptions;
  const head = doc
    ? [`.B multiwan ${doc.name}`, ...doc.positionals.map((p) => (p.choices ? `.BR ${p.choices.join(' | ')}` : `.I ${p.name}`))]
    : ['.B multiwan', '.RI [ options ]', '.I command', '.RI [ arguments ]'];
  const opts = doc ? options.map(optionSynopsis) : [];
  return [...head, ...opts, '.br'].join('\n');
}

function optionSynopsis(option: OptionDoc): string {
  const flag = `\\-\\-${roffDashes(option.name)}`;
  if (option.type === 'boolean') return `.RB [ ${flag} ]`;
  return `.RB [ ${flag}\n.IR ${metavar(option)} ]${option.array ? '...' : ''}`;
}

function metavar(option: OptionDoc): string {
  return option.choices ? option.choices.join('|') : option.name.toUpperCase().replace(/-/g, '_');
}

function commandSection(doc: CommandDoc): string[] {
  const usage = ['multiwan', doc.name, ...doc.positionals.map((p) => p.name.toUpperCase())].join(' ');
  return [
    `.SS "${usage}"`,
    roffText(sentence(doc.summary)),
    ...(doc.details ? [para(doc.details)] : []),
    ...doc.positionals.flatMap((p) => ['.TP', `.I ${p.name}`, roffText(period(p.describe) + (p.choices ? ` One of: ${p.choices.map((c) => `\`${c}\``).join(', ')}.` : ''))]),
    ...doc.options.flatMap(optionItem),
  ];
}

function optionItem(option: OptionDoc): string[] {
  const flag = `\\fB\\-\\-${roffDashes(option.name)}\\fR`;
  const tag = option.type === 'boolean' ? flag : `${flag} \\fI${roffDashes(metavar(option))}\\fR`;
  const notes = [
    option.array ? 'May be given more than once.' : '',
    option.default !== undefined && option.type !== 'boolean' ? `Default: \`${String(option.default)}\`.` : '',
  ].filter(Boolean);
  return ['.TP', tag, roffText([period(option.describe), ...notes].join(' '))];
}

function keyItem(key: KeyDoc): string[] {
  const fallback = key.default === 'required' ? '(required)' : `(default: ${key.default})`;
  return ['.TP', roffText(`\`${key.key}\` ${fallback}`), roffText(key.meaning)];
}

function seeAlso(pages: string[]): string {
  return pages.map((page, i) => `.BR ${page.replace(/\((\d)\)$/, ' ($1)')}${i < pages.length - 1 ? ',' : ''}`).join('\n');
}

function para(text: string): string {
  return `.PP\n${roffText(text)}`;
}

/** First letter up, a full stop at the end. */
function sentence(text: string): string {
  return period(text.charAt(0).toUpperCase() + text.slice(1));
}

/** A full stop at the end (option descriptions keep their first word: `tcp`, `text`). */
function period(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function lines(...parts: string[]): string {
  return parts.join('\n') + '\n';
}

/**
 * Prose for roff: backslashes and non-ASCII escaped, markdown `code` as bold
 * (with real minus signs, since options are typed), `page(N)` references as
 * bold, command-line options anywhere as minus signs, and no line starting
 * with a control character.
 */
export function roffText(text: string): string {
  const out = text
    .split(/(`[^`]*`)/)
    .map((part, i) => {
      if (i % 2 === 1) return `\\fB${roffDashes(escapeChars(part.slice(1, -1)))}\\fR`;
      return escapeChars(part)
        .replace(/(^|[\s(/[])(--?)(?=[A-Za-z])/g, (_m, before: string, dashes: string) => before + dashes.replace(/-/g, '\\-'))
        .replace(/\b([a-z][\w.-]*)\((\d)\)/g, '\\fB$1\\fR($2)');
    })
    .join('');
  return out.replace(/^([.'])/gm, '\\&$1');
}

/** A line shown as typed (an example): escaped, never a control line. */
function roffLiteral(line: string): string {
  return roffDashes(escapeChars(line)).replace(/^([.'])/, '\\&$1') || '\\&';
}

function roffPath(path: string): string {
  return `.B ${roffDashes(escapeChars(path))}`;
}

function roffDashes(text: string): string {
  return text.replace(/-/g, '\\-');
}

function escapeChars(text: string): string {
  return [...text.replace(/\\/g, '\\e')]
    .map((c) => {
      const code = c.codePointAt(0)!;
      if (code < 0x80) return c;
      return `\\[u${code.toString(16).toUpperCase().padStart(4, '0')}]`;
    })
    .join('');
}
