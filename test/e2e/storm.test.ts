// Issue 7, "Prove it: event storms". Random sequences over four PPP links of
// ip-up, ip-down, links vanishing (pppd killed: the kernel deletes the unit,
// no ip-down runs), links re-created, address changes (a new session on the
// same unit), health verdicts and config reloads, some fired two at once as
// pppd and the monitor do, applied for real in a router namespace with the
// built hooks (through Debian's /etc/ppp/ip-up), the monitor's verdict path
// (setLinkHealth) and `multiwan apply`.
//
// The property: after every step that leaves the kernel settled, multiwan's
// rules and routes of both families and its nft table equal what the
// product's pure planner gives for the links that are really up, loaded into
// a fresh oracle namespace; and once everything is down nothing of multiwan is
// left. Which links are really up comes from the test's own model (interface
// present, the address of its session, whether ip-up ran since, the last
// verdict), never from the product's state files; only the stable ids are
// read from ids.json.
//
// Budget: at least 100 sequences (MULTIWAN_STORM_RUNS), then as many as fit
// MULTIWAN_STORM_SECONDS (default 240) of wall time; one lab serves them all.
// A failure prints the fast-check seed and path; MULTIWAN_STORM_SEED and
// MULTIWAN_STORM_PATH replay it (MULTIWAN_STORM_SHRINK=1 also shrinks it).
import fc from 'fast-check';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStormLab, needsRoot, pppAddress, type PppAddress, type StormLab } from '../lab/storm-lab.js';
import {
  BASE_VARIANT,
  POLICY_COUNT,
  STORM_LINKS,
  buildVerdictDriver,
  diffKernel,
  expectedKernel,
  expectedPlan,
  installBundles,
  leftovers,
  multiwan,
  readIds,
  renderConfig,
  verdict,
  type ConfigVariant,
  type UpLink,
} from './fixtures/storm-expect.js';
import { dist } from './helpers.js';

const skip = needsRoot();
const BUDGET_MS = Number(process.env.MULTIWAN_STORM_SECONDS ?? 240) * 1000;
/** CI runs at least 100; MULTIWAN_STORM_RUNS changes that (a quick local try). */
const MIN_SEQUENCES = Number(process.env.MULTIWAN_STORM_RUNS ?? 100);
const REPLAY = process.env.MULTIWAN_STORM_SEED;

// ───────────────────────────── the steps ─────────────────────────────

type LinkOp = { op: 'up' | 'down'; link: number } | { op: 'verdict'; link: number; healthy: boolean };
type HookOp = LinkOp | { op: 'reload'; variant: ConfigVariant };
type KernelOp = { op: 'vanish' | 'recreate' | 'readdress'; link: number };
type Step = HookOp | KernelOp | { op: 'together'; a: HookOp; b: HookOp };
interface Sequence {
  /** Links whose ip-up runs at the start, all at once (pppd at boot). */
  boot: number[];
  steps: Step[];
}

const link = fc.integer({ min: 0, max: STORM_LINKS.length - 1 });
const variantArb: fc.Arbitrary<ConfigVariant> = fc.record({
  weights: fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 4, maxLength: 4 }),
  tiers: fc.array(fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constant(2) }), { minLength: 4, maxLength: 4 }),
  removed: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: link }),
  policies: fc.array(fc.boolean(), { minLength: POLICY_COUNT, maxLength: POLICY_COUNT }),
  balance: fc.constantFrom('connection' as const, 'source' as const),
});
const hookOp: fc.Arbitrary<HookOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('up' as const), link }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('down' as const), link }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('verdict' as const), link, healthy: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('reload' as const), variant: variantArb }) },
);
const kernelOp: fc.Arbitrary<KernelOp> = fc.record({ op: fc.constantFrom('vanish' as const, 'recreate' as const, 'readdress' as const), link });
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: hookOp },
  { weight: 3, arbitrary: kernelOp },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('together' as const), a: hookOp, b: hookOp }) },
);
const sequenceArb: fc.Arbitrary<Sequence> = fc.record({
  boot: fc.subarray([0, 1, 2, 3]),
  steps: fc.array(step, { minLength: 3, maxLength: 12 }),
});

