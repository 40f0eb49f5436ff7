// `npm run bench` (second part): the health monitor, `dist/multiwan monitor`,
// in the namespace lab, against the issue's targets and beside mwan3's
// defaults (bench/mwan3.ts).
//
//   1. silent death: isp1 drops everything it forwards (the PPP link stays
//      up); time from just before the injecting `nft` starts until the
//      kernel's table 200 (the balanced route) in the router no longer names
//      ppp0. 5 runs; median and max. Target: median < 1 s.
//   2. carrier loss: isp1's end of the link goes down (ppp0 loses carrier);
//      same measurement. 5 runs. Target: median < 300 ms.
//   3. 20% random loss (each direction) on isp1 for 120 s: transitions the
//      monitor logs, and table 200 sampled every 500 ms. Target: 0.
//   4. resident memory of the monitor process with 4 links, after 30 s.
//      Target: < 64 MB.
//
// The kernel is the truth: detection ends at the first `ip route show table
// 200` (polled every few ms) without ppp0, not at the monitor's log line. The
// monitor's own view is reported beside it: `healthSince` in its state file
// (set when the verdict's apply starts, under the lock) and the arrival of
// its log line (written after the apply and the state write).
//
//   npm run bench                       (both benchmarks)
//   tsx bench/monitor.ts [--runs N] [--lossy-seconds N] [--memory-seconds N]
//
// Needs root; never touches the root network namespace: every command runs
// in the lab's `mwt*` namespaces (`ip -n`, `ip netns exec`, test/lab/lab.ts).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { productEnv, run, startBackground, type BackgroundProcess, type Lab } from '../test/lab/lab.js';
import { BenchError, benchEnv, FAILED, runBench, withBenchLab, writeResults } from './with-lab.js';
import { cpuMark, othersCpus } from './cpu.js';
import { MWAN3_DEFAULTS, MWAN3_SOURCE, mwan3FalseOffline, mwan3SilentDeath } from './mwan3.js';
import { round1, summarize, type Summary } from './stats.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, '.bench', 'monitor.json');
const MULTIWAN = path.join(ROOT, 'dist/multiwan');
const STD_PATH = '/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin';

const TARGET = { silentMs: 1000, carrierMs: 300, falseTransitions: 0, rssMiB: 64 } as const;
/** The check defaults the config below relies on (src/config/parse-config.ts, src/monitor/detector.ts). */
const CHECK = { intervalMs: 200, count: 3, down: 3, up: 3 } as const;
const DETECT_TIMEOUT_MS = 5000;
const RECOVER_TIMEOUT_MS = 5000;
const POLL_GAP_MS = 2;
const SETTLE_MS = 1000;
const SAMPLE_MS = 500;

// Same shape as test/e2e/monitor.test.ts: two targets per link, the check defaults.
const CONFIG_2 = `lan = ["192.168.10.0/24"]

[link.isp1]
interface = "ppp0"
weight = 1
check = { targets = ["198.51.100.10", "203.0.113.2"] }

[link.isp2]
interface = "ppp1"
weight = 1
check = { targets = ["198.51.100.10", "203.0.113.6"] }
`;

// ppp2/ppp3 are extra point-to-point veths from the router to isp1's
// namespace (see addExtraLinks); isp1 forwards their probes and the server
// routes the replies back, so all four links probe for real.
const CONFIG_4 = `${CONFIG_2}
[link.isp3]
interface = "ppp2"
weight = 1
check = { targets = ["198.51.100.10", "203.0.113.2"] }

[link.isp4]
interface = "ppp3"
weight = 1
check = { targets = ["198.51.100.10", "203.0.113.2"] }
`;

const EXTRA = [
  { iface: 'ppp2', peerIface: 'ppp2p', local: '100.64.3.2', peer: '100.64.3.1', net: '100.64.3.0/24', mac: '02:6d:77:00:03:01', name: 'isp3', tty: '/dev/ttyS2' },
  { iface: 'ppp3', peerIface: 'ppp3p', local: '100.64.4.2', peer: '100.64.4.1', net: '100.64.4.0/24', mac: '02:6d:77:00:04:01', name: 'isp4', tty: '/dev/ttyS3' },
] as const;

const TRANSITION = /out of service|back in service/;


function parseArgs(argv: string[]): { runs: number; lossySeconds: number; memorySeconds: number } {
  const opts = { runs: 5, lossySeconds: 120, memorySeconds: 30 };
  const keys = { runs: 'runs', 'lossy-seconds': 'lossySeconds', 'memory-seconds': 'memorySeconds' } as const;
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(runs|lossy-seconds|memory-seconds)(?:=(.*))?$/.exec(argv[i]!);
    if (!m) throw new BenchError(`unknown argument ${argv[i]} (usage: bench/monitor.ts [--runs N] [--lossy-seconds N] [--memory-seconds N])`);
    const value = Number(m[2] ?? argv[++i]);
    if (!Number.isInteger(value) || value < 1 || value > 3600) throw new BenchError(`bad --${m[1]}`);
    opts[keys[m[1] as keyof typeof keys]] = value;
  }
  return opts;
}

