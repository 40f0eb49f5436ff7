// A minimal lab for kernel-state checks (the storm and fault suites): no
// traffic, so no LAN, ISPs or server. A router namespace with four simulated
// PPP links ppp0..ppp3, veth pairs to one peer namespace (ARP off and the same
// MAC on both ends, `addr add LOCAL peer REMOTE`, as pppd configures a ppp
// unit), strict rp_filter; and an oracle namespace, made fresh for each
// check, into which the planner's expected ruleset is loaded so that the
// kernel itself canonicalises what is expected.
//
// Every program of the product runs in the router namespace inside a private
// mount namespace where the lab's temp dirs hide /etc/multiwan, /run/multiwan
// and /etc/ppp/ip-{up,down}.d: hooks, verdicts and `multiwan apply` then use
// the same default paths, so they take the same lock (an abstract socket
// named after the state dir, per network namespace) as they do on a router.
//
// The lab id comes from the lab registry (test/lab/registry.ts): namespaces
// `mwt<id>-rtr`, `-peer`, `-orc` and the temp dir /tmp/mwt<id> with its
// owner.json, so test/e2e/global-setup.ts removes what a crashed run left.
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { inNs, STD_PATH } from './exec.js';
import { LAB_PREFIX, listLabNamespaces, needsRoot, run, type ExecResult } from './lab.js';
import { claimId, deleteNamespace } from './registry.js';

export { needsRoot, STD_PATH, type ExecResult };

export const STORM_IFACES = ['ppp0', 'ppp1', 'ppp2', 'ppp3'] as const;
export type StormIface = (typeof STORM_IFACES)[number];

/** The addresses of one PPP session: pppd's 4th and 5th arguments. */
export interface PppAddress {
  local: string;
  peer: string;
}

/**
 * Session k of link i: 100.64.(i+1).(2+k) peer 100.64.(i+1).1. Each link has
 * its own /24, so addresses of different links never collide.
 */
export function pppAddress(index: number, session: number): PppAddress {
  if (session < 0 || session > 250) throw new Error(`pppAddress: session ${session} out of range`);
  return { local: `100.64.${index + 1}.${2 + session}`, peer: `100.64.${index + 1}.1` };
}

/** An interface as the router holds it (for the oracle to mirror). */
export interface LiveLink {
  iface: string;
  /** The IPv4 point-to-point addresses it holds. */
  addresses: PppAddress[];
}

/** What multiwan owns in the kernel, canonical: one JSON text per object, sorted. */
export interface KernelState {
  /** `ip -j rule` objects of protocol 242, per family. */
  rules: { 4: string[]; 6: string[] };
  /** `ip -j route show table all proto 242`, per family. */
  routes: { 4: string[]; 6: string[] };
  /** Rules of any other protocol (must never change). */
  foreignRules: { 4: string[]; 6: string[] };
  /** Routes outside main/local of another protocol (there must be none). */
  strayRoutes: string[];
  /**
   * `nft list table inet multiwan` ('' when there is none), canonical: its
   * top-level objects (chains, counters) sorted by kind and name, since nft
   * lists them in the order they were created, and counter values blanked.
   * Rules keep their order: within a chain it is what they mean.
   */
  nft: string;
}

export interface HookResult extends ExecResult {
  /** The hook's exit code as run-parts reports it (0 when it says nothing). */
  hookExit: number;
}

export interface RunOptions {
  /** Environment of the program (on top of a cleared one with the standard PATH). */
  env?: Record<string, string>;
  timeoutMs?: number;
}

