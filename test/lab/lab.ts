// Network-namespace lab for the e2e tests: a LAN client, a router, two ISPs
// and an internet server, each in its own namespace named `mwt<id>-<role>`.
// Nothing here touches the root network namespace: every `ip`/`nft`/sysctl
// runs with `ip -n <ns>` or `ip netns exec <ns>`.
//
//   lan ── eth0 ═ lan0 ── rtr ── ppp0 ═ cust0 ── isp1 ── up0 ═ isp1 ──┐
//                              └─ ppp1 ═ cust0 ── isp2 ── up0 ═ isp2 ──┴ srv (198.51.100.10 on lo)
//
// The "PPP" links are point-to-point veths with ARP off and the same MAC on
// both ends, so `default dev ppp0` works without neighbour resolution.
import { execa, type ResultPromise } from 'execa';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// ───────────────────────────── types ─────────────────────────────

export interface LabOptions {
  links?: 1 | 2;
}

export interface ExecOptions {
  timeoutMs?: number;
  /** Throw on a non-zero exit or a timeout (default true). */
  reject?: boolean;
  /** Added to a cleared environment that only has a standard PATH. */
  env?: Record<string, string>;
  input?: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface PppResult extends ExecResult {
  hookFailed: boolean;
}

export interface WhoamiOptions {
  count?: number;
  port?: number;
  /** Per-connection timeout. */
  timeoutMs?: number;
  /**
   * Where the connections come from: a namespace of the lab (e.g. `lab.ns.rtr`
   * for locally originated traffic), or an IPv4 address to bind to in the LAN
   * namespace (add it to `eth0` first). Default: the LAN client 192.168.10.2.
   */
  from?: string;
  /** Where to connect (default the server, 198.51.100.10); see addServerAddress(). */
  host?: string;
  /** Open every connection from this local port (the connections then run one at a time). */
  sport?: number;
  /** UDP queries (one new socket each) to a `--udp` listener instead of TCP connections. */
  udp?: boolean;
}

export const ADDR = {
  client: '192.168.10.2',
  rtrLan: '192.168.10.1',
  ppp0Local: '100.64.1.2',
  ppp0Peer: '100.64.1.1',
  ppp1Local: '100.64.2.2',
  ppp1Peer: '100.64.2.1',
  server: '198.51.100.10',
} as const;

export const PORTS = { whoami: 7000, stream: 7001, forward: 8080 } as const;

export type PppIface = 'ppp0' | 'ppp1';
export type IspRole = 'isp1' | 'isp2';

export interface Lab {
  id: string;
  ns: { lan: string; rtr: string; isp1: string; isp2: string; srv: string };
  addr: typeof ADDR;
  dirs: { root: string; ipUpD: string; ipDownD: string; etc: string; run: string };
  exec(ns: string, argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  installHooks(upBundle: string, downBundle: string): Promise<void>;
  writeConfig(toml: string): Promise<void>;
  /** opts.timeoutMs bounds the whole run (default 30 s); on expiry everything it started is killed and hookFailed is true. */
  ppp(action: 'up' | 'down', iface: PppIface, opts?: { ipparam?: string; args?: string[]; timeoutMs?: number }): Promise<PppResult>;
  carrier(iface: PppIface, up: boolean): Promise<void>;
  whoami(opts?: WhoamiOptions): Promise<Record<string, number>>;
  snapshot(): Promise<{ rules: string; routes: string; nft: string }>;
  destroy(): Promise<void>;
}

// ───────────────────────────── constants ─────────────────────────────

export const LAB_PREFIX = 'mwt';
const STD_PATH = '/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin';
const LAB_DIR = path.dirname(fileURLToPath(import.meta.url));
const SERVER_JS = path.join(LAB_DIR, 'server.mjs');
const CLIENT_JS = path.join(LAB_DIR, 'client.mjs');
const NODE = process.execPath;
const PPP_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 10_000;
/** Host directories the hook runner bind-mounts over (must exist). */
const MOUNT_POINTS = ['/etc/multiwan', '/run/multiwan'];
const ROLES = ['lan', 'rtr', 'isp1', 'isp2', 'srv'] as const;
type Role = (typeof ROLES)[number];

const LINKS: Record<PppIface, { isp: IspRole; local: string; peer: string; mac: string }> = {
  ppp0: { isp: 'isp1', local: ADDR.ppp0Local, peer: ADDR.ppp0Peer, mac: '02:6d:77:00:01:01' },
  ppp1: { isp: 'isp2', local: ADDR.ppp1Local, peer: ADDR.ppp1Peer, mac: '02:6d:77:00:02:01' },
};
const UPLINKS: Record<IspRole, { isp: string; srv: string; net: string }> = {
  isp1: { isp: '203.0.113.1/30', srv: '203.0.113.2/30', net: '100.64.1.0/24' },
  isp2: { isp: '203.0.113.5/30', srv: '203.0.113.6/30', net: '100.64.2.0/24' },
};

// ───────────────────────────── process helpers ─────────────────────────────

function killGroup(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Run argv (no shell) with a cleared environment, bounded in time. The child
 * gets its own process group so a timeout kills everything it started.
 */
export async function run(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('run: empty argv');
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const child = execa(file, args, {
    reject: false,
    detached: true,
    extendEnv: false,
    env: { PATH: STD_PATH, ...opts.env },
    ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid);
  }, timeoutMs);
  const r = await child.finally(() => clearTimeout(timer));
  const note = timedOut ? `\n[lab] timed out after ${timeoutMs} ms` : r.exitCode === undefined ? `\n[lab] ${r.message}` : '';
  const result: ExecResult = {
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? '') + note,
    exitCode: r.exitCode ?? (timedOut ? 124 : 128),
  };
  if ((opts.reject ?? true) && (result.exitCode !== 0 || timedOut)) {
    throw new Error(`command failed (exit ${result.exitCode}): ${argv.join(' ')}\n${result.stderr.trim()}`);
  }
  return result;
}

const inNs = (ns: string, argv: string[]): string[] => ['ip', 'netns', 'exec', ns, ...argv];

/** A long-running process inside a namespace whose stdout lines we follow. */
interface Background {
  pid: number | undefined;
  lines: string[];
  /** the last 4 kB of its stderr, for error messages */
  stderr: string;
  exited: boolean;
  /** Resolves with the first line (including past ones) matching `pred`, or undefined on timeout/exit. */
  waitLine(pred: (line: string) => boolean, timeoutMs: number, fromIndex?: number): Promise<string | undefined>;
  stop(graceMs?: number): Promise<void>;
  /** Sends a signal to its process group. */
  signal(signal: NodeJS.Signals): void;
}

function spawnBackground(ns: string, argv: string[], env: Record<string, string> = {}): Background {
  const [file, ...args] = inNs(ns, argv) as [string, ...string[]];
  const child: ResultPromise = execa(file, args, {
    reject: false,
    detached: true,
    extendEnv: false,
    env: { PATH: STD_PATH, ...env },
    stdin: 'ignore',
    buffer: false,
  });
  const waiters = new Set<() => void>();
  const bg: Background = {
    pid: child.pid,
    lines: [],
    stderr: '',
    exited: false,
    waitLine: (pred, timeoutMs, fromIndex = 0) =>
      new Promise((resolve) => {
        const check = (): boolean => {
          const hit = bg.lines.slice(fromIndex).find(pred);
          if (hit !== undefined || bg.exited) finish(hit);
          return hit !== undefined;
        };
        const finish = (value: string | undefined): void => {
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(value);
        };
        const wake = (): void => void check();
        const timer = setTimeout(() => finish(undefined), timeoutMs);
        waiters.add(wake);
        check();
      }),
    signal: (signal) => {
      if (!bg.exited) killGroup(bg.pid, signal);
    },
    stop: async (graceMs = 2000) => {
      if (bg.exited) return;
      killGroup(bg.pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(bg.pid, 'SIGKILL'), graceMs);
      await child.catch(() => undefined);
      clearTimeout(timer);
    },
  };
  const notify = (): void => [...waiters].forEach((w) => w());
  if (child.stdout) createInterface({ input: child.stdout }).on('line', (line) => { bg.lines.push(line); notify(); });
  child.stderr?.on('data', (chunk: Buffer) => { bg.stderr = (bg.stderr + chunk.toString()).slice(-4096); });
  void child.then(() => { bg.exited = true; notify(); }, () => { bg.exited = true; notify(); });
  return bg;
}

// ───────────────────────────── preconditions ─────────────────────────────

function onPath(cmd: string): boolean {
  return STD_PATH.split(':').some((dir) => existsSync(path.join(dir, cmd)));
}

/** undefined when the lab can run here; otherwise why it cannot (a skip reason). */
export function needsRoot(): string | undefined {
  if (process.platform !== 'linux') return 'network-namespace lab needs Linux';
  if (process.getuid?.() !== 0) return 'network-namespace lab needs root (run the e2e tests as root)';
  const missing = ['ip', 'nft', 'unshare', 'run-parts', 'mount'].filter((c) => !onPath(c));
  if (missing.length > 0) return `network-namespace lab needs ${missing.join(', ')} on PATH`;
  if (!existsSync('/etc/ppp/ip-up') || !existsSync('/etc/ppp/ip-down')) {
    return 'network-namespace lab needs /etc/ppp/ip-up and /etc/ppp/ip-down (apt install ppp)';
  }
  return undefined;
}

// ───────────────────────────── lab registry & stale cleanup ─────────────────────────────

interface Owner {
  pid: number;
  ppid: number;
  created: string;
}

const labRoot = (id: string): string => path.join(os.tmpdir(), `${LAB_PREFIX}${id}`);

async function claimId(): Promise<{ id: string; root: string }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const id = randomBytes(2).toString('hex');
    const root = labRoot(id);
    try {
      await mkdir(root, { mode: 0o755 });
    } catch {
      continue; // taken: try another id
    }
    const owner: Owner = { pid: process.pid, ppid: process.ppid, created: new Date().toISOString() };
    await writeFile(path.join(root, 'owner.json'), JSON.stringify(owner));
    return { id, root };
  }
  throw new Error('lab: could not find a free lab id');
}