// ───────────────────────────── helpers ─────────────────────────────

/** Wall clock with sub-millisecond resolution (comparable with the monitor's Date-based timestamps). */
const wall = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Table 200 (the balanced route) of the router, by one `ip -n` process: no shell, no `ip netns exec`. */
function balance(lab: Lab): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['-n', lab.ns.rtr, 'route', 'show', 'table', '200'], { env: { PATH: STD_PATH, LC_ALL: 'C' }, timeout: 2000 }, (err, stdout, stderr) =>
      err ? reject(new BenchError(`ip route show table 200: ${err.message} ${stderr}`)) : resolve(stdout),
    );
  });
}

const hasNexthops = (text: string, ifaces: string[]): boolean => ifaces.every((i) => new RegExp(`nexthop dev ${i}\\b`).test(text));

interface Poll {
  /** wall time at which the first poll satisfying `want` returned */
  at?: number;
  /** wall time at which the previous (unsatisfied) poll started: the change happened after it */
  previousStart?: number;
  polls: number;
}

/** Polls table 200 as fast as one process after another allows (+ POLL_GAP_MS), until `want` holds or timeoutMs after `from`. */
async function pollBalance(lab: Lab, want: (text: string) => boolean, from: number, timeoutMs: number): Promise<Poll> {
  let previousStart: number | undefined;
  for (let polls = 1; polls < 100_000; polls++) {
    const start = wall();
    const text = await balance(lab);
    const end = wall();
    if (want(text)) return { at: end, previousStart, polls };
    if (end - from > timeoutMs) return { polls };
    previousStart = start;
    await sleep(POLL_GAP_MS);
  }
  return { polls: 100_000 };
}

/** Arrival time (wall) of each of the monitor's stdout lines, index for index with bg.lines. */
function stampLines(bg: BackgroundProcess, boundMs: number): number[] {
  const stamps: number[] = [];
  const mark = (): void => {
    while (stamps.length < bg.lines.length) stamps.push(wall());
  };
  mark();
  // waitLine calls the predicate for every new line as it arrives; it never matches, and
  // resolves when the monitor exits (lab.destroy stops it at the latest) or after boundMs.
  void bg.waitLine(() => (mark(), false), boundMs, bg.lines.length);
  return stamps;
}

interface Monitor {
  bg: BackgroundProcess;
  stamps: number[];
}

async function startMonitor(lab: Lab, links: string, boundMs: number): Promise<Monitor> {
  const bg = startBackground(lab, lab.ns.rtr, [MULTIWAN, 'monitor'], productEnv(lab));
  const stamps = stampLines(bg, boundMs);
  const line = await bg.waitLine((l) => l.startsWith('monitoring '), 5000);
  if (!line?.startsWith(`monitoring ${links} `)) {
    throw new BenchError(`the monitor did not start monitoring ${links}: ${line ?? '(no line)'}\n${bg.lines.join('\n')}\n${bg.stderr}`);
  }
  return { bg, stamps };
}

/** The ISP's fault: an nft table of its own in isp1's namespace, hooked on forward before the ISP's filter. */
const faultRuleset = (rules: string[]): string =>
  `table inet labfault {\n  chain forward {\n    type filter hook forward priority -5; policy accept;\n${rules.map((r) => `    ${r}\n`).join('')}  }\n}\n`;

async function clearFault(lab: Lab): Promise<void> {
  await lab.exec(lab.ns.isp1, ['nft', 'delete', 'table', 'inet', 'labfault'], { reject: false });
}

interface LinkStateFile {
  healthy?: boolean;
  healthReason?: string;
  healthSince?: string;
}

function readState(lab: Lab, link: string): LinkStateFile {
  try {
    return JSON.parse(readFileSync(path.join(lab.dirs.run, `link-${link}.json`), 'utf8')) as LinkStateFile;
  } catch {
    return {};
  }
}

function readHealthLoss(lab: Lab, link: string): number | undefined {
  try {
    const h = JSON.parse(readFileSync(path.join(lab.dirs.run, `health-${link}.json`), 'utf8')) as { loss?: number; windows?: number };
    return typeof h.loss === 'number' && (h.windows ?? 0) > 0 ? h.loss : undefined;
  } catch {
    return undefined;
  }
}

// ───────────────────────────── detection ─────────────────────────────

interface DetectionRun {
  /** fault injected (command started) -> kernel table 200 without ppp0 (the poll that saw it returned) */
  detectMs?: number;
  /** the change happened after this many ms (start of the last poll that still saw ppp0) */
  lowerMs?: number;
  /** the injecting command's own duration */
  injectMs: number;
  /** -> healthSince in the link's state file: the verdict's apply started (under the lock) */
  verdictMs?: number;
  /** -> the monitor's log line arrived here */
  loggedMs?: number;
  logLine?: string;
  reason?: string;
  /** fault removed -> ppp0 back in table 200 */
  recoverMs: number;
  polls: number;
}

