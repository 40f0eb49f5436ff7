// End to end: the link prober in the lab's router namespace, probing the
// server's two addresses through isp1 (ppp0) with every probe bound to ppp0's
// address. The link's routing is set up by hand, as the product does it:
// `default dev ppp0 table 201` and `from 100.64.1.2 lookup 201` (there is no
// default route in main, so an unbound probe would find no route at all).
// isp1 then silently drops everything it forwards, and stops doing so.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newDetector, observeWindow, type DetectorSettings } from '../../src/monitor/detector.js';
import type { ProbeSettings, WindowResult } from '../../src/monitor/link-prober.js';
import { createLab, needsRoot, PORTS, type Lab } from '../lab/lab.js';

const skip = needsRoot();
const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'prober-child.ts');
const STD_PATH = '/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin';
const INTERVAL = 200;
const COUNT = 3;
const DETECTOR: DetectorSettings = { down: 3, up: 3 };
/**
 * Allowed on top of the model's bounds: scheduling and pipe latency. Times
 * are measured from *before* the nft command starts (so they include its
 * own run time, ~10-30 ms), an upper bound on the real delay.
 */
const SLACK_MS = 100;
const TARGETS = ['198.51.100.10', '203.0.113.2']; // the server's addresses, reached through isp1

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Child {
  pid: number;
  lines: unknown[];
  stderr: () => string;
  windows(): WindowResult[];
  spawned(): Array<{ spawned: string[]; pid: number }>;
  logs(): string[];
  /** Resolves once pred holds for the lines so far; throws after timeoutMs. */
  waitFor(what: string, pred: () => boolean, timeoutMs: number): Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcess>();

/** The prober in the router namespace, via the fixture; its JSON lines collected. */
function startProber(lab: Lab, settings: ProbeSettings): Child {
  const proc = spawn(
    'ip',
    ['netns', 'exec', lab.ns.rtr, process.execPath, '--import', 'tsx', FIXTURE, JSON.stringify(settings)],
    { shell: false, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: STD_PATH } },
  );
  children.add(proc);
  const lines: unknown[] = [];
  let stderr = '';
  const wakers = new Set<() => void>();
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    lines.push(JSON.parse(line));
    wakers.forEach((wake) => wake());
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4096)));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => {
      children.delete(proc);
      resolve({ code, signal });
      wakers.forEach((wake) => wake());
    }),
  );
  const pick = <T>(key: string) => lines.filter((l): l is Record<string, T> => typeof l === 'object' && l !== null && key in l);
  return {
    pid: proc.pid!,
    lines,
    stderr: () => stderr,
    windows: () => pick<WindowResult>('window').map((l) => l.window!),
    spawned: () => pick<unknown>('spawned') as unknown as Array<{ spawned: string[]; pid: number }>,
    logs: () => pick<string>('log').map((l) => l.log!),
    waitFor: (what, pred, timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        const done = (error?: Error) => {
          clearTimeout(timer);
          wakers.delete(check);
          if (error) reject(error);
          else resolve();
        };
        const check = () => {
          if (pred()) done();
          else if (proc.exitCode !== null || proc.signalCode !== null) {
            done(new Error(`prober exited while waiting for ${what}; stderr: ${stderr}`));
          }
        };
        const timer = setTimeout(
          () => done(new Error(`no ${what} within ${timeoutMs} ms; last lines: ${JSON.stringify(lines.slice(-8))}; stderr: ${stderr}`)),
          timeoutMs,
        );
        wakers.add(check);
        check();
      }),
    exit,
  };
}

/** pids of `ping` processes in the lab's router namespace (only the prober's pings live there). */
async function pingsInRouter(lab: Lab): Promise<number[]> {
  const { stdout } = await lab.exec(lab.ns.rtr, ['ip', 'netns', 'pids', lab.ns.rtr], { reject: false }).catch(() => ({ stdout: '' }));
  const pids = stdout.split(/\s+/).filter(Boolean).map(Number);
  const pings: number[] = [];
  for (const pid of pids) {
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === 'ping') pings.push(pid);
  }
  return pings;
}

async function pollUntil(what: string, pred: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await pred())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
  return Date.now() - started;
}

