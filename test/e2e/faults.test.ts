// Issue 7, "Prove it: faults". A PATH shim (fixtures/fault-shim.sh, copied as
// `ip`, `nft` and `conntrack`) numbers every call the product makes to the
// three tools and fails the Nth. For each event below, a clean run counts its
// calls; then for every N from 1 to that count the kernel is put back to the
// state before the event and the event runs failing at call N. It must exit 2
// with exactly one error line naming the failed command, and leave multiwan's
// kernel state (rules, routes, nft table) and its state files byte-identical
// to before the event — except when the failed call is a conntrack flush,
// which comes after the kernel changed: then the kernel holds the new state
// and the link's state is recorded. The product runs some calls side by side,
// so the Nth is not always the same one: a call no N hit is then failed by its
// command line, so that every call of the event fails once.
//
// Then each event is SIGKILLed (with everything it started) at random moments
// within its normal duration, and the same event run again must repair
// everything: the kernel equals the planner's plan for the links really up.
import { readdir, readFile, copyFile, chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalNft, createStormLab, needsRoot, pppAddress, STD_PATH, STORM_IFACES, type StormLab } from '../lab/storm-lab.js';
import {
  BASE_VARIANT,
  buildVerdictDriver,
  diffKernel,
  expectedKernel,
  expectedPlan,
  hookBundle,
  installBundles,
  leftovers,
  multiwan,
  readIds,
  renderConfig,
  type UpLink,
} from './fixtures/storm-expect.js';

const skip = needsRoot();
const KILLS_PER_EVENT = 6;
const CONFIG = renderConfig({ ...BASE_VARIANT, weights: [3, 1, 1, 1], policies: [true, false, true] });

let lab: StormLab | undefined;
let driver = '';
let shim = '';

// ───────────────────────────── the events ─────────────────────────────

type SetupStep = { op: 'up' | 'vanish' | 'readdress'; link: number } | { op: 'config'; toml: string };

interface FaultEvent {
  name: string;
  /** From nothing up and CONFIG: what comes before the event. */
  setup: SetupStep[];
  /** The event's program, as pppd or the monitor runs it. */
  argv: () => string[];
  /** The links really up once it ran, and the config then (default CONFIG). */
  after: UpLink[];
  config?: string;
}

/** Session 0 of a link, or session 1 after a `readdress` (see pppAddress). */
const address = (link: number, session = 0) => pppAddress(link, session);
/** The hook run directly with pppd's six arguments (Debian's /etc/ppp/ip-up would reset PATH). */
const pppHook = (action: 'up' | 'down', link: number, session = 0) => () => [
  hookBundle(lab!, action), STORM_IFACES[link]!, '/dev/ttyS0', '115200', address(link, session).local, address(link, session).peer, '',
];
const upLink = (index: number, healthy = true, session = 0): UpLink => ({ index, address: address(index, session), healthy });
const EDITED = renderConfig({ ...BASE_VARIANT, weights: [1, 5, 1, 1], tiers: [1, 1, 2, 1], policies: [true, true, true], balance: 'source' });

const EVENTS: FaultEvent[] = [
  { name: 'ip-up of ppp1 while isp1 is up', setup: [{ op: 'up', link: 0 }], argv: pppHook('up', 1), after: [upLink(0), upLink(1)] },
  {
    name: 'ip-down of ppp1 while isp1 is up (flushes isp2’s connections)',
    setup: [{ op: 'up', link: 0 }, { op: 'up', link: 1 }],
    argv: pppHook('down', 1),
    after: [upLink(0)],
  },
  {
    name: 'verdict: isp2 out of service (flushes its connections)',
    setup: [{ op: 'up', link: 0 }, { op: 'up', link: 1 }],
    argv: () => [process.execPath, driver, 'isp2', 'unhealthy'],
    after: [upLink(0), upLink(1, false)],
  },
  {
    name: 'pppd re-runs ip-up of ppp0 after ppp1 vanished (takes isp2 down, flushes)',
    setup: [{ op: 'up', link: 0 }, { op: 'up', link: 1 }, { op: 'vanish', link: 1 }],
    argv: pppHook('up', 0),
    after: [upLink(0)],
  },
  {
    name: 'multiwan apply after the config was edited (weights, tiers, policies, balance)',
    setup: [{ op: 'up', link: 0 }, { op: 'up', link: 1 }, { op: 'up', link: 2 }, { op: 'config', toml: EDITED }],
    argv: () => [process.execPath, path.join(lab!.dirs.root, 'multiwan'), 'apply'],
    after: [upLink(0), upLink(1), upLink(2)],
    config: EDITED,
  },
  {
    name: 'ip-up of ppp1 with a new address (a new session; flushes the old address’s connections)',
    setup: [{ op: 'up', link: 0 }, { op: 'up', link: 1 }, { op: 'readdress', link: 1 }],
    argv: pppHook('up', 1, 1),
    after: [upLink(0), upLink(1, true, 1)],
  },
];