type Fault = 'silent' | 'carrier';

async function inject(lab: Lab, fault: Fault, on: boolean): Promise<void> {
  if (fault === 'carrier') return lab.carrier('ppp0', !on);
  if (on) await lab.exec(lab.ns.isp1, ['nft', '-f', '-'], { input: faultRuleset(['drop']) });
  else await clearFault(lab);
}

async function detectionRun(lab: Lab, mon: Monitor, fault: Fault): Promise<DetectionRun> {
  const before = await balance(lab);
  if (!hasNexthops(before, ['ppp0', 'ppp1'])) throw new BenchError(`before a ${fault} run, table 200 is not balanced over ppp0 and ppp1:\n${before}`);
  const fromLine = mon.bg.lines.length;

  const t0 = wall();
  const [injectedAt, seen] = await Promise.all([
    inject(lab, fault, true).then(() => wall()),
    pollBalance(lab, (text) => !text.includes('ppp0'), t0, DETECT_TIMEOUT_MS),
  ]);
  const logLine = await mon.bg.waitLine((l) => l.startsWith('isp1 (ppp0): out of service'), 2000, fromLine);
  const logIndex = logLine === undefined ? -1 : mon.bg.lines.indexOf(logLine, fromLine);
  const state = readState(lab, 'isp1');
  const after = await balance(lab);
  if (seen.at !== undefined && !after.includes('ppp1')) throw new BenchError(`after the ${fault} fault on isp1, ppp1 left table 200 too:\n${after}`);

  const r0 = wall();
  await inject(lab, fault, false);
  const back = await pollBalance(lab, (text) => hasNexthops(text, ['ppp0', 'ppp1']), r0, RECOVER_TIMEOUT_MS);
  if (back.at === undefined) {
    throw new BenchError(`ppp0 did not come back into table 200 within ${RECOVER_TIMEOUT_MS} ms of removing the ${fault} fault:\n${await balance(lab)}\n${mon.bg.lines.slice(fromLine).join('\n')}`);
  }
  const healthSince = state.healthSince ? Date.parse(state.healthSince) : undefined;
  return {
    detectMs: seen.at === undefined ? undefined : seen.at - t0,
    lowerMs: seen.previousStart === undefined ? undefined : seen.previousStart - t0,
    injectMs: injectedAt - t0,
    verdictMs: healthSince !== undefined && state.healthy === false && healthSince >= t0 - 1 ? healthSince - t0 : undefined,
    loggedMs: logIndex >= 0 && mon.stamps[logIndex] !== undefined ? mon.stamps[logIndex]! - t0 : undefined,
    logLine,
    reason: state.healthReason,
    recoverMs: back.at - r0,
    polls: seen.polls,
  };
}

async function detection(lab: Lab, mon: Monitor, fault: Fault, runs: number, log: (line: string) => void): Promise<DetectionRun[]> {
  const results: DetectionRun[] = [];
  for (let i = 0; i < runs; i++) {
    // At least a second of good windows, and a random phase against the monitor's 200 ms window grid.
    await sleep(SETTLE_MS + Math.random() * CHECK.intervalMs);
    const r = await detectionRun(lab, mon, fault);
    results.push(r);
    log(
      `  ${fault} run ${i + 1}: ` +
        (r.detectMs === undefined ? `ppp0 still in table 200 after ${DETECT_TIMEOUT_MS} ms` : `${r.detectMs.toFixed(0)} ms (after ${r.lowerMs?.toFixed(0) ?? '?'} ms)`) +
        `; inject ${r.injectMs.toFixed(0)} ms, verdict ${fmtOpt(r.verdictMs)}, logged ${fmtOpt(r.loggedMs)}, reason ${r.reason ?? '-'}; back in ${r.recoverMs.toFixed(0)} ms`,
    );
  }
  return results;
}

const fmtOpt = (x: number | undefined): string => (x === undefined ? '-' : `${x.toFixed(0)} ms`);

// ───────────────────────────── loss ─────────────────────────────

interface LossResult {
  seconds: number;
  transitions: string[];
  samples: number;
  samplesWithoutPpp0: number;
  dropped: number;
  passed: number;
  observedLoss: number;
  /** mean of the monitor's own probe loss (health-isp1.json, last 50 windows) over the samples */
  monitorProbeLoss?: number;
}