// ───────────────────────────── the model ─────────────────────────────

interface LinkModel {
  present: boolean;
  /** The session whose address the interface holds (see pppAddress). */
  session: number;
  /** The last session number used: every new one gets a fresh address. */
  sessions: number;
  /** ip-up ran for this session (with the link in the config) and no ip-down since. */
  up: boolean;
  /** The last verdict while up; a new session starts healthy. */
  healthy: boolean;
}

interface Model {
  links: LinkModel[];
  variant: ConfigVariant;
  toml: string;
  /**
   * The kernel was changed under multiwan (a link vanished, an address went)
   * and no event has run the pipeline since: what multiwan owns cannot match
   * the plan until one does (the kernel already dropped the link's routes).
   */
  unsettled: boolean;
}

const freshModel = (): Model => ({
  links: STORM_LINKS.map(() => ({ present: true, session: 0, sessions: 0, up: false, healthy: true })),
  variant: BASE_VARIANT,
  toml: renderConfig(BASE_VARIANT),
  unsettled: false,
});

const inConfig = (m: Model, i: number): boolean => m.variant.removed !== i;
const addressOf = (m: Model, i: number): PppAddress => pppAddress(i, m.links[i]!.session);
const reallyUp = (m: Model): UpLink[] =>
  m.links.flatMap((l, index) => (l.present && l.up ? [{ index, address: pppAddress(index, l.session), healthy: l.healthy }] : []));

/**
 * What a hook event does to the model once it ran. An event for a link the
 * config does not name is ignored by the product (no refresh either); any
 * other runs the whole pipeline, which settles the kernel.
 */
function modelHook(m: Model, op: HookOp): void {
  if (op.op === 'reload') {
    m.variant = op.variant;
    m.toml = renderConfig(op.variant);
    m.unsettled = false;
    return;
  }
  if (!inConfig(m, op.link)) return;
  m.unsettled = false;
  const l = m.links[op.link]!;
  if (op.op === 'up' && l.present) {
    if (!l.up) l.healthy = true; // a new session starts in service; pppd's re-run of ip-up keeps the verdict
    l.up = true;
  } else if (op.op === 'down') {
    l.up = false;
    l.healthy = true;
  } else if (op.op === 'verdict' && l.up) {
    l.healthy = op.healthy;
  }
}

/**
 * Two events whose outcome depends on which takes the lock first are run one
 * after the other: the same link, two reloads, or a reload that adds or
 * removes the link of the other event.
 */
function conflict(m: Model, a: HookOp, b: HookOp): boolean {
  if (a.op === 'reload' && b.op === 'reload') return true;
  if (a.op === 'reload' || b.op === 'reload') {
    const [reload, other] = (a.op === 'reload' ? [a, b] : [b, a]) as [Extract<HookOp, { op: 'reload' }>, LinkOp];
    return inConfig(m, other.link) !== (reload.variant.removed !== other.link);
  }
  return a.link === b.link;
}

const describeOp = (op: Step): string => {
  switch (op.op) {
    case 'reload': {
      const v = op.variant;
      const policies = v.policies.flatMap((on, i) => (on ? [i] : [])).join(',') || '-';
      return `reload(weights ${v.weights.join('/')}, tiers ${v.tiers.join('/')}, removed ${v.removed === null ? '-' : STORM_LINKS[v.removed]!.name}, policies ${policies}, ${v.balance})`;
    }
    case 'verdict':
      return `verdict ${STORM_LINKS[op.link]!.name} ${op.healthy ? 'healthy' : 'unhealthy'}`;
    case 'together':
      return `together[${describeOp(op.a)} ‖ ${describeOp(op.b)}]`;
    default:
      return `${op.op} ${STORM_LINKS[op.link]!.iface}`;
  }
};

// ───────────────────────────── the run ─────────────────────────────

