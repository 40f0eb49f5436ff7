// The router sandbox: how every real client (pppd's scripts, dhclient,
// dhcpcd, ifup/ifdown) and the product by hand run in the router namespace.
// Each run gets a private mount and UTS namespace (`unshare -m -u
// --propagation private`; dhclient-script may set the host name) in which:
//   - /run is a lab directory (the same for every run of the lab, empty at
//     first), so nothing reaches the host's /run: ifupdown's /run/network,
//     dhcpcd's /run/dhcpcd (control socket, pid), ifupdown-started dhclient's
//     pid file live there, and the product's /run/multiwan is `dirs.run`;
//   - the lab's directories hide every hook directory, state and lease
//     directory, /etc/resolv.conf and /etc/network/interfaces (SANDBOX_PATHS),
//     so the clients see only the hooks the test installed and write only
//     into the lab;
//   - the program starts in / with a cleared environment (PATH only), as a
//     daemon would: dhclient and dhcpcd then give their scripts the
//     environment they build themselves, nothing of the test's.
// Host paths a bind needs as mount point and that may be missing are created
// empty (/etc/multiwan, /usr/lib/multiwan, as the lab always did for
// /etc/multiwan); files that do not exist on the host are not bound.
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { spawnBackground, type Background, type ExecOptions, type ExecResult, type SpawnOptions } from './exec.js';
import { internalsOf } from './internals.js';
import type { Lab, LabDirs } from './types.js';

/** Directories bound in the sandbox (host paths, as the programs see them). */
const SANDBOX_DIRS = [
  '/run', // first: the /run/* binds below land inside it
  '/etc/multiwan',
  '/run/multiwan',
  '/usr/lib/multiwan',
  '/etc/ppp/ip-up.d',
  '/etc/ppp/ip-down.d',
  '/etc/ppp/ipv6-up.d',
  '/etc/ppp/ipv6-down.d',
  '/etc/dhcp/dhclient-enter-hooks.d',
  '/etc/dhcp/dhclient-exit-hooks.d',
  '/var/lib/dhcp',
  '/usr/lib/dhcpcd/dhcpcd-hooks',
  '/var/lib/dhcpcd',
  '/etc/network/if-pre-up.d',
  '/etc/network/if-up.d',
  '/etc/network/if-down.d',
  '/etc/network/if-post-down.d',
] as const;

/** Files bound in the sandbox: written by the clients, or hooks a host may have. */
const SANDBOX_FILES = [
  '/etc/resolv.conf',
  '/etc/network/interfaces',
  '/etc/dhcp/dhclient-enter-hooks',
  '/etc/dhcp/dhclient-exit-hooks',
  '/etc/dhcpcd.enter-hook',
  '/etc/dhcpcd.exit-hook',
] as const;

/** Mount points created on the host when missing (empty directories). */
const HOST_MOUNT_POINTS = ['/etc/multiwan', '/usr/lib/multiwan'];

const INITIAL_FILES: Record<string, string> = {
  '/etc/resolv.conf': '# multiwan lab: the router sandbox\'s /etc/resolv.conf\n',
  '/etc/network/interfaces': '# multiwan lab: see writeInterfaces()\n',
};

export const SANDBOX_PATHS: readonly string[] = [...SANDBOX_DIRS, ...SANDBOX_FILES];

// Positional arguments: SRC DST pairs, `--`, then the program's argv.
const RUNNER = [
  'set -e',
  'while [ "$1" != "--" ]; do',
  '  case "$2" in /run/*) mkdir -p "$2" ;; esac',
  '  mount --bind "$1" "$2"',
  '  shift 2',
  'done',
  'shift',
  'cd /',
  'unset OLDPWD',
  'exec "$@"',
].join('\n');

/** Where a sandbox path lives on the host, for a lab with these dirs. */
export function hostPathIn(dirs: LabDirs, installed: string): string {
  const legacy: Record<string, string> = {
    '/etc/multiwan': dirs.etc,
    '/run/multiwan': dirs.run,
    '/etc/ppp/ip-up.d': dirs.ipUpD,
    '/etc/ppp/ip-down.d': dirs.ipDownD,
  };
  const base = SANDBOX_PATHS.filter((p) => installed === p || installed.startsWith(`${p}/`)).sort((a, b) => b.length - a.length)[0];
  if (!base) throw new Error(`sandbox: ${installed} is not under a path the router sandbox binds (${SANDBOX_PATHS.join(', ')})`);
  return path.join(legacy[base] ?? path.join(dirs.fs, base), installed.slice(base.length));
}

/** Creates every directory and file the sandbox binds (lab side) and the host mount points. */
export async function prepareSandbox(dirs: LabDirs): Promise<void> {
  for (const d of SANDBOX_DIRS) await mkdir(hostPathIn(dirs, d), { recursive: true });
  for (const f of SANDBOX_FILES) {
    await mkdir(path.dirname(hostPathIn(dirs, f)), { recursive: true });
    await writeFile(hostPathIn(dirs, f), INITIAL_FILES[f] ?? '');
  }
  for (const mp of HOST_MOUNT_POINTS) await mkdir(mp, { recursive: true });
}

/** argv that runs `argv` inside the sandbox (to be run in the router namespace). */
export function sandboxArgv(dirs: LabDirs, argv: string[]): string[] {
  const pairs = SANDBOX_PATHS.filter((p) => p.startsWith('/run/') || existsSync(p)).flatMap((p) => [hostPathIn(dirs, p), p]);
  return ['unshare', '-m', '-u', '--propagation', 'private', 'sh', '-c', RUNNER, 'sh', ...pairs, '--', ...argv];
}

/** Runs argv to completion in the router namespace, inside the sandbox. */
export function sandboxExec(lab: Lab, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return lab.exec(lab.ns.rtr, sandboxArgv(lab.dirs, argv), opts);
}

/**
 * Starts argv in the router namespace, inside the sandbox, as a background
 * process (stdout and stderr lines followed); stopped by lab.destroy() at the
 * latest.
 */
export function sandboxStart(lab: Lab, argv: string[], opts: SpawnOptions = { mergeStderr: true }): Background {
  const bg = spawnBackground(lab.ns.rtr, sandboxArgv(lab.dirs, argv), opts);
  internalsOf(lab).background.add(bg);
  return bg;
}

/** The host path of a file as the sandbox sees it (e.g. '/etc/resolv.conf', '/var/lib/dhcp/x.leases'). */
export function sandboxPath(lab: Lab, installed: string): string {
  return hostPathIn(lab.dirs, installed);
}

/**
 * Installs a file at `installed` as the sandbox sees it (e.g.
 * '/usr/lib/multiwan/dhcp-hook', '/etc/dhcp/dhclient-exit-hooks.d/multiwan'),
 * copied from a host file or written from text; executable by default.
 */
export async function sandboxInstall(
  lab: Lab,
  installed: string,
  from: string | { text: string },
  mode = 0o755,
): Promise<string> {
  const dest = hostPathIn(lab.dirs, installed);
  await mkdir(path.dirname(dest), { recursive: true });
  if (typeof from === 'string') await copyFile(from, dest);
  else await writeFile(dest, from.text);
  await chmod(dest, mode);
  return dest;
}