async function faultCounters(lab: Lab): Promise<{ dropped: number; passed: number }> {
  const r = await lab.exec(lab.ns.isp1, ['nft', '-j', 'list', 'chain', 'inet', 'labfault', 'forward']);
  type Expr = Record<string, unknown>;
  const rules = (JSON.parse(r.stdout) as { nftables: Array<{ rule?: { expr: Expr[] } }> }).nftables.flatMap((o) => (o.rule ? [o.rule] : []));
  const packets = (rule: { expr: Expr[] }): number => (rule.expr.find((e) => 'counter' in e)?.counter as { packets?: number } | undefined)?.packets ?? 0;
  const isDrop = (rule: { expr: Expr[] }): boolean => rule.expr.some((e) => 'drop' in e);
  const drop = rules.find(isDrop);
  const pass = rules.find((rule) => !isDrop(rule));
  if (!drop || !pass) throw new BenchError(`unexpected labfault chain:\n${r.stdout}`);
  return { dropped: packets(drop), passed: packets(pass) };
}

async function lossy(lab: Lab, mon: Monitor, seconds: number): Promise<LossResult> {
  const fromLine = mon.bg.lines.length;
  await lab.exec(lab.ns.isp1, ['nft', '-f', '-'], { input: faultRuleset(['numgen random mod 5 0 counter drop', 'counter']) });
  const start = performance.now();
  let samples = 0;
  let without = 0;
  const losses: number[] = [];
  const n = Math.round((seconds * 1000) / SAMPLE_MS);
  for (let i = 1; i <= n; i++) {
    await sleep(Math.max(0, start + i * SAMPLE_MS - performance.now()));
    const text = await balance(lab);
    samples++;
    if (!text.includes('ppp0')) without++;
    // health-isp1.json covers the last 50 windows (10 s): only samples wholly inside the lossy period.
    const loss = performance.now() - start >= 50 * CHECK.intervalMs + 1000 ? readHealthLoss(lab, 'isp1') : undefined;
    if (loss !== undefined) losses.push(loss);
  }
  const counters = await faultCounters(lab);
  const elapsed = (performance.now() - start) / 1000;
  await clearFault(lab);
  const total = counters.dropped + counters.passed;
  return {
    seconds: elapsed,
    transitions: mon.bg.lines.slice(fromLine).filter((l) => TRANSITION.test(l)),
    samples,
    samplesWithoutPpp0: without,
    ...counters,
    observedLoss: total ? counters.dropped / total : 0,
    ...(losses.length ? { monitorProbeLoss: losses.reduce((a, b) => a + b, 0) / losses.length } : {}),
  };
}

// ───────────────────────────── memory ─────────────────────────────

/** ppp2 and ppp3: point-to-point veths from the router to isp1's namespace, routed back by the server. Lab namespaces only. */
async function addExtraLinks(lab: Lab): Promise<void> {
  const rtr: string[] = [];
  const isp: string[] = [];
  const srv: string[] = [];
  for (const e of EXTRA) {
    rtr.push(
      `link add ${e.iface} address ${e.mac} type veth peer name ${e.peerIface} address ${e.mac} netns ${lab.ns.isp1}`,
      `link set ${e.iface} arp off`,
      `addr add ${e.local} peer ${e.peer} dev ${e.iface}`,
      `link set ${e.iface} up`,
    );
    isp.push(`link set ${e.peerIface} arp off`, `addr add ${e.peer} peer ${e.local} dev ${e.peerIface}`, `link set ${e.peerIface} up`);
    srv.push(`route add ${e.net} via 203.0.113.1 dev isp1`);
  }
  await lab.exec(lab.ns.rtr, ['ip', '-batch', '-'], { input: rtr.join('\n') + '\n' });
  await lab.exec(lab.ns.isp1, ['ip', '-batch', '-'], { input: isp.join('\n') + '\n' });
  await lab.exec(lab.ns.srv, ['ip', '-batch', '-'], { input: srv.join('\n') + '\n' });
}

interface ProcMem {
  pid: number;
  name: string;
  rssKiB: number;
  hwmKiB: number;
  pssKiB?: number;
}

function procMem(pid: number): ProcMem {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  let pssKiB: number | undefined;
  try {
    pssKiB = Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN);
  } catch {
    /* smaps_rollup needs Linux 4.14 */
  }
  return { pid, name: /^Name:\s+(\S+)/m.exec(status)?.[1] ?? '?', rssKiB: field('VmRSS'), hwmKiB: field('VmHWM'), ...(pssKiB !== undefined && !Number.isNaN(pssKiB) ? { pssKiB } : {}) };
}

const ppidOf = (pid: number): number => Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? -1);
const cmdlineOf = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

/**
 * The monitor's node process: among the pids in the router's network
 * namespace only (other labs run monitors of their own), the one whose
 * cmdline is node + dist/multiwan + monitor.
 */