/** isp1 drops (true) or forwards again (false) everything it forwards; returns when the change is in place. */
async function isp1Drops(lab: Lab, drop: boolean): Promise<void> {
  const argv = drop
    ? ['nft', '-f', '-']
    : ['nft', 'delete', 'table', 'inet', 'labdrop'];
  const input = 'add table inet labdrop\nadd chain inet labdrop f { type filter hook forward priority -10; policy drop; }\n';
  await lab.exec(lab.ns.isp1, argv, drop ? { input } : {});
}

/** The windows through the detector (healthy at the start); the `at` of each flip. */
function flips(windows: WindowResult[]): Array<{ healthy: boolean; at: number }> {
  let d = newDetector(true);
  const out: Array<{ healthy: boolean; at: number }> = [];
  for (const w of windows) {
    const next = observeWindow(d, DETECTOR, w.ok);
    if (next.healthy !== d.healthy) out.push({ healthy: next.healthy, at: w.at });
    d = next;
  }
  return out;
}

/**
 * OK now; isp1 drops: the first failed window ends within 2 intervals of the
 * drop (the window the drop lands in may still be OK; the next one fails),
 * every later one fails,
 * the detector flips within (down + 1) intervals; the drop goes: OK again
 * and the detector flips back within (up + 1) intervals.
 */
async function outageAndRecovery(lab: Lab, child: Child): Promise<Record<string, number>> {
  await child.waitFor('6 windows', () => child.windows().length >= 6, 5000);
  const steady = child.windows().slice(1);
  expect(steady.every((w) => w.ok), JSON.stringify(steady)).toBe(true);
  expect(steady.every((w) => w.rttMs !== undefined && w.rttMs < 100)).toBe(true);

  await lateInWindow(child);
  const dropAt = Date.now();
  await isp1Drops(lab, true);
  const dropped = Date.now();
  await child.waitFor('windows after the drop', () => child.windows().some((w) => w.at > dropped + 6 * INTERVAL), 5000);
  const afterDrop = child.windows().filter((w) => w.at > dropAt);
  const firstFail = afterDrop.findIndex((w) => !w.ok);
  expect(firstFail, JSON.stringify(afterDrop)).toBeGreaterThanOrEqual(0);
  expect(afterDrop[firstFail]!.at - dropAt).toBeLessThanOrEqual(2 * INTERVAL + SLACK_MS);
  expect(afterDrop.slice(firstFail).every((w) => !w.ok && w.replies === 0), JSON.stringify(afterDrop)).toBe(true);
  const down = flips(child.windows()).find((f) => !f.healthy && f.at > dropAt);
  expect(down, JSON.stringify(child.windows())).toBeDefined();
  expect(down!.at - dropAt).toBeLessThanOrEqual((DETECTOR.down + 1) * INTERVAL + SLACK_MS);

  await lateInWindow(child);
  const undropAt = Date.now();
  await isp1Drops(lab, false);
  const undropped = Date.now();
  await child.waitFor('windows after the recovery', () => child.windows().some((w) => w.at > undropped + 6 * INTERVAL), 5000);
  const afterUndrop = child.windows().filter((w) => w.at > undropAt);
  const firstOk = afterUndrop.findIndex((w) => w.ok);
  expect(firstOk, JSON.stringify(afterUndrop)).toBeGreaterThanOrEqual(0);
  expect(afterUndrop[firstOk]!.at - undropAt).toBeLessThanOrEqual(2 * INTERVAL + SLACK_MS);
  expect(afterUndrop.slice(firstOk + 1).every((w) => w.ok), JSON.stringify(afterUndrop)).toBe(true);
  const up = flips(child.windows()).find((f) => f.healthy && f.at > undropAt);
  expect(up, JSON.stringify(child.windows())).toBeDefined();
  expect(up!.at - undropAt).toBeLessThanOrEqual((DETECTOR.up + 1) * INTERVAL + SLACK_MS);
  return {
    nftMs: dropped - dropAt,
    firstFailedWindowEndMs: afterDrop[firstFail]!.at - dropAt,
    takenOutMs: down!.at - dropAt,
    firstOkWindowEndMs: afterUndrop[firstOk]!.at - undropAt,
    putBackMs: up!.at - undropAt,
  };
}

/**
 * Sleeps until 3/4 of the current window has passed, so that the change
 * lands late in a window (the worst case: that window still counts as it
 * was). Reacting to a window line would put it at the very start of one.
 */