// ───────────────────────────── helpers ─────────────────────────────

interface Snapshot {
  /** `ip rule` and `ip route show table all` of both families, as printed. */
  routing: string;
  /** `nft list table inet multiwan` ('' when absent), its counters' values blanked: they count live packets (IPv6 neighbour discovery on the links). */
  nft: string;
  /** link-*.json and ids.json of the state dir. */
  states: Record<string, string>;
}

async function snapshot(l: StormLab): Promise<Snapshot> {
  const ip = (args: string[]) => l.runInRouter(['ip', ...args]).then((r) => `# ip ${args.join(' ')}\n${r.stdout}`);
  const [routing, nft] = await Promise.all([
    Promise.all([ip(['-4', 'rule']), ip(['-6', 'rule']), ip(['-4', 'route', 'show', 'table', 'all']), ip(['-6', 'route', 'show', 'table', 'all'])]),
    l.runInRouter(['nft', 'list', 'table', 'inet', 'multiwan']),
  ]);
  const states: Record<string, string> = {};
  for (const name of (await readdir(l.dirs.run)).sort()) {
    if (/^link-.*\.json$|^ids\.json$/.test(name)) states[name] = await readFile(path.join(l.dirs.run, name), 'utf8');
  }
  return { routing: routing.join(''), nft: nft.exitCode === 0 ? canonicalNft(nft.stdout) : '', states };
}

/** Lines only in `a` (-) or only in `b` (+), at most 12: enough to see what differs. */
function lineDiff(a: string, b: string): string {
  const la = a.split('\n'), lb = b.split('\n');
  const out = [...la.filter((x) => !lb.includes(x)).map((x) => `-${x}`), ...lb.filter((x) => !la.includes(x)).map((x) => `+${x}`)];
  return out.length ? `\n      ${out.slice(0, 12).join('\n      ')}` : ' (same lines, another order)';
}