async function findMonitor(lab: Lab, bg: BackgroundProcess): Promise<{ pid: number; cmdline: string[]; nsPids: number[] }> {
  const { stdout } = await run(['ip', 'netns', 'pids', lab.ns.rtr]);
  const nsPids = stdout.split(/\s+/).filter(Boolean).map(Number);
  const found: Array<{ pid: number; cmdline: string[] }> = [];
  for (const pid of nsPids) {
    try {
      const cmdline = cmdlineOf(pid);
      const i = cmdline.findIndex((a) => a === MULTIWAN || a.endsWith('/multiwan'));
      if (i >= 1 && cmdline[i + 1] === 'monitor' && /(^|\/)node[\d.]*$/.test(cmdline[0]!)) found.push({ pid, cmdline });
    } catch {
      /* exited meanwhile */
    }
  }
  if (found.length !== 1) throw new BenchError(`expected one monitor process in ${lab.ns.rtr}, found ${found.length}: ${JSON.stringify(found)}`);
  if (bg.pid !== undefined && found[0]!.pid !== bg.pid) {
    // `ip netns exec` execs the command in place, so the pid we started should be node itself.
    throw new BenchError(`monitor pid ${found[0]!.pid} is not the process started (${bg.pid})`);
  }
  return { ...found[0]!, nsPids };
}

interface MemoryResult {
  seconds: number;
  monitor: ProcMem & { cmdline: string };
  trend: Array<{ atS: number; rssKiB: number }>;
  children: ProcMem[];
  pingRssKiB: number;
  /** the pings' proportional share (shared pages divided among the processes mapping them) */
  pingPssKiB?: number;
  otherChildrenRssKiB: number;
  inService: string[];
  transitions: string[];
  lines: string[];
}

async function memory(lab: Lab, seconds: number, log: (line: string) => void): Promise<MemoryResult> {
  await addExtraLinks(lab);
  await lab.writeConfig(CONFIG_4);
  for (const e of EXTRA) {
    // lab.ppp's interface argument only picks default arguments; these six are pppd's for ppp2/ppp3.
    const r = await lab.ppp('up', 'ppp0', { args: [e.iface, e.tty, '115200', e.local, e.peer, e.name], timeoutMs: 15_000 });
    if (r.hookFailed) throw new BenchError(`ip-up of ${e.iface} failed (exit ${r.exitCode}):\n${r.stdout}${r.stderr}`);
  }
  const mon = await startMonitor(lab, 'isp1, isp2, isp3, isp4', (seconds + 60) * 1000);
  const { pid, cmdline } = await findMonitor(lab, mon.bg);
  log(`  monitor pid ${pid}: ${cmdline.join(' ')}`);
  const start = performance.now();
  const trend: Array<{ atS: number; rssKiB: number }> = [];
  const steps = Math.max(1, Math.round(seconds / 5));
  for (let i = 1; i <= steps; i++) {
    await sleep(Math.max(0, start + (i * seconds * 1000) / steps - performance.now()));
    trend.push({ atS: round1((performance.now() - start) / 1000), rssKiB: procMem(pid).rssKiB });
  }
  const monitor = { ...procMem(pid), cmdline: cmdline.join(' ') };
  const { nsPids } = await findMonitor(lab, mon.bg);
  const children: ProcMem[] = [];
  for (const child of nsPids) {
    try {
      if (ppidOf(child) === pid) children.push(procMem(child));
    } catch {
      /* exited meanwhile */
    }
  }
  const text = await balance(lab);
  const inService = ['ppp0', 'ppp1', 'ppp2', 'ppp3'].filter((i) => new RegExp(`nexthop dev ${i}\\b`).test(text));
  const sum = (list: ProcMem[]): number => list.reduce((a, c) => a + c.rssKiB, 0);
  const pings = children.filter((c) => c.name === 'ping');
  return {
    seconds: (performance.now() - start) / 1000,
    monitor,
    trend,
    children,
    pingRssKiB: sum(pings),
    ...(pings.every((p) => p.pssKiB !== undefined) ? { pingPssKiB: pings.reduce((a, p) => a + p.pssKiB!, 0) } : {}),
    otherChildrenRssKiB: sum(children.filter((c) => c.name !== 'ping')),
    inService,
    transitions: mon.bg.lines.filter((l) => TRANSITION.test(l)),
    lines: [...mon.bg.lines],
  };
}

// ───────────────────────────── report ─────────────────────────────

const verdict = (pass: boolean): string => (pass ? 'PASS' : 'MISS');
const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;

function detectionSummary(runs: DetectionRun[]): { summary?: Summary; timedOut: number } {
  const got = runs.flatMap((r) => (r.detectMs === undefined ? [] : [r.detectMs]));
  return { summary: got.length ? summarize(got) : undefined, timedOut: runs.length - got.length };
}

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
}

// ───────────────────────────── main ─────────────────────────────