export interface StormLab {
  id: string;
  ns: { rtr: string; peer: string; oracle: string };
  dirs: { root: string; etc: string; run: string; ipUpD: string; ipDownD: string };
  /** Installs the built hooks where /etc/ppp/ip-up's run-parts finds them. */
  installHooks(upBundle: string, downBundle: string): Promise<void>;
  /** Writes /etc/multiwan/multiwan.toml atomically (temp + rename), as an editor that renames does. */
  writeConfig(toml: string): Promise<void>;
  /** pppd's way: Debian's /etc/ppp/ip-up (or ip-down) with six arguments in a cleared environment. */
  ppp(action: 'up' | 'down', iface: string, address: PppAddress, opts?: { ipparam?: string; timeoutMs?: number }): Promise<HookResult>;
  /** Any program in the router namespace, with the lab's config and state at their default paths. */
  runInRouter(argv: string[], opts?: RunOptions): Promise<ExecResult>;
  /** Creates link iface (veth to the peer namespace) holding `address`, up. */
  createLink(iface: StormIface, address: PppAddress): Promise<void>;
  /** Deletes the link without any hook, as the kernel does when pppd is killed. */
  vanish(iface: StormIface): Promise<void>;
  /** Replaces the link's address (pppd's new session on the same unit). */
  changeAddress(iface: StormIface, from: PppAddress, to: PppAddress): Promise<void>;
  /** The PPP links present in the router and their addresses. */
  links(): Promise<LiveLink[]>;
  /** What multiwan owns in the router's kernel now. */
  kernel(): Promise<KernelState>;
  /**
   * The same reading of a fresh namespace holding `links` (mirrored by veths)
   * into which the given ip batches (per family) and nft script were loaded.
   */
  oracle(links: LiveLink[], ipBatch: { 4: string; 6: string }, nftScript: string): Promise<KernelState>;
  /** The rules of a namespace that has no multiwan at all (read at creation). */
  pristineRules: { 4: string[]; 6: string[] };
  /** Removes every file of the state dir (the dir itself stays: it is a mount source). */
  wipeState(): Promise<void>;
  destroy(): Promise<void>;
}

// ───────────────────────────── kernel helpers ─────────────────────────────

/** `ip` by its absolute path: a program run in the router may be given a PATH whose `ip` is a test's shim. */
const IP = STD_PATH.split(':').map((dir) => path.join(dir, 'ip')).find((file) => existsSync(file)) ?? '/usr/sbin/ip';