/** The state files without their clocks (`since`, `healthSince`), for comparing two runs of one event. */
const timeless = (states: Record<string, string>) =>
  Object.fromEntries(Object.entries(states).map(([name, text]) => [name, text.replace(/"(since|healthSince)": *"[^"]*"/g, '"$1": "-"')]));

/** Everything down and forgotten, the four links as created, then the event's setup. */
async function prepare(l: StormLab, ev: FaultEvent): Promise<void> {
  await l.writeConfig(CONFIG);
  const down = await multiwan(l, ['down']);
  if (down.exitCode !== 0) throw new Error(`multiwan down failed: ${down.stderr}`);
  await l.wipeState();
  const live = new Map((await l.links()).map((x) => [x.iface, x.addresses]));
  for (const [i, iface] of STORM_IFACES.entries()) {
    const held = live.get(iface);
    if (!held) await l.createLink(iface, address(i));
    else if (held[0] && held[0].local !== address(i).local) await l.changeAddress(iface, held[0], address(i));
  }
  const left = leftovers(await l.kernel(), l.pristineRules);
  if (left.length) throw new Error(`multiwan down left:\n${left.join('\n')}`);
  for (const s of ev.setup) {
    if (s.op === 'config') {
      await l.writeConfig(s.toml);
      continue;
    }
    if (s.op === 'vanish') {
      await l.vanish(STORM_IFACES[s.link]!);
      continue;
    }
    if (s.op === 'readdress') {
      await l.changeAddress(STORM_IFACES[s.link]!, address(s.link), address(s.link, 1));
      continue;
    }
    const r = await l.ppp('up', STORM_IFACES[s.link]!, address(s.link));
    if (r.hookExit !== 0 || r.stderr) throw new Error(`setup: ip-up ${STORM_IFACES[s.link]} failed: ${r.stdout}${r.stderr}`);
  }
}

/** The next run fails its call number `failAt`, or (a string) its first call with that command line. */
async function armShim(failAt: number | string): Promise<void> {
  await writeFile(path.join(shim, 'count'), '0');
  await writeFile(path.join(shim, 'fail-at'), typeof failAt === 'number' ? String(failAt) : '0');
  await writeFile(path.join(shim, 'fail-match'), typeof failAt === 'string' ? failAt : '');
  await writeFile(path.join(shim, 'calls'), '');
}

async function shimCalls(): Promise<{ count: number; calls: string[]; failed?: string }> {
  const calls = (await readFile(path.join(shim, 'calls'), 'utf8')).split('\n').filter(Boolean);
  const failed = calls.map((c) => /^\d+ FAIL (.*)$/.exec(c)?.[1]).find((c) => c !== undefined);
  return { count: Number(await readFile(path.join(shim, 'count'), 'utf8')), calls, ...(failed ? { failed } : {}) };
}

const shimEnv = () => ({ PATH: `${shim}:${STD_PATH}` });

/** The kernel against the planner's plan for `after` (loaded into a fresh oracle namespace). */
async function planDiff(l: StormLab, ev: FaultEvent): Promise<string[]> {
  const plan = expectedPlan(ev.config ?? CONFIG, ev.after, await readIds(l));
  const [actual, expected] = await Promise.all([l.kernel(), expectedKernel(l, plan)]);
  return diffKernel(actual, expected, l.pristineRules);
}

const figures = { events: 0, injected: 0, recovered: 0, byTool: {} as Record<string, number>, kills: 0, killedMidway: 0, repaired: 0 };

// ───────────────────────────── the suite ─────────────────────────────

describe.skipIf(!!skip)(`faults${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    lab = await createStormLab();
    await installBundles(lab);
    await lab.writeConfig(CONFIG);
    driver = await buildVerdictDriver(lab.dirs.root);
    shim = path.join(lab.dirs.root, 'shim');
    await mkdir(shim, { recursive: true });
    for (const tool of ['ip', 'nft', 'conntrack']) {
      await copyFile(path.resolve('test/e2e/fixtures/fault-shim.sh'), path.join(shim, tool));
      await chmod(path.join(shim, tool), 0o755);
    }
  });
  afterAll(async () => {
    console.log(
      `[faults] ${figures.events} events: ${figures.injected} faults injected (${Object.entries(figures.byTool).map(([t, n]) => `${t} ${n}`).join(', ')}), ` +
        `${figures.recovered} handled as required; ${figures.kills} SIGKILLs (${figures.killedMidway} mid-run), ${figures.repaired} repaired by the next event`,
    );
    await lab?.destroy();
    lab = undefined;
  });

  for (const ev of EVENTS) {
    it(`${ev.name}: each failing ip/nft/conntrack call exits 2 with one line and leaves the kernel as before`, async () => {
      const l = lab!;
      figures.events++;
      // The clean run: how many calls, and the new state (which must be the plan).
      await prepare(l, ev);
      await armShim(0);
      const clean = await l.runInRouter(ev.argv(), { env: shimEnv() });
      expect(clean.exitCode, clean.stderr).toBe(0);
      expect(clean.stderr).toBe('');
      const { count, calls } = await shimCalls();
      expect(await planDiff(l, ev)).toEqual([]);
      const next = await snapshot(l);
      expect(count, calls.join('\n')).toBeGreaterThan(0);

      // The product runs its reads (and its two applies) side by side, so which
      // call is the Nth varies from run to run: a call no N happened to hit is
      // then failed by its command line.
      const labels = calls.map((c) => c.replace(/^\d+ /, ''));
      const covered = new Set<string>();
      const problems: string[] = [];
      for (const target of [...labels.keys()].map((i): number | string => i + 1).concat(labels)) {
        if (typeof target === 'string' && covered.has(target)) continue;
        await prepare(l, ev);
        const before = await snapshot(l);
        await armShim(target);
        const r = await l.runInRouter(ev.argv(), { env: shimEnv() });
        const after = await snapshot(l);
        const shimmed = await shimCalls();
        const failed = shimmed.failed ?? '(no call failed)';
        const tool = failed.split(' ')[0] ?? '';
        covered.add(failed);
        figures.injected++;
        figures.byTool[tool] = (figures.byTool[tool] ?? 0) + 1;
        const lines = r.stderr.trim().split('\n').filter(Boolean);
        const said: string[] = [];
        if (r.exitCode !== 2) said.push(`exit ${r.exitCode}, not 2`);
        if (lines.length !== 1) said.push(`${lines.length} lines on stderr, not 1`);
        else if (!lines[0]!.includes(failed)) said.push(`the error line does not name "${failed}"`);
        if (tool === 'conntrack') {
          // The kernel had changed before the flush: it keeps the new state, and the state is recorded.
          if (after.routing !== next.routing) said.push(`rules/routes are not the new state:${lineDiff(next.routing, after.routing)}`);
          if (after.nft !== next.nft) said.push(`the nft table is not the new state:${lineDiff(next.nft, after.nft)}`);
          if (JSON.stringify(timeless(after.states)) !== JSON.stringify(timeless(next.states))) said.push(`the new state is not recorded (${Object.values(timeless(after.states)).join(' ').replace(/\s+/g, ' ')})`);
        } else {
          if (after.routing !== before.routing) said.push(`rules/routes differ from before the event:${lineDiff(before.routing, after.routing)}`);
          if (after.nft !== before.nft) said.push(`the nft table differs from before the event:${lineDiff(before.nft, after.nft)}`);
          if (JSON.stringify(after.states) !== JSON.stringify(before.states)) said.push('the state files changed');
        }
        if (said.length) {
          problems.push(`${typeof target === 'number' ? `call ${target}` : 'failed by its command line'} (${failed}): ${said.join('; ')}\n    stderr: ${r.stderr.trim() || '(empty)'}\n    stdout: ${r.stdout.trim() || '(empty)'}`);
        } else {
          figures.recovered++;
        }
      }
      expect(problems, `${ev.name}: ${count} calls in the clean run:\n${calls.join('\n')}`).toEqual([]);
      expect(labels.filter((label) => !covered.has(label)), 'calls never failed').toEqual([]);
    });
  }

  for (const ev of EVENTS) {
    it(`${ev.name}: SIGKILLed at random moments, the same event run again repairs everything`, async () => {
      const l = lab!;
      await prepare(l, ev);
      const started = performance.now();
      const clean = await l.runInRouter(ev.argv());
      const normalMs = performance.now() - started;
      expect(clean.exitCode, clean.stderr).toBe(0);
      for (let k = 0; k < KILLS_PER_EVENT; k++) {
        await prepare(l, ev);
        const delay = Math.round(Math.random() * normalMs);
        // run() kills the whole process group (the hook and the ip/nft it started) with SIGKILL at the timeout.
        const killed = await l.runInRouter(ev.argv(), { timeoutMs: Math.max(1, delay) });
        figures.kills++;
        if (killed.exitCode === 124) figures.killedMidway++;
        const repair = await l.runInRouter(ev.argv());
        expect(repair.exitCode, `after a SIGKILL at ${delay} ms: ${repair.stderr}`).toBe(0);
        expect(repair.stderr).toBe('');
        expect(await planDiff(l, ev), `after a SIGKILL at ${delay} of ${Math.round(normalMs)} ms and the repairing run`).toEqual([]);
        figures.repaired++;
      }
    });
  }
});