async function main(): Promise<number> {
  if (!existsSync(MULTIWAN)) {
    console.error('bench: dist/multiwan is missing (run `npm run build`; `npm run bench` does)');
    return 1;
  }
  let opts: ReturnType<typeof parseArgs>;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`bench: ${(err as Error).message}`);
    return 1;
  }
  const started = Date.now();
  const cpu0 = cpuMark();
  const log = (line: string): void => console.log(line);

  let silent!: DetectionRun[]; // assigned in the lab callback, which returns FAILED otherwise
  let carrier!: DetectionRun[];
  let loss!: LossResult;
  let mem!: MemoryResult;
  let monitorLines!: string[];
  let warmupMs = 0;
  const done = await withBenchLab({ links: 2 }, async (lab) => {
    await lab.installHooks(path.join(ROOT, 'dist/ip-up'), path.join(ROOT, 'dist/ip-down'));
    await lab.writeConfig(CONFIG_2);
    for (const iface of ['ppp0', 'ppp1'] as const) {
      const r = await lab.ppp('up', iface, { timeoutMs: 15_000 });
      if (r.hookFailed) throw new BenchError(`ip-up of ${iface} failed (exit ${r.exitCode}):\n${r.stdout}${r.stderr}`);
    }
    const bound = (opts.runs * 2 * 10 + opts.lossySeconds + 120) * 1000;
    const mon = await startMonitor(lab, 'isp1, isp2', bound);
    // Harness warm-up: in a trial run the first nft table in isp1's namespace took ~390 ms (later ones
    // ~10 ms), which would have counted as detection time in the first run.
    const w0 = wall();
    await lab.exec(lab.ns.isp1, ['nft', '-f', '-'], { input: faultRuleset(['counter']) });
    warmupMs = wall() - w0;
    await clearFault(lab);
    await sleep(SETTLE_MS);
    log(`harness warm-up: the first nft table in isp1's namespace took ${warmupMs.toFixed(0)} ms (not timed as a fault)`);

    log(`\nsilent death of isp1 (everything forwarded dropped), ${opts.runs} runs:`);
    silent = await detection(lab, mon, 'silent', opts.runs, log);
    log(`carrier loss on ppp0, ${opts.runs} runs:`);
    carrier = await detection(lab, mon, 'carrier', opts.runs, log);

    await sleep(SETTLE_MS);
    log(`20% random loss on isp1 for ${opts.lossySeconds} s ...`);
    loss = await lossy(lab, mon, opts.lossySeconds);
    log(`  ${loss.transitions.length} transition(s); ppp0 missing from table 200 in ${loss.samplesWithoutPpp0} of ${loss.samples} samples; ` +
      `isp1 dropped ${loss.dropped} of ${loss.dropped + loss.passed} forwarded packets (${(loss.observedLoss * 100).toFixed(1)}%)`);
    monitorLines = [...mon.bg.lines];
    await mon.bg.stop();

    log(`4 links, monitor resident memory after ${opts.memorySeconds} s ...`);
    mem = await memory(lab, opts.memorySeconds, log);
    monitorLines.push('--- the 4-link monitor:', ...mem.lines);
  });
  if (done === FAILED) return 1;

  // ── figures and verdicts
  const s = detectionSummary(silent);
  const c = detectionSummary(carrier);
  const silentPass = !!s.summary && s.timedOut === 0 && s.summary.median < TARGET.silentMs;
  const carrierPass = !!c.summary && c.timedOut === 0 && c.summary.median < TARGET.carrierMs;
  const falseTransitions = loss.transitions.length;
  const lossPass = falseTransitions === TARGET.falseTransitions && loss.samplesWithoutPpp0 === 0;
  const memPass = mem.monitor.hwmKiB / 1024 < TARGET.rssMiB;
  const m3 = mwan3SilentDeath(1);
  const m3Example = mwan3SilentDeath(4);
  const m3Loss = mwan3FalseOffline(0.2, Math.round(loss.seconds));
  const m3LossDay = mwan3FalseOffline(0.2, 86_400);

  const ms = (x: number | undefined): string => (x === undefined ? '-' : `${x.toFixed(0)} ms`);
  const detRow = (title: string, d: { summary?: Summary; timedOut: number }, target: number, pass: boolean, m3cell: string): string[][] => [
    [`${title}, median`, d.summary ? ms(d.summary.median) : '-', `< ${target} ms`, verdict(pass), m3cell],
    [`${title}, max`, d.summary ? ms(d.summary.max) + (d.timedOut ? ` (+${d.timedOut} timed out)` : '') : `all ${d.timedOut} timed out`, '', d.summary && d.summary.max < target && !d.timedOut ? '(within)' : '(over)', ''],
  ];
  const rows: string[][] = [
    ['figure', 'multiwan (measured)', 'target', 'verdict', "mwan3 defaults (computed)"],
    ...detRow(`silent death (${silent.length} runs)`, s, TARGET.silentMs, silentPass, `${m3.worstS} s worst, ${m3.bestS} s best`),
    ...detRow(`carrier loss (${carrier.length} runs)`, c, TARGET.carrierMs, carrierPass, 'n/a: ifdown hotplug, no track setting'),
    [`false transitions, 20% loss, ${loss.seconds.toFixed(0)} s`, `${falseTransitions} (ppp0 in table 200 ${loss.samples - loss.samplesWithoutPpp0}/${loss.samples})`, '0', verdict(lossPass),
      `P(>=1) = ${(m3Loss.p * 100).toFixed(1)}%, 1 target`],
    ['monitor RSS, 4 links (VmRSS / peak)', `${mib(mem.monitor.rssKiB)} / ${mib(mem.monitor.hwmKiB)}`, `< ${TARGET.rssMiB} MiB`, verdict(memPass), 'n/a'],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const seconds = (Date.now() - started) / 1000;
  const others = othersCpus(cpu0, cpuMark());

  console.log(
    `\nhealth monitor: dist/multiwan monitor in the router namespace; checks: 2 ICMP targets per link, ` +
      `interval ${CHECK.intervalMs} ms, count ${CHECK.count}, down ${CHECK.down}, up ${CHECK.up} (the defaults).\n` +
      `Detection = from just before the fault's command starts until \`ip route show table 200\` in the router no longer names ppp0\n` +
      `(polled back to back, one \`ip -n\` process each, every ~${pollPeriod(silent, carrier)} ms; a figure is the poll that first saw it, an upper bound).\n`,
  );
  console.log(rows.map((r) => row(r, widths)).join('\n'));
  console.log(
    `\nwhere the time goes (medians): silent death: verdict's apply starts at ${ms(med(silent.map((r) => r.verdictMs)))}, kernel changed by ${ms(s.summary?.median)}, ` +
      `logged at ${ms(med(silent.map((r) => r.loggedMs)))};\n` +
      `  expected from detector.ts: the window the path dies in may still be OK, then ${CHECK.down} failed windows: ` +
      `${CHECK.down * CHECK.intervalMs}-${(CHECK.down + 1) * CHECK.intervalMs} ms after the fault, plus the apply.\n` +
      `  carrier loss: injecting command ${ms(med(carrier.map((r) => r.injectMs)))}, verdict's apply starts at ${ms(med(carrier.map((r) => r.verdictMs)))}, ` +
      `kernel changed by ${ms(c.summary?.median)}, logged at ${ms(med(carrier.map((r) => r.loggedMs)))}.\n` +
      `  recovery (fault removed -> ppp0 back in table 200, ${CHECK.up} good windows): silent ${ms(med(silent.map((r) => r.recoverMs)))}, carrier ${ms(med(carrier.map((r) => r.recoverMs)))}.`,
  );
  console.log(
    `loss: isp1 dropped ${loss.dropped} of ${loss.dropped + loss.passed} packets it forwarded (${(loss.observedLoss * 100).toFixed(1)}% each way; ` +
      `a probe fails with ~${((1 - (1 - loss.observedLoss) ** 2) * 100).toFixed(0)}%)` +
      (loss.monitorProbeLoss !== undefined ? `; the monitor's own probe loss (health-isp1.json, 50-window samples after the first 11 s, mean): ${(loss.monitorProbeLoss * 100).toFixed(1)}%` : '') +
      `.\n  detector.ts computes 6.2e-6 for a false transition in 120 s with these settings.` +
      (falseTransitions ? `\n  transitions: ${loss.transitions.join(' | ')}` : ''),
  );
  console.log(
    `memory: the monitor's node process (pid ${mem.monitor.pid}): VmRSS ${mib(mem.monitor.rssKiB)}, VmHWM ${mib(mem.monitor.hwmKiB)}` +
      (mem.monitor.pssKiB !== undefined ? `, PSS ${mib(mem.monitor.pssKiB)}` : '') +
      `; verdict on the peak (VmHWM). RSS over time: ${mem.trend.map((t) => `${t.atS.toFixed(0)} s ${mib(t.rssKiB)}`).join(', ')}.\n` +
      `  its children, separate processes: ${mem.children.filter((x) => x.name === 'ping').length} ping, RSS ${mib(mem.pingRssKiB)} in all` +
      (mem.pingPssKiB !== undefined ? ` (PSS ${mib(mem.pingPssKiB)})` : '') +
      `; ` +
      `other (${mem.children.filter((x) => x.name !== 'ping').map((x) => x.name).join(', ') || 'none'}) ${mib(mem.otherChildrenRssKiB)}. ` +
      `In service: ${mem.inService.join(', ')}` +
      (mem.transitions.length ? `; transitions: ${mem.transitions.join(' | ')}` : '') +
      `.\n  ppp2/ppp3 are extra veths from the router to isp1's namespace; the server routes their replies back, so their probes are answered.`,
  );
  console.log(
    `\nmwan3, from its source (${MWAN3_SOURCE}):\n` +
      `  defaults: reliability ${MWAN3_DEFAULTS.reliability}, count ${MWAN3_DEFAULTS.count}, timeout ${MWAN3_DEFAULTS.timeoutS} s, interval ${MWAN3_DEFAULTS.intervalS} s ` +
      `(failure_interval = interval), down ${MWAN3_DEFAULTS.down}, up ${MWAN3_DEFAULTS.up}.\n` +
      `  silent death, one track_ip: ${m3.arithmetic}; the issue's "about 70 s" agrees.\n` +
      `  with the shipped example's 4 track_ips (reliability 2), a failing round pings all 4 in turn: ${m3Example.worstS} s worst.\n` +
      `  carrier: mwan3track does not watch carrier; it acts on netifd's ifdown hotplug, so no figure follows from its defaults.\n` +
      `  20% loss each way, one track_ip: a round fails with ${(m3Loss.perRound * 100).toFixed(0)}%, offline after ${MWAN3_DEFAULTS.down} in a row: ` +
      `${(m3Loss.p * 100).toFixed(1)}% in ${Math.round(loss.seconds)} s (${m3Loss.rounds} rounds), ${(m3LossDay.p * 100).toFixed(1)}% over a day.`,
  );
  const allPass = silentPass && carrierPass && lossPass && memPass;
  console.log(
    `\n${allPass ? 'PASS' : 'MISS'}: ${[silentPass, carrierPass, lossPass, memPass].filter(Boolean).length} of 4 targets met; ` +
      `${seconds.toFixed(0)} s on ${os.cpus().length} CPUs, other processes used ${others.toFixed(2)} of them.`,
  );
  if (others > 0.25) console.log('note: other processes were busy during the run; detection times move with the load.');

  const detJson = (runs: DetectionRun[], d: { summary?: Summary; timedOut: number }, target: number, pass: boolean) => ({
    target: { medianMs: target },
    medianMs: d.summary ? round1(d.summary.median) : null,
    maxMs: d.summary ? round1(d.summary.max) : null,
    minMs: d.summary ? round1(d.summary.min) : null,
    timedOut: d.timedOut,
    verdict: verdict(pass),
    runs: runs.map((r) => ({
      detectMs: r.detectMs === undefined ? null : round1(r.detectMs),
      afterMs: r.lowerMs === undefined ? null : round1(r.lowerMs),
      injectMs: round1(r.injectMs),
      verdictMs: r.verdictMs === undefined ? null : round1(r.verdictMs),
      loggedMs: r.loggedMs === undefined ? null : round1(r.loggedMs),
      recoverMs: round1(r.recoverMs),
      polls: r.polls,
      reason: r.reason ?? null,
      logLine: r.logLine ?? null,
    })),
  });
  const json = {
    bench: 'monitor',
    date: new Date().toISOString(),
    config: { twoLinks: CONFIG_2, fourLinks: CONFIG_4, check: CHECK },
    harnessWarmupMs: round1(warmupMs),
    env: await benchEnv(others),
    silentDeath: detJson(silent, s, TARGET.silentMs, silentPass),
    carrierLoss: detJson(carrier, c, TARGET.carrierMs, carrierPass),
    lossy: {
      target: TARGET.falseTransitions,
      seconds: round1(loss.seconds),
      transitions: loss.transitions,
      samples: loss.samples,
      samplesWithoutPpp0: loss.samplesWithoutPpp0,
      dropped: loss.dropped,
      passed: loss.passed,
      observedLoss: Math.round(loss.observedLoss * 10_000) / 10_000,
      monitorProbeLoss: loss.monitorProbeLoss === undefined ? null : Math.round(loss.monitorProbeLoss * 1000) / 1000,
      verdict: verdict(lossPass),
    },
    memory: {
      targetMiB: TARGET.rssMiB,
      seconds: round1(mem.seconds),
      monitor: mem.monitor,
      trend: mem.trend,
      children: mem.children,
      pingRssKiB: mem.pingRssKiB,
      pingPssKiB: mem.pingPssKiB ?? null,
      otherChildrenRssKiB: mem.otherChildrenRssKiB,
      inService: mem.inService,
      transitions: mem.transitions,
      verdictOn: 'VmHWM',
      verdict: verdict(memPass),
    },
    mwan3: {
      source: MWAN3_SOURCE,
      defaults: MWAN3_DEFAULTS,
      silentDeath: { oneTarget: m3, shippedExampleFourTargets: m3Example },
      falseOffline20pct: { seconds: Math.round(loss.seconds), ...m3Loss, day: m3LossDay.p },
    },
    monitorLog: monitorLines,
    verdict: verdict(allPass),
    seconds: round1(seconds),
  };
  await writeResults(OUT, json);
  return 0;
}

function med(xs: Array<number | undefined>): number | undefined {
  const got = xs.filter((x): x is number => x !== undefined);
  return got.length ? summarize(got).median : undefined;
}

/** Mean time per poll while waiting for detection. */
function pollPeriod(...sets: DetectionRun[][]): string {
  const per = sets.flat().flatMap((r) => (r.detectMs !== undefined && r.polls > 1 ? [r.detectMs / r.polls] : []));
  return per.length ? (per.reduce((a, b) => a + b, 0) / per.length).toFixed(1) : '?';
}

runBench(main);