async function readOwner(id: string): Promise<Owner | undefined> {
  try {
    return JSON.parse(await readFile(path.join(labRoot(id), 'owner.json'), 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Names of all namespaces that start with the lab prefix. */
export async function listLabNamespaces(): Promise<string[]> {
  const { stdout } = await run(['ip', 'netns', 'list']);
  return stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(LAB_PREFIX));
}

async function killNamespacePids(ns: string): Promise<void> {
  const { stdout } = await run(['ip', 'netns', 'pids', ns], { reject: false, timeoutMs: 5000 });
  for (const pid of stdout.split(/\s+/).filter(Boolean).map(Number)) {
    if (Number.isInteger(pid) && pid > 1 && pid !== process.pid) killGroup(pid);
  }
}

async function deleteNamespace(ns: string): Promise<void> {
  if (!ns.startsWith(LAB_PREFIX)) throw new Error(`refusing to delete namespace ${ns}`);
  await killNamespacePids(ns);
  await run(['ip', 'netns', 'del', ns], { reject: false, timeoutMs: 10_000 });
}

/**
 * Delete `mwt*` namespaces (and their temp dirs) that belong to no live lab:
 * the owning process is dead, unknown, or is/was a child of `reapOwner` (the
 * vitest main process at teardown). Labs of a concurrently running test
 * process are left alone. Returns the namespaces deleted.
 */
export async function removeStaleLabs(reapOwner?: number): Promise<string[]> {
  const isStale = (owner: Owner | undefined): boolean =>
    !owner || !alive(owner.pid) || owner.pid === reapOwner || owner.ppid === reapOwner;
  const idOf = (name: string): string => /^mwt([0-9a-f]+)/.exec(name)?.[1] ?? '';
  const stale: string[] = [];
  for (const ns of await listLabNamespaces()) {
    if (isStale(await readOwner(idOf(ns)))) stale.push(ns);
  }
  await Promise.all(stale.map(deleteNamespace));
  const dirs = (await readdir(os.tmpdir())).filter((d) => /^mwt[0-9a-f]+$/.test(d));
  for (const dir of dirs) {
    if (isStale(await readOwner(idOf(dir)))) await rm(path.join(os.tmpdir(), dir), { recursive: true, force: true });
  }
  return stale;
}

// ───────────────────────────── topology ─────────────────────────────

const nsName = (id: string, role: Role): string => `${LAB_PREFIX}${id}-${role}`;

async function sysctl(ns: string, settings: Record<string, string | number>): Promise<void> {
  const kv = Object.entries(settings).map(([k, v]) => `${k}=${v}`);
  await run(inNs(ns, ['sysctl', '-q', '-w', ...kv]));
}

async function ipBatch(ns: string, lines: string[]): Promise<void> {
  await run(['ip', '-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

async function nftLoad(ns: string, ruleset: string): Promise<void> {
  await run(inNs(ns, ['nft', '-f', '-']), { input: ruleset });
}

/** rtr: LAN port and the PPP-like links. Connected routes only. */
function routerBatch(ns: Lab['ns'], links: PppIface[]): string[] {
  const lines = [
    'link set lo up',
    `link add lan0 type veth peer name eth0 netns ${ns.lan}`,
    'addr add 192.168.10.1/24 dev lan0',
    'link set lan0 up',
  ];
  for (const iface of links) {
    const l = LINKS[iface];
    lines.push(
      `link add ${iface} address ${l.mac} type veth peer name cust0 address ${l.mac} netns ${ns[l.isp]}`,
      `link set ${iface} arp off`,
      `addr add ${l.local} peer ${l.peer} dev ${iface}`,
      `link set ${iface} up`,
    );
  }
  return lines;
}

/** srv: one uplink per ISP, the service address on lo, routes back to the customers. */
function serverBatch(ns: Lab['ns']): string[] {
  const lines = ['link set lo up', `addr add ${ADDR.server}/32 dev lo`];
  for (const isp of ['isp1', 'isp2'] as const) {
    const u = UPLINKS[isp];
    lines.push(
      `link add ${isp} type veth peer name up0 netns ${ns[isp]}`,
      `addr add ${u.srv} dev ${isp}`,
      `link set ${isp} up`,
      `route add ${u.net} via ${u.isp.split('/')[0]} dev ${isp}`,
    );
  }
  return lines;
}

function ispBatch(isp: IspRole, withCustomer: boolean): string[] {
  const u = UPLINKS[isp];
  const lines = ['link set lo up', `addr add ${u.isp} dev up0`, 'link set up0 up', `route add default via ${u.srv.split('/')[0]} dev up0`];
  if (withCustomer) {
    const l = isp === 'isp1' ? LINKS.ppp0 : LINKS.ppp1;
    lines.push('link set cust0 arp off', `addr add ${l.peer} peer ${l.local} dev cust0`, 'link set cust0 up');
  }
  return lines;
}

/** An ISP forwards only packets from its customer's address; drops are counted. */
function ispRuleset(isp: IspRole): string {
  const customer = isp === 'isp1' ? ADDR.ppp0Local : ADDR.ppp1Local;
  return `table inet labisp {
  counter spoofed { }
  counter forwarded { }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "cust0" ip saddr != ${customer} counter name "spoofed" drop
    iifname "cust0" counter name "forwarded"
  }
}
`;
}

const lanBatch = (): string[] => [
  'link set lo up',
  `addr add ${ADDR.client}/24 dev eth0`,
  'link set eth0 up',
  `route add default via ${ADDR.rtrLan} dev eth0`,
];

async function buildTopology(ns: Lab['ns'], links: PppIface[]): Promise<void> {
  const all = ROLES.map((r) => ns[r]);
  for (const n of all) await run(['ip', 'netns', 'add', n]);
  // Sysctls first, so interfaces created afterwards inherit `default`. The
  // router is strict (rp_filter=1, the worst case the product must handle);
  // ISPs and the server do no rp_filter so that the ISP's nft rule is what
  // drops (and counts) wrong-source packets.
  const strict = { 'net.ipv4.conf.all.rp_filter': 1, 'net.ipv4.conf.default.rp_filter': 1 };
  const off = { 'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.default.rp_filter': 0 };
  await Promise.all([
    sysctl(ns.lan, strict),
    sysctl(ns.rtr, { ...strict, 'net.ipv4.ip_forward': 1 }),
    sysctl(ns.isp1, { ...off, 'net.ipv4.ip_forward': 1 }),
    sysctl(ns.isp2, { ...off, 'net.ipv4.ip_forward': 1 }),
    sysctl(ns.srv, off),
  ]);
  await Promise.all([ipBatch(ns.rtr, routerBatch(ns, links)), ipBatch(ns.srv, serverBatch(ns))]);
  await Promise.all([
    ipBatch(ns.lan, lanBatch()),
    ipBatch(ns.isp1, ispBatch('isp1', links.includes('ppp0'))),
    ipBatch(ns.isp2, ispBatch('isp2', links.includes('ppp1'))),
    nftLoad(ns.isp1, ispRuleset('isp1')),
    nftLoad(ns.isp2, ispRuleset('isp2')),
  ]);
}

// ───────────────────────────── the lab ─────────────────────────────

interface LabInternals {
  background: Set<Background>;
  start(ns: string, argv: string[], readyTimeoutMs?: number): Promise<Background>;
  listeners: Map<number, Background>;
}

const internals = new WeakMap<Lab, LabInternals>();

function internalsOf(lab: Lab): LabInternals {
  const i = internals.get(lab);
  if (!i) throw new Error('not a lab created by createLab()');
  return i;
}

// The hook runner: a private mount namespace inside the router namespace in
// which our temp dirs hide the real /etc/ppp/ip-{up,down}.d, /etc/multiwan
// and /run/multiwan, then pppd's way of calling the script: cleared env, 6 args.
const PPP_RUNNER = [
  'set -e',
  'mount --bind "$1" /etc/ppp/ip-up.d',
  'mount --bind "$2" /etc/ppp/ip-down.d',
  'mount --bind "$3" /etc/multiwan',
  'mount --bind "$4" /run/multiwan',
  'script="$5"',
  'shift 5',
  'exec env -i "$script" "$@"',
].join('\n');

const HOOK_FAILED = /exited with return code|exited because of uncaught signal|terminated by signal/;

const labDirs = (root: string): Lab['dirs'] => ({
  root,
  ipUpD: path.join(root, 'ip-up.d'),
  ipDownD: path.join(root, 'ip-down.d'),
  etc: path.join(root, 'etc'),
  run: path.join(root, 'run'),
});

async function makeDirs(dirs: Lab['dirs']): Promise<void> {
  for (const d of [dirs.ipUpD, dirs.ipDownD, dirs.etc, dirs.run]) await mkdir(d, { recursive: true });
  for (const mp of MOUNT_POINTS) await mkdir(mp, { recursive: true });
}

const isIPv4 = (s: string): boolean => /^\d{1,3}(\.\d{1,3}){3}$/.test(s);

export async function createLab(opts: LabOptions = {}): Promise<Lab> {
  const reason = needsRoot();
  if (reason) throw new Error(reason);
  const links: PppIface[] = (opts.links ?? 2) === 2 ? ['ppp0', 'ppp1'] : ['ppp0'];
  const { id, root } = await claimId();
  const ns = Object.fromEntries(ROLES.map((r) => [r, nsName(id, r)])) as Lab['ns'];
  const dirs = labDirs(root);
  const background = new Set<Background>();
  let destroyed: Promise<void> | undefined;

  const start = async (where: string, argv: string[], readyTimeoutMs = READY_TIMEOUT_MS): Promise<Background> => {
    const bg = spawnBackground(where, argv);
    background.add(bg);
    const ready = await bg.waitLine((l) => l === 'ready', readyTimeoutMs);
    if (ready === undefined) {
      await bg.stop(0);
      throw new Error(`lab: ${argv.join(' ')} in ${where} did not become ready in ${readyTimeoutMs} ms\n${bg.stderr}`);
    }
    return bg;
  };

  const exec: Lab['exec'] = (where, argv, o = {}) => run(inNs(where, argv), o);

  const installHooks: Lab['installHooks'] = async (up, down) => {
    for (const [src, dir] of [[up, dirs.ipUpD], [down, dirs.ipDownD]] as const) {
      const dest = path.join(dir, 'multiwan');
      await copyFile(src, dest);
      await chmod(dest, 0o755);
    }
  };

  const writeConfig: Lab['writeConfig'] = (toml) => writeFile(path.join(dirs.etc, 'multiwan.toml'), toml);

  const ppp: Lab['ppp'] = async (action, iface, o = {}) => {
    const l = LINKS[iface];
    const args = o.args ?? [iface, '/dev/ttyS0', '115200', l.local, l.peer, o.ipparam ?? ''];
    const script = action === 'up' ? '/etc/ppp/ip-up' : '/etc/ppp/ip-down';
    const argv = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', PPP_RUNNER, 'sh',
      dirs.ipUpD, dirs.ipDownD, dirs.etc, dirs.run, script, ...args];
    const r = await exec(ns.rtr, argv, { reject: false, timeoutMs: o.timeoutMs ?? PPP_TIMEOUT_MS });
    const hookFailed = r.exitCode !== 0 || HOOK_FAILED.test(r.stderr) || HOOK_FAILED.test(r.stdout);
    return { ...r, hookFailed };
  };

  const carrier: Lab['carrier'] = async (iface, up) => {
    await run(['ip', '-n', ns[LINKS[iface].isp], 'link', 'set', 'cust0', up ? 'up' : 'down']);
  };

  const snapshot: Lab['snapshot'] = async () => {
    const [rules, routes, nft] = await Promise.all([
      exec(ns.rtr, ['ip', 'rule']),
      exec(ns.rtr, ['ip', 'route', 'show', 'table', 'all']),
      exec(ns.rtr, ['nft', 'list', 'ruleset']),
    ]);
    return { rules: rules.stdout, routes: routes.stdout, nft: nft.stdout };
  };

  const destroy: Lab['destroy'] = () => {
    destroyed ??= (async () => {
      await Promise.all([...background].map((bg) => bg.stop(500)));
      const existing = new Set(await listLabNamespaces());
      await Promise.all(Object.values(ns).filter((n) => existing.has(n)).map(deleteNamespace));
      await rm(root, { recursive: true, force: true });
    })();
    return destroyed;
  };

  const lab: Lab = {
    id, ns, addr: ADDR, dirs,
    exec, installHooks, writeConfig, ppp, carrier, snapshot, destroy,
    whoami: async (o) => (await whoamiDetailed(lab, o)).counts,
  };
  internals.set(lab, { background, start, listeners: new Map() });
  try {
    await makeDirs(dirs);
    await buildTopology(ns, links);
    await start(ns.srv, [NODE, SERVER_JS, '--whoami', String(PORTS.whoami), '--stream', String(PORTS.stream)]);
  } catch (err) {
    await destroy();
    throw err;
  }
  return lab;
}

// ───────────────────────────── traffic helpers ─────────────────────────────

/** Where a client runs and which local address it binds, from a `from` option. */
function clientPlace(lab: Lab, from: string | undefined): { ns: string; bind: string[] } {
  if (from === undefined) return { ns: lab.ns.lan, bind: [] };
  if (isIPv4(from)) return { ns: lab.ns.lan, bind: ['--bind', from] };
  if (Object.values(lab.ns).includes(from)) return { ns: from, bind: [] };
  throw new Error(`whoami: "from" must be an IPv4 address or a namespace of this lab, got ${from}`);
}

export interface WhoamiDetail {
  /** reply (the source address the server saw) -> count; failures under "error" */
  counts: Record<string, number>;
  /** one error code/message per failed connection (ETIMEDOUT, EHOSTUNREACH, ...) */
  errors: string[];
}

/** Like lab.whoami(), plus the error code of each failed connection. */
export async function whoamiDetailed(lab: Lab, opts: WhoamiOptions = {}): Promise<WhoamiDetail> {
  const count = opts.count ?? 20;
  const timeoutMs = opts.timeoutMs ?? 3000;
  // One local port carries one connection at a time.
  const concurrency = opts.sport === undefined ? 8 : 1;
  const place = clientPlace(lab, opts.from);
  const argv = [NODE, CLIENT_JS, opts.udp ? 'udp' : 'whoami', '--host', opts.host ?? ADDR.server,
    '--port', String(opts.port ?? PORTS.whoami), '--count', String(count), '--timeout', String(timeoutMs),
    '--concurrency', String(concurrency), ...place.bind, ...(opts.sport === undefined ? [] : ['--sport', String(opts.sport)])];
  const bound = timeoutMs * Math.ceil(count / concurrency) + 10_000;
  const r = await lab.exec(place.ns, argv, { timeoutMs: bound });
  return JSON.parse(r.stdout) as WhoamiDetail;
}

export interface StreamStats {
  connected: boolean;
  /** connected, not closed, and data arrived within the last second */
  alive: boolean;
  closed: boolean;
  error?: string;
  /** the source address the server saw for this connection */
  seenAs?: string;
  bytes: number;
  lines: number;
  /** number of silences longer than 1 s between two data arrivals */
  gaps: number;
  /** the longest silence so far (including the current one) */
  maxGapMs: number;
  silentMs: number;
  elapsedMs: number;
}

export interface StreamHandle {
  /** a fresh status (waits for the client's next report, ≤ 2 s) */
  stats(): Promise<StreamStats>;
  /** closes the connection; returns the final status */
  stop(): Promise<StreamStats>;
}

/**
 * A long-running TCP connection from the LAN client to server:7001; the
 * server sends a line every 20 ms. Resolves once the connection is
 * established or has failed (≤ 5 s).
 */
export async function startStream(lab: Lab, opts: { port?: number; from?: string } = {}): Promise<StreamHandle> {
  const place = clientPlace(lab, opts.from);
  const argv = [NODE, CLIENT_JS, 'stream', '--host', ADDR.server, '--port', String(opts.port ?? PORTS.stream),
    '--status-ms', '100', ...place.bind];
  const bg = spawnBackground(place.ns, argv);
  internalsOf(lab).background.add(bg);
  const parse = (line: string | undefined): StreamStats | undefined =>
    line === undefined ? undefined : (JSON.parse(line) as StreamStats);
  const last = (): StreamStats => {
    const s = parse(bg.lines.at(-1));
    if (!s) throw new Error('stream client produced no status');
    return s;
  };
  await bg.waitLine((l) => {
    const s = parse(l);
    return !!s && (s.seenAs !== undefined || s.closed || s.error !== undefined);
  }, 5000);
  return {
    stats: async () => {
      const from = bg.lines.length;
      await bg.waitLine(() => true, 2000, from);
      return last();
    },
    stop: async () => {
      await bg.stop(3000);
      internalsOf(lab).background.delete(bg);
      return last();
    },
  };
}

/** Packet counters of an ISP's customer-facing filter. */
export async function ispCounters(lab: Lab, isp: IspRole): Promise<{ spoofed: number; forwarded: number }> {
  const read = async (name: string): Promise<number> => {
    const r = await lab.exec(lab.ns[isp], ['nft', '-j', 'list', 'counter', 'inet', 'labisp', name]);
    const json = JSON.parse(r.stdout) as { nftables: Array<{ counter?: { packets: number } }> };
    return json.nftables.find((o) => o.counter)?.counter?.packets ?? 0;
  };
  const [spoofed, forwarded] = await Promise.all([read('spoofed'), read('forwarded')]);
  return { spoofed, forwarded };
}

/** Packets the ISP dropped because their source was not its customer's address. */
export async function spoofDrops(lab: Lab, isp: IspRole): Promise<number> {
  return (await ispCounters(lab, isp)).spoofed;
}

export async function resetIspCounters(lab: Lab, isp: IspRole): Promise<void> {
  await lab.exec(lab.ns[isp], ['nft', 'reset', 'counters', 'table', 'inet', 'labisp']);
}

export interface PortForward {
  wanAddr: string;
  wanPort: number;
  lanPort: number;
}

/**
 * Inbound test setup: a user table `inet labfwd` in the router DNATs
 * wanAddr:wanPort to the LAN client's lanPort, where a listener replies with
 * the source address it sees. Call several times for several forwards.
 */
export async function addPortForward(
  lab: Lab,
  opts: { wanAddr: string; wanPort?: number; lanPort?: number },
): Promise<PortForward> {
  const fwd = { wanAddr: opts.wanAddr, wanPort: opts.wanPort ?? PORTS.forward, lanPort: opts.lanPort ?? PORTS.forward };
  if (!isIPv4(fwd.wanAddr)) throw new Error(`addPortForward: bad address ${fwd.wanAddr}`);
  const i = internalsOf(lab);
  if (!i.listeners.has(fwd.lanPort)) {
    i.listeners.set(fwd.lanPort, await i.start(lab.ns.lan, [NODE, SERVER_JS, '--whoami', String(fwd.lanPort)]));
  }
  await lab.exec(lab.ns.rtr, ['nft', '-f', '-'], {
    input: `table inet labfwd {
  chain prerouting { type nat hook prerouting priority dstnat; policy accept; }
}
add rule inet labfwd prerouting ip daddr ${fwd.wanAddr} tcp dport ${fwd.wanPort} dnat ip to ${ADDR.client}:${fwd.lanPort}
`,
  });
  return fwd;
}

/** Removes the `inet labfwd` table and stops the LAN listeners. */
export async function removePortForwards(lab: Lab): Promise<void> {
  const i = internalsOf(lab);
  await lab.exec(lab.ns.rtr, ['nft', 'delete', 'table', 'inet', 'labfwd'], { reject: false });
  await Promise.all([...i.listeners.values()].map((bg) => bg.stop(500)));
  i.listeners.clear();
}

export interface ConnectResult {
  ok: boolean;
  reply?: string;
  error?: string;
}

/**
 * From the server namespace (source 198.51.100.10 unless `from` says
 * otherwise), connect to a router WAN address:port and return the reply.
 */
export async function connectFromServer(
  lab: Lab,
  addr: string,
  port: number,
  opts: { timeoutMs?: number; from?: string } = {},
): Promise<ConnectResult> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const argv = [NODE, CLIENT_JS, 'request', '--host', addr, '--port', String(port),
    '--timeout', String(timeoutMs), '--bind', opts.from ?? ADDR.server];
  const r = await lab.exec(lab.ns.srv, argv, { timeoutMs: timeoutMs + 10_000 });
  return JSON.parse(r.stdout) as ConnectResult;
}

/**
 * Another address of the internet server (on its `lo`, like 198.51.100.10):
 * the ISPs' default routes point at the server, and the server routes the
 * customers' networks back, so nothing else is needed for it to be reached
 * through either ISP. TCP listeners on 0.0.0.0 (the whoami port, and those of
 * startServer) answer on it.
 */
export async function addServerAddress(lab: Lab, addr: string): Promise<void> {
  if (!isIPv4(addr)) throw new Error(`addServerAddress: bad address ${addr}`);
  await lab.exec(lab.ns.srv, ['ip', 'addr', 'add', `${addr}/32`, 'dev', 'lo']);
}

/**
 * More listeners on the internet server: `whoami` TCP ports and `udp` ports
 * (each answers with the source address it saw). `host` binds them to one
 * address (needed for UDP when the server has several, so that the reply
 * leaves from the address the query went to). Stopped by lab.destroy().
 */
export async function startServer(lab: Lab, opts: { whoami?: number[]; udp?: number[]; host?: string }): Promise<void> {
  if (!opts.whoami?.length && !opts.udp?.length) throw new Error('startServer: no port to listen on');
  const args = [
    ...(opts.whoami ?? []).flatMap((port) => ['--whoami', String(port)]),
    ...(opts.udp ?? []).flatMap((port) => ['--udp', String(port)]),
    ...(opts.host ? ['--host', opts.host] : []),
  ];
  await internalsOf(lab).start(lab.ns.srv, [NODE, SERVER_JS, ...args]);
}

/** Environment for running the product's CLI by hand in the router namespace. */
export type BackgroundProcess = Background;

/**
 * A long-running program in one of the lab's namespaces (e.g. `multiwan
 * monitor` in the router), its stdout followed line by line; stopped by
 * lab.destroy() at the latest.
 */
export function startBackground(lab: Lab, ns: string, argv: string[], env: Record<string, string> = {}): BackgroundProcess {
  const bg = spawnBackground(ns, argv, env);
  internalsOf(lab).background.add(bg);
  return bg;
}

export function productEnv(lab: Lab): Record<string, string> {
  return { MULTIWAN_CONFIG: path.join(lab.dirs.etc, 'multiwan.toml'), MULTIWAN_STATE_DIR: lab.dirs.run };
}