let lab: StormLab | undefined;
let driver = '';
const stats = { sequences: 0, steps: 0, together: 0, checks: 0, vanished: 0, readdressed: 0, reloads: 0, verdicts: 0, checkMs: 0, resetMs: 0 };

/** A step's process must succeed: exit 0 and nothing on stderr. */
function expectOk(what: string, r: { exitCode: number; stderr: string; stdout: string; hookExit?: number }, log: string[]): void {
  const code = r.hookExit ?? r.exitCode;
  log.push(`  ${what}: exit ${code}${r.stdout.trim() ? `; ${r.stdout.trim().replace(/\n/g, ' | ')}` : ''}`);
  if (code !== 0 || r.exitCode !== 0 || r.stderr.trim() !== '') {
    throw new Error(`${what} failed (exit ${code}): ${r.stderr.trim() || r.stdout.trim()}\n${log.join('\n')}`);
  }
}

/** Like Promise.all, but a failure is reported only once every process has ended (none runs on under the next step). */
async function allDone(runs: Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(runs)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

async function runHook(l: StormLab, m: Model, op: HookOp, log: string[]): Promise<void> {
  const what = describeOp(op);
  if (op.op === 'reload') {
    await l.writeConfig(renderConfig(op.variant));
    expectOk(what, await multiwan(l, ['apply']), log);
    stats.reloads++;
  } else if (op.op === 'verdict') {
    expectOk(what, await verdict(l, driver, STORM_LINKS[op.link]!.name, op.healthy), log);
    stats.verdicts++;
  } else {
    expectOk(what, await l.ppp(op.op, STORM_LINKS[op.link]!.iface, addressOf(m, op.link)), log);
  }
}

async function runStep(l: StormLab, m: Model, s: Step, log: string[]): Promise<void> {
  stats.steps++;
  if (s.op === 'together') {
    if (conflict(m, s.a, s.b)) {
      log.push(`${describeOp(s)}: one after the other (their order matters)`);
      await runStep(l, m, s.a, log);
      await runStep(l, m, s.b, log);
      return;
    }
    log.push(describeOp(s));
    stats.together++;
    await allDone([runHook(l, m, s.a, log), runHook(l, m, s.b, log)]);
    modelHook(m, s.a);
    modelHook(m, s.b);
    return;
  }
  if (s.op === 'up' || s.op === 'down' || s.op === 'verdict' || s.op === 'reload') {
    log.push(describeOp(s));
    await runHook(l, m, s, log);
    modelHook(m, s);
    return;
  }
  const lm = m.links[s.link]!;
  const iface = STORM_LINKS[s.link]!.iface;
  if (s.op === 'vanish' && !lm.present) {
    log.push(`vanish ${iface}: not present, skipped`);
    return;
  }
  if (s.op === 'vanish' || (s.op === 'recreate' && lm.present)) {
    // pppd killed: the kernel deletes the unit, no ip-down runs.
    await l.vanish(iface);
    Object.assign(lm, { present: false, up: false, healthy: true });
    m.unsettled = true;
    stats.vanished++;
    if (s.op === 'vanish') {
      log.push(`vanish ${iface}`);
      return;
    }
  }
  if (s.op === 'recreate') {
    // A new pppd's unit, with an address the link never had in this sequence
    // (so a record of an earlier session can never pass for this one).
    lm.session = ++lm.sessions;
    await l.createLink(iface, addressOf(m, s.link));
    lm.present = true;
    log.push(`recreate ${iface} with ${addressOf(m, s.link).local} (no ip-up yet)`);
    return;
  }
  // readdress: a new session on the same unit, then its ip-up.
  if (!lm.present) {
    log.push(`readdress ${iface}: not present, skipped`);
    return;
  }
  const from = addressOf(m, s.link);
  lm.session = ++lm.sessions;
  await l.changeAddress(iface, from, addressOf(m, s.link));
  Object.assign(lm, { up: false, healthy: true });
  m.unsettled = true;
  stats.readdressed++;
  log.push(`readdress ${iface} ${from.local} -> ${addressOf(m, s.link).local}, then ip-up`);
  await runHook(l, m, { op: 'up', link: s.link }, log);
  modelHook(m, { op: 'up', link: s.link });
}

/** The kernel against the plan for the links the model says are up. */
async function check(l: StormLab, m: Model, log: string[], when: string): Promise<void> {
  stats.checks++;
  const started = performance.now();
  try {
    await compareWithPlan(l, m, log, when);
  } finally {
    stats.checkMs += performance.now() - started;
  }
}

async function compareWithPlan(l: StormLab, m: Model, log: string[], when: string): Promise<void> {
  const live = await l.links();
  const modelLinks = m.links.flatMap((lm, i) => (lm.present ? [`${STORM_LINKS[i]!.iface} ${addressOf(m, i).local}`] : []));
  const liveLinks = live.map((x) => `${x.iface} ${x.addresses.map((a) => a.local).join(',')}`);
  if (JSON.stringify(liveLinks) !== JSON.stringify(modelLinks)) {
    throw new Error(`test model out of step with the router's links: ${liveLinks.join('; ')} vs ${modelLinks.join('; ')}`);
  }
  const up = reallyUp(m);
  const plan = expectedPlan(m.toml, up, await readIds(l));
  const [actual, expected] = await Promise.all([l.kernel(), expectedKernel(l, plan, live)]);
  const diff = diffKernel(actual, expected, l.pristineRules);
  if (diff.length) {
    const upText = up.map((u) => `${STORM_LINKS[u.index]!.name}${u.healthy ? '' : ' (out of service)'}`).join(', ') || 'none';
    throw new Error(`after ${when}: the kernel is not the plan for the links really up (${upText}):\n${diff.join('\n')}\nsteps:\n${log.join('\n')}`);
  }
}

/**
 * Everything down: the base config (every link in it again), then ip-down of
 * each link that is up, all at once; nothing of multiwan may be left. Then the
 * links as at the start and an empty state dir, so that every sequence starts
 * alike (and a seed replays). A link the model has down cannot be recorded
 * up: the sequence ended settled, and a record kept while the link was out of
 * the config is only ever up with the link up in the model.
 */
async function resetToPristine(l: StormLab, m: Model, log: string[]): Promise<void> {
  const started = performance.now();
  try {
    await bringAllDown(l, m, log);
  } finally {
    stats.resetMs += performance.now() - started;
  }
}

async function bringAllDown(l: StormLab, m: Model, log: string[]): Promise<void> {
  await l.writeConfig(renderConfig(BASE_VARIANT));
  m.variant = BASE_VARIANT;
  m.toml = renderConfig(BASE_VARIANT);
  const up = STORM_LINKS.filter((x) => m.links[x.index]!.up);
  log.push(`all down: base config, ip-down of ${up.map((x) => x.iface).join(', ') || 'no link'} at once`);
  const downs = await Promise.all(up.map((x) => l.ppp('down', x.iface, addressOf(m, x.index))));
  downs.forEach((r, i) => expectOk(`ip-down ${up[i]!.iface}`, r, log));
  const left = leftovers(await l.kernel(), l.pristineRules);
  if (left.length) throw new Error(`all links down, yet multiwan left:\n${left.join('\n')}\nsteps:\n${log.join('\n')}`);
  await l.wipeState();
  for (const [i, lm] of m.links.entries()) {
    const iface = STORM_LINKS[i]!.iface;
    if (!lm.present) await l.createLink(iface, pppAddress(i, 0));
    else if (lm.session !== 0) await l.changeAddress(iface, addressOf(m, i), pppAddress(i, 0));
  }
}

async function runSequence(seq: Sequence): Promise<void> {
  const l = lab!;
  const m = freshModel();
  const log: string[] = [];
  let failed = true;
  try {
    await l.writeConfig(m.toml);
    if (seq.boot.length) {
      log.push(`boot: ip-up ${seq.boot.map((i) => STORM_LINKS[i]!.iface).join(', ')} at once`);
      const ups = seq.boot.map((i) => ({ op: 'up' as const, link: i }));
      await allDone(ups.map((op) => runHook(l, m, op, log)));
      ups.forEach((op) => modelHook(m, op));
      await check(l, m, log, 'boot');
    }
    for (const [n, s] of seq.steps.entries()) {
      await runStep(l, m, s, log);
      if (!m.unsettled) await check(l, m, log, `step ${n + 1} (${describeOp(s)})`);
    }
    if (m.unsettled) {
      // The last steps changed the kernel under multiwan: the next event (here
      // `multiwan apply`; on a router the monitor or any hook) settles it.
      log.push('settle: multiwan apply');
      expectOk('multiwan apply', await multiwan(l, ['apply']), log);
      m.unsettled = false;
      await check(l, m, log, 'the settling apply');
    }
    failed = false;
  } finally {
    // After a failure the reset is best effort: the first error is the one to report.
    if (failed) await resetToPristine(l, m, log).catch(() => undefined);
  }
  await resetToPristine(l, m, log);
  stats.sequences++;
}

/**
 * One fast-check run over sequences. Past `deadline`, once MIN_SEQUENCES ran,
 * the remaining runs pass without doing anything: generating a sequence costs
 * ~20 µs, and unlike fast-check's own time limit this never abandons a
 * sequence halfway (its processes would go on under the next one).
 */
async function storm(params: fc.Parameters<[Sequence]>, deadline: number): Promise<string | undefined> {
  const property = fc.asyncProperty(sequenceArb, async (seq) => {
    if (stats.sequences >= MIN_SEQUENCES && Date.now() > deadline) return;
    await runSequence(seq);
  });
  const details = await fc.check(property, params);
  if (!details.failed) return undefined;
  const replay = `MULTIWAN_STORM_SEED=${details.seed}${details.counterexamplePath ? ` MULTIWAN_STORM_PATH=${details.counterexamplePath}` : ''}`;
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  const sequence = details.counterexample ? JSON.stringify(details.counterexample[0]) : '(none)';
  return `storm sequence failed; replay: ${replay} npx vitest run test/e2e/storm.test.ts\nsequence: ${sequence}\n${error}`;
}

describe.skipIf(!!skip)(`event storms${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    if (!existsSync(dist('ip-up'))) throw new Error('dist/ip-up is missing: run `npm run build` (npm test does)');
    lab = await createStormLab();
    await installBundles(lab);
    driver = await buildVerdictDriver(lab.dirs.root);
  });
  afterAll(async () => {
    await lab?.destroy();
    lab = undefined;
  });

  it(
    'after every step the kernel is the plan for the links really up; all down leaves nothing',
    async () => {
      const started = Date.now();
      const params: fc.Parameters<[Sequence]> = { endOnFailure: process.env.MULTIWAN_STORM_SHRINK !== '1' };
      let failure: string | undefined;
      if (REPLAY) {
        const path = process.env.MULTIWAN_STORM_PATH;
        failure = await storm({ ...params, seed: Number(REPLAY), ...(path ? { path } : {}), numRuns: path ? 1 : MIN_SEQUENCES }, Infinity);
      } else {
        // Enough runs for any budget (~2 sequences a second at best); the deadline ends the storm.
        failure = await storm({ ...params, numRuns: Math.max(20_000, MIN_SEQUENCES, (BUDGET_MS / 1000) * 4) }, started + BUDGET_MS);
      }
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(
        `[storm] ${stats.sequences} sequences, ${stats.steps} steps (${stats.together} pairs at once, ${stats.vanished} links vanished, ` +
          `${stats.readdressed} address changes, ${stats.verdicts} verdicts, ${stats.reloads} reloads), ${stats.checks} kernel checks in ${seconds} s ` +
          `(checks ${(stats.checkMs / 1000).toFixed(1)} s, bringing all down and resetting ${(stats.resetMs / 1000).toFixed(1)} s)`,
      );
      if (failure) throw new Error(failure);
      if (!REPLAY) expect(stats.sequences).toBeGreaterThanOrEqual(MIN_SEQUENCES);
    },
    BUDGET_MS + 600_000,
  );
});