async function ipBatch(ns: string, lines: string[], args: string[] = []): Promise<void> {
  if (!lines.length) return;
  await run(['ip', '-n', ns, ...args, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

const MAC = (index: number): string => `02:6d:77:00:0${index + 1}:01`;
const indexOf = (iface: StormIface): number => STORM_IFACES.indexOf(iface);
const OWNED = new Set(['242', 'multiwan']);

interface JsonObject {
  protocol?: string;
  table?: string;
  [key: string]: unknown;
}

function parseJson(text: string, what: string): JsonObject[] {
  try {
    const value = JSON.parse(text || '[]') as unknown;
    return Array.isArray(value) ? (value as JsonObject[]) : [];
  } catch {
    throw new Error(`storm lab: ${what} printed no JSON: ${text.slice(0, 200)}`);
  }
}

const canonical = (objects: JsonObject[]): string[] => objects.map((o) => JSON.stringify(o)).sort();

/** See KernelState.nft. */
export function canonicalNft(listing: string): string {
  if (!listing.trim()) return '';
  const lines = listing.split('\n');
  const head = lines.findIndex((l) => /^table /.test(l));
  const blocks: string[][] = [];
  let current: string[] | undefined;
  for (const line of lines.slice(head + 1)) {
    if (/^\t\S.*\{$/.test(line)) current = [line];
    else if (current && line === '\t}') {
      blocks.push([...current, line]);
      current = undefined;
    } else if (current) current.push(line.replace(/packets \d+ bytes \d+/, 'packets - bytes -'));
  }
  const body = blocks.map((b) => b.join('\n')).sort();
  return [lines[head], ...body, '}'].join('\n') + '\n';
}

/** Reads what multiwan owns in namespace `ns` (see KernelState). */
async function readKernelState(ns: string): Promise<KernelState> {
  const ip = (args: string[]) => run(['ip', '-n', ns, '-j', ...args]).then((r) => r.stdout);
  const [rules4, rules6, routes4, routes6, nft] = await Promise.all([
    ip(['-4', 'rule', 'show']),
    ip(['-6', 'rule', 'show']),
    ip(['-4', 'route', 'show', 'table', 'all']),
    ip(['-6', 'route', 'show', 'table', 'all']),
    run(inNs(ns, ['nft', 'list', 'table', 'inet', 'multiwan']), { reject: false }),
  ]);
  if (nft.exitCode !== 0 && !/No such file or directory/.test(nft.stderr)) {
    throw new Error(`storm lab: nft list table inet multiwan failed in ${ns}: ${nft.stderr.trim()}`);
  }
  const owned = (o: JsonObject) => OWNED.has(o.protocol ?? '');
  const r4 = parseJson(rules4, 'ip -4 rule'), r6 = parseJson(rules6, 'ip -6 rule');
  const t4 = parseJson(routes4, 'ip -4 route'), t6 = parseJson(routes6, 'ip -6 route');
  const stray = [...t4, ...t6].filter((o) => !owned(o) && o.table !== undefined && o.table !== 'main' && o.table !== 'local');
  return {
    rules: { 4: canonical(r4.filter(owned)), 6: canonical(r6.filter(owned)) },
    routes: { 4: canonical(t4.filter(owned)), 6: canonical(t6.filter(owned)) },
    foreignRules: { 4: canonical(r4.filter((o) => !owned(o))), 6: canonical(r6.filter((o) => !owned(o))) },
    strayRoutes: canonical(stray),
    nft: nft.exitCode === 0 ? canonicalNft(nft.stdout) : '',
  };
}

// The runner: a private mount namespace in which the lab's dirs hide the
// real ones, then the program with the environment run() gives it.
const RUNNER = [
  'set -e',
  'mount --bind "$1" /etc/multiwan',
  'mount --bind "$2" /run/multiwan',
  'mount --bind "$3" /etc/ppp/ip-up.d',
  'mount --bind "$4" /etc/ppp/ip-down.d',
  'shift 4',
  'exec "$@"',
].join('\n');
const MOUNT_POINTS = ['/etc/multiwan', '/run/multiwan', '/etc/ppp/ip-up.d', '/etc/ppp/ip-down.d'];
const HOOK_EXIT = /exited with return code (\d+)/;
const HOOK_SIGNAL = /exited because of uncaught signal|terminated by signal/;

// ───────────────────────────── the lab ─────────────────────────────

export async function createStormLab(): Promise<StormLab> {
  const reason = needsRoot();
  if (reason) throw new Error(reason);
  const { id, root } = await claimId();
  const ns = { rtr: `${LAB_PREFIX}${id}-rtr`, peer: `${LAB_PREFIX}${id}-peer`, oracle: `${LAB_PREFIX}${id}-orc` };
  const dirs = {
    root,
    etc: path.join(root, 'etc'),
    run: path.join(root, 'run'),
    ipUpD: path.join(root, 'ip-up.d'),
    ipDownD: path.join(root, 'ip-down.d'),
  };
  let destroyed: Promise<void> | undefined;

  const runInRouter: StormLab['runInRouter'] = (argv, opts = {}) =>
    run([IP, 'netns', 'exec', ns.rtr, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', RUNNER, 'sh', dirs.etc, dirs.run, dirs.ipUpD, dirs.ipDownD, ...argv], {
      reject: false,
      timeoutMs: opts.timeoutMs ?? 30_000,
      ...(opts.env ? { env: opts.env } : {}),
    });

  const ppp: StormLab['ppp'] = async (action, iface, address, opts = {}) => {
    const script = action === 'up' ? '/etc/ppp/ip-up' : '/etc/ppp/ip-down';
    const r = await runInRouter(['env', '-i', script, iface, '/dev/ttyS0', '115200', address.local, address.peer, opts.ipparam ?? ''], {
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    });
    const output = r.stdout + r.stderr;
    const code = HOOK_EXIT.exec(output)?.[1];
    const hookExit = code !== undefined ? Number(code) : HOOK_SIGNAL.test(output) || r.exitCode !== 0 ? -1 : 0;
    return { ...r, hookExit };
  };

  const createLink: StormLab['createLink'] = async (iface, address) => {
    const i = indexOf(iface);
    await ipBatch(ns.rtr, [
      `link add ${iface} address ${MAC(i)} type veth peer name cust${i} address ${MAC(i)} netns ${ns.peer}`,
      `link set ${iface} arp off`,
      `addr add ${address.local} peer ${address.peer} dev ${iface}`,
    ]);
    // The far end first, so the link has carrier when it comes up.
    await ipBatch(ns.peer, [`link set cust${i} arp off`, `link set cust${i} up`]);
    await ipBatch(ns.rtr, [`link set ${iface} up`]);
  };

  const vanish: StormLab['vanish'] = (iface) => ipBatch(ns.rtr, [`link del ${iface}`]);

  const changeAddress: StormLab['changeAddress'] = (iface, from, to) =>
    ipBatch(ns.rtr, [`addr del ${from.local} peer ${from.peer} dev ${iface}`, `addr add ${to.local} peer ${to.peer} dev ${iface}`]);

  const links: StormLab['links'] = async () => {
    const r = await run(['ip', '-n', ns.rtr, '-4', '-j', 'addr', 'show']);
    const all = parseJson(r.stdout, 'ip -4 addr') as Array<{ ifname?: string; addr_info?: Array<{ local?: string; address?: string }> }>;
    const wanted = new Set<string>(STORM_IFACES);
    // `ip addr` lists only interfaces that hold an address of the family: add the bare ones.
    const names = parseJson((await run(['ip', '-n', ns.rtr, '-j', 'link', 'show'])).stdout, 'ip link') as Array<{ ifname?: string }>;
    return names
      .filter((l) => l.ifname && wanted.has(l.ifname))
      .map((l) => ({
        iface: l.ifname!,
        addresses: (all.find((a) => a.ifname === l.ifname)?.addr_info ?? [])
          .filter((a) => a.local && a.address)
          .map((a) => ({ local: a.local!, peer: a.address! })),
      }))
      .sort((a, b) => a.iface.localeCompare(b.iface));
  };

  const oracle: StormLab['oracle'] = async (mirror, batch, nftScript) => {
    await run(['ip', 'netns', 'add', ns.oracle]);
    try {
      const lines = ['link set lo up'];
      mirror.forEach((l, i) => {
        lines.push(`link add ${l.iface} type veth peer name orc${i}`, `link set orc${i} up`, `link set ${l.iface} arp off`);
        for (const a of l.addresses) lines.push(`addr add ${a.local} peer ${a.peer} dev ${l.iface}`);
        lines.push(`link set ${l.iface} up`);
      });
      await ipBatch(ns.oracle, lines);
      for (const family of [4, 6] as const) {
        const text = batch[family].trim();
        if (text) await ipBatch(ns.oracle, text.split('\n'), [`-${family}`]);
      }
      await run(inNs(ns.oracle, ['nft', '-f', '-']), { input: nftScript });
      return await readKernelState(ns.oracle);
    } finally {
      await deleteNamespace(ns.oracle);
    }
  };

  const lab: StormLab = {
    id,
    ns,
    dirs,
    pristineRules: { 4: [], 6: [] },
    installHooks: async (up, down) => {
      for (const [src, dir] of [[up, dirs.ipUpD], [down, dirs.ipDownD]] as const) {
        const dest = path.join(dir, 'multiwan');
        await copyFile(src, dest);
        await chmod(dest, 0o755);
      }
    },
    writeConfig: async (toml) => {
      const file = path.join(dirs.etc, 'multiwan.toml');
      await writeFile(`${file}.tmp`, toml, { mode: 0o644 });
      await rename(`${file}.tmp`, file);
    },
    ppp,
    runInRouter,
    createLink,
    vanish,
    changeAddress,
    links,
    kernel: () => readKernelState(ns.rtr),
    oracle,
    wipeState: async () => {
      for (const name of await readdir(dirs.run)) await rm(path.join(dirs.run, name), { recursive: true, force: true });
    },
    destroy: () => {
      destroyed ??= (async () => {
        const existing = new Set(await listLabNamespaces());
        await Promise.all(Object.values(ns).filter((n) => existing.has(n)).map(deleteNamespace));
        await rm(root, { recursive: true, force: true });
      })();
      return destroyed;
    },
  };

  try {
    for (const d of [dirs.etc, dirs.run, dirs.ipUpD, dirs.ipDownD]) await mkdir(d, { recursive: true, mode: 0o755 });
    for (const mp of MOUNT_POINTS) await mkdir(mp, { recursive: true });
    await run(['ip', 'netns', 'add', ns.rtr]);
    await run(['ip', 'netns', 'add', ns.peer]);
    // Strict reverse-path filtering: the worst case the product must handle (it sets loose on its links).
    await run(inNs(ns.rtr, ['sysctl', '-q', '-w', 'net.ipv4.conf.all.rp_filter=1', 'net.ipv4.conf.default.rp_filter=1']));
    await ipBatch(ns.rtr, ['link set lo up']);
    await ipBatch(ns.peer, ['link set lo up']);
    for (const [i, iface] of STORM_IFACES.entries()) await createLink(iface, pppAddress(i, 0));
    lab.pristineRules = (await readKernelState(ns.rtr)).foreignRules;
  } catch (error) {
    await lab.destroy();
    throw error;
  }
  return lab;
}