async function lateInWindow(child: Child): Promise<void> {
  const last = child.windows().at(-1)!;
  await sleep(Math.max(0, last.at + 0.75 * INTERVAL - Date.now()));
}

/** SIGTERM: stop() resolves, and the child exits on its own (no process, timer or socket left). */
async function stopAndCheck(lab: Lab, child: Child): Promise<void> {
  process.kill(child.pid, 'SIGTERM');
  await child.waitFor('stopped', () => child.lines.some((l) => typeof l === 'object' && l !== null && 'stopped' in l), 5000);
  const exited = await Promise.race([child.exit, sleep(3000).then(() => undefined)]);
  expect(exited, 'the prober child did not exit by itself after stop(): something outlived it').toEqual({ code: 0, signal: null });
  expect(await pingsInRouter(lab)).toEqual([]);
}

describe.skipIf(!!skip)(`link prober in the namespace lab${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let lab: Lab;
  const settings = (method: 'icmp' | 'tcp'): ProbeSettings => ({
    source: '100.64.1.2',
    targets: TARGETS,
    method,
    port: PORTS.whoami,
    intervalMs: INTERVAL,
    count: COUNT,
  });

  beforeAll(async () => {
    lab = await createLab({ links: 1 });
    await lab.exec(lab.ns.rtr, ['ip', 'route', 'add', 'default', 'dev', 'ppp0', 'table', '201']);
    await lab.exec(lab.ns.rtr, ['ip', 'rule', 'add', 'from', lab.addr.ppp0Local, 'lookup', '201']);
  });

  afterAll(async () => {
    for (const child of children) if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    await lab?.destroy();
  });

  it('icmp: one ping per target, bound to ppp0’s address; a silent outage at isp1 is detected and so is its end', async () => {
    const child = startProber(lab, settings('icmp'));
    await child.waitFor('2 pings', () => child.spawned().length >= 2, 5000);
    expect(child.spawned().map((s) => s.spawned)).toEqual(
      TARGETS.map((t) => ['ping', '-n', '-O', '-l', '2', '-I', '100.64.1.2', '-i', '0.066', t]),
    );
    const timings = await outageAndRecovery(lab, child);
    console.log(`[icmp] ${JSON.stringify(timings)}`);
    // Still one ping per target, never one per probe.
    expect(child.spawned()).toHaveLength(2);
    expect((await pingsInRouter(lab)).sort()).toEqual(child.spawned().map((s) => s.pid).sort());
    await stopAndCheck(lab, child);
  });

  it('icmp: a ping killed from outside is restarted after 100 ms, and the other target keeps the windows OK', async () => {
    const child = startProber(lab, settings('icmp'));
    await child.waitFor('3 windows', () => child.windows().length >= 3, 5000);
    const victim = child.spawned()[0]!;
    const killedAt = child.windows().length;
    process.kill(victim.pid, 'SIGKILL');
    await child.waitFor('a restarted ping', () => child.spawned().length >= 3, 2000);
    expect(child.spawned()[2]!.spawned).toEqual(victim.spawned);
    expect(child.logs()).toContainEqual(`ping ${TARGETS[0]} from 100.64.1.2 killed by SIGKILL; restarting in 100 ms`);
    await child.waitFor('3 more windows', () => child.windows().length >= killedAt + 3, 2000);
    expect(child.windows().slice(1).every((w) => w.ok), JSON.stringify(child.windows())).toBe(true);
    await stopAndCheck(lab, child);
  });

  it('icmp: when the prober dies without stop(), its pings die at their next line (SIGPIPE)', async () => {
    const child = startProber(lab, settings('icmp'));
    await child.waitFor('2 windows', () => child.windows().length >= 2, 5000);
    expect(await pingsInRouter(lab)).toHaveLength(2);
    process.kill(child.pid, 'SIGKILL');
    await child.exit;
    const ms = await pollUntil('pings gone', async () => (await pingsInRouter(lab)).length === 0, 2000);
    console.log(`[icmp] pings gone ${ms} ms after the prober was killed`);
  });

  it('tcp: connects to port 7000 from ppp0’s address; the same outage and recovery', async () => {
    const child = startProber(lab, settings('tcp'));
    const timings = await outageAndRecovery(lab, child);
    console.log(`[tcp] ${JSON.stringify(timings)}`);
    expect(child.spawned()).toEqual([]); // no process at all
    await stopAndCheck(lab, child);
  });
});
