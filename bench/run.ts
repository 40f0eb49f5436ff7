// `npm run bench`: ip-up latency for one link, multiwan against a hand-written
// sh ip-up doing the same kernel work (bench/baseline/ip-up.sh), side by side
// in one namespace lab, interleaved so both see the same machine load.
//
// Per round and per hook (multiwan, baseline, an empty hook for the harness):
// install the hook, time `lab.ppp('up')` with the link down ("cold"), check
// the kernel state, time `lab.ppp('up')` again with the link up ("steady": a
// renegotiation), check again, `lab.ppp('down')`, check that it is all gone.
// Before timing, one untimed pass checks that the baseline leaves exactly the
// kernel state multiwan leaves (rules, routes, nft table, sysctls; multiwan's
// `proto 242` tag aside), and every timed ip-up is checked against that state.
// Times are wall clock around lab.ppp(), i.e. they include the lab's runner
// (ip netns exec, unshare, bind mounts) and Debian's /etc/ppp/ip-up +
// run-parts; the empty hook measures that fixed cost, and the "net" figures
// subtract its median.
//
//   npm run bench [-- --rounds N --warmup N]
//
// Needs root; never touches the root network namespace (see test/lab/lab.ts).
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Lab } from '../test/lab/lab.js';
import { BenchError, benchEnv, FAILED, runBench, withBenchLab, writeResults } from './with-lab.js';
import { cpuMark, othersCpus } from './cpu.js';
import { round1, round2, summarize, type Summary } from './stats.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, '.bench', 'ip-up.json');
const TARGET = 1.5;
const HOOK_TIMEOUT_MS = 15_000;

const HOOKS = {
  multiwan: { up: path.join(ROOT, 'dist/ip-up'), down: path.join(ROOT, 'dist/ip-down') },
  baseline: { up: path.join(ROOT, 'bench/baseline/ip-up.sh'), down: path.join(ROOT, 'bench/baseline/ip-down.sh') },
  empty: { up: path.join(ROOT, 'bench/baseline/empty.sh'), down: path.join(ROOT, 'bench/baseline/empty.sh') },
} as const;
type Hook = keyof typeof HOOKS;
const ORDER: Hook[] = ['multiwan', 'baseline', 'empty'];
type Phase = 'cold' | 'steady';

/** One link with everything the planner emits for it: five rules, four routes, the nft table. */
const CONFIG = `lan = ["192.168.10.0/24"]

[link.isp1]
interface = "ppp0"
dns = ["24.19.100.1"]
routes = ["196.21.0.0/19"]
`;

// What ip-up leaves in the router namespace, in one process. Sysctls are
// listed separately: nothing resets them on ip-down.
const DUMP = [
  'ip rule show',
  "echo '--- table 201'; ip route show table 201",
  "echo '--- table 200'; ip route show table 200",
  "echo '--- nft'; nft list table inet multiwan 2>/dev/null || echo '(no table inet multiwan)'",
].join('\n');
const SYSCTLS = ['ipv4/ip_forward', 'ipv4/fib_multipath_hash_policy', 'ipv4/conf/ppp0/rp_filter', 'ipv4/conf/ppp0/src_valid_mark'];
const DUMP_SYSCTLS = SYSCTLS.map((s) => `echo "${s}=$(cat /proc/sys/net/${s})"`).join('\n');

function parseArgs(argv: string[]): { rounds: number; warmup: number } {
  const opts = { rounds: 20, warmup: 2 };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(rounds|warmup)(?:=(.*))?$/.exec(argv[i]!);
    if (!m) throw new Error(`unknown argument ${argv[i]} (usage: bench/run.ts [--rounds N] [--warmup N])`);
    const value = Number(m[2] ?? argv[++i]);
    if (!Number.isInteger(value) || value < (m[1] === 'rounds' ? 1 : 0) || value > 1000) throw new Error(`bad --${m[1]}`);
    opts[m[1] as 'rounds' | 'warmup'] = value;
  }
  return opts;
}


/**
 * Kernel state without multiwan's `proto 242` tag, plan-stamp hash and counter
 * values (a stray packet moves them), so that the baseline's state compares equal.
 */
const normalize = (text: string): string =>
  text
    .split('\n')
    .map((l) => l.replace(/ proto 242\b/g, '').replace(/comment "plan [0-9a-f]+"/, 'comment "plan"').replace(/packets \d+ bytes \d+/, 'packets - bytes -').trimEnd())
    .join('\n')
    .trim();

async function dump(lab: Lab, withSysctls = false): Promise<string> {
  const r = await lab.exec(lab.ns.rtr, ['sh', '-c', withSysctls ? `${DUMP}\necho '--- sysctl'\n${DUMP_SYSCTLS}` : DUMP]);
  return normalize(r.stdout);
}

function diff(want: string, got: string): string {
  const w = want.split('\n');
  const g = got.split('\n');
  const out: string[] = [];
  for (let i = 0; i < Math.max(w.length, g.length); i++) {
    if (w[i] !== g[i]) out.push(`  line ${i + 1}: want ${JSON.stringify(w[i] ?? '')}\n           got  ${JSON.stringify(g[i] ?? '')}`);
  }
  return out.slice(0, 10).join('\n');
}

interface Bench {
  lab: Lab;
  installed?: Hook;
  /** the state multiwan's ip-up leaves (normalized), once known */
  upState?: string;
  /** the state of the lab before any ip-up */
  cleanState: string;
}

async function install(b: Bench, hook: Hook): Promise<void> {
  if (b.installed === hook) return;
  await b.lab.installHooks(HOOKS[hook].up, HOOKS[hook].down);
  b.installed = hook;
}

async function timedPpp(b: Bench, hook: Hook, action: 'up' | 'down', what: string): Promise<number> {
  const t0 = performance.now();
  const r = await b.lab.ppp(action, 'ppp0', { timeoutMs: HOOK_TIMEOUT_MS });
  const ms = performance.now() - t0;
  if (r.hookFailed) throw new BenchError(`${hook}: ${what} failed (exit ${r.exitCode})\n${r.stdout}${r.stderr}`);
  return ms;
}

/** After an ip-up: multiwan's state, exactly (the empty hook: still clean). */
async function checkUp(b: Bench, hook: Hook, what: string): Promise<void> {
  const state = await dump(b.lab);
  const want = hook === 'empty' ? b.cleanState : b.upState;
  if (want === undefined) {
    if (!/fwmark 0x100\/0x3f00 lookup 201/.test(state) || !/table inet multiwan/.test(state)) {
      throw new BenchError(`${hook}: ${what} did not install the fwmark rule and the nft table:\n${state}`);
    }
    b.upState = state;
    return;
  }
  if (state !== want) throw new BenchError(`${hook}: after ${what} the kernel state is not multiwan's:\n${diff(want, state)}`);
}

async function checkDown(b: Bench, hook: Hook): Promise<void> {
  const state = await dump(b.lab);
  if (state !== b.cleanState) throw new BenchError(`${hook}: ip-down left state behind:\n${diff(b.cleanState, state)}`);
}

/** One hook, one round: cold ip-up, steady ip-up, ip-down. Returns the two ip-up times. */
async function cycle(b: Bench, hook: Hook): Promise<Record<Phase, number>> {
  await install(b, hook);
  const cold = await timedPpp(b, hook, 'up', 'ip-up (link down before)');
  await checkUp(b, hook, 'ip-up');
  const steady = await timedPpp(b, hook, 'up', 'ip-up (link already up)');
  await checkUp(b, hook, 'the second ip-up');
  await timedPpp(b, hook, 'down', 'ip-down');
  await checkDown(b, hook);
  return { cold, steady };
}

/** Once, before timing: the baseline must leave exactly what multiwan leaves, sysctls included. */
async function checkSameWork(b: Bench): Promise<void> {
  const states: Partial<Record<Hook, string>> = {};
  for (const hook of ['multiwan', 'baseline'] as const) {
    await install(b, hook);
    // Sysctls (of the lab's router namespace) away from the wanted values first, so that both hooks must set them.
    await b.lab.exec(b.lab.ns.rtr, ['sh', '-c', SYSCTLS.map((s) => `echo 0 > /proc/sys/net/${s}`).join('; ')]);
    await timedPpp(b, hook, 'up', 'ip-up');
    states[hook] = await dump(b.lab, true);
    if (hook === 'multiwan') b.upState = await dump(b.lab);
    await timedPpp(b, hook, 'down', 'ip-down');
    await checkDown(b, hook);
  }
  if (states.multiwan !== states.baseline) {
    throw new BenchError(`the baseline does not do multiwan's kernel work (multiwan = want, baseline = got):\n${diff(states.multiwan!, states.baseline!)}`);
  }
  const sysctls = states.multiwan!.split('--- sysctl')[1]?.trim().split('\n') ?? [];
  const expected = ['ipv4/ip_forward=1', 'ipv4/fib_multipath_hash_policy=1', 'ipv4/conf/ppp0/rp_filter=2', 'ipv4/conf/ppp0/src_valid_mark=1'];
  if (sysctls.join('\n') !== expected.join('\n')) throw new BenchError(`unexpected sysctls after ip-up:\n${sysctls.join('\n')}`);
}

// ───────────────────────────── report ─────────────────────────────

const LABEL: Record<Hook, string> = { multiwan: 'multiwan', baseline: 'baseline sh', empty: 'empty hook' };
const ms = (x: number): string => x.toFixed(1).padStart(7);
const verdict = (ratio: number): string => (ratio <= TARGET ? 'PASS' : 'MISS');

interface PhaseResult {
  summaries: Record<Hook, Summary>;
  net: { multiwan: number; baseline: number };
  ratio: { raw: number; net: number };
}

function analyse(samples: Record<Hook, number[]>): PhaseResult {
  const summaries = Object.fromEntries(ORDER.map((h) => [h, summarize(samples[h])])) as Record<Hook, Summary>;
  const harness = summaries.empty.median;
  const net = { multiwan: summaries.multiwan.median - harness, baseline: summaries.baseline.median - harness };
  return {
    summaries,
    net,
    ratio: { raw: summaries.multiwan.median / summaries.baseline.median, net: net.multiwan / net.baseline },
  };
}

/** Median over rounds of multiwan/baseline within the same round: less sensitive to load that drifts during the run. */
function pairedRatio(samples: Record<Hook, number[]>): number {
  return summarize(samples.multiwan.map((m, i) => m / samples.baseline[i]!)).median;
}

function table(results: Record<Phase, PhaseResult>): string {
  const titles: Record<Phase, string> = {
    cold: 'ip-up, link was down',
    steady: 'ip-up again, link already up (renegotiation)',
  };
  const lines = [`${'ms'.padEnd(28)}${'median'.padStart(7)}${'p90'.padStart(8)}${'min'.padStart(8)}${'net'.padStart(8)}`];
  for (const phase of ['cold', 'steady'] as const) {
    const r = results[phase];
    lines.push(titles[phase]);
    for (const hook of ORDER) {
      const s = r.summaries[hook];
      const net = hook === 'empty' ? '      -' : ms(r.net[hook]);
      lines.push(`  ${LABEL[hook].padEnd(26)}${ms(s.median)} ${ms(s.p90)} ${ms(s.min)} ${net}`);
    }
    lines.push(
      `  multiwan / baseline       raw ${r.ratio.raw.toFixed(2)}x ${verdict(r.ratio.raw)}   net of harness ${r.ratio.net.toFixed(2)}x ${verdict(r.ratio.net)}`,
    );
  }
  return lines.join('\n');
}

// ───────────────────────────── main ─────────────────────────────

async function main(): Promise<number> {
  for (const hook of ORDER) {
    for (const file of [HOOKS[hook].up, HOOKS[hook].down]) {
      if (!existsSync(file)) {
        console.error(`bench: ${path.relative(ROOT, file)} is missing${hook === 'multiwan' ? ' (run `npm run build`; `npm run bench` does)' : ''}`);
        return 1;
      }
    }
  }
  const { rounds, warmup } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const cpu0 = cpuMark();

  const samples: Record<Phase, Record<Hook, number[]>> = {
    cold: { multiwan: [], baseline: [], empty: [] },
    steady: { multiwan: [], baseline: [], empty: [] },
  };
  const done = await withBenchLab({ links: 1 }, async (lab) => {
    await lab.writeConfig(CONFIG);
    const b: Bench = { lab, cleanState: await dump(lab) };
    await checkSameWork(b);
    // Warm-up (page cache, the lab's first mounts, nft's first table), then
    // the timed rounds; the order of the three hooks flips every round.
    for (let i = 0; i < warmup + rounds; i++) {
      const order = i % 2 === 0 ? ORDER : [...ORDER].reverse();
      for (const hook of order) {
        const t = await cycle(b, hook);
        if (i < warmup) continue;
        samples.cold[hook].push(t.cold);
        samples.steady[hook].push(t.steady);
      }
    }
  });
  if (done === FAILED) return 1;

  const results = { cold: analyse(samples.cold), steady: analyse(samples.steady) };
  const seconds = (Date.now() - started) / 1000;
  const others = othersCpus(cpu0, cpuMark());
  console.log(
    `\nip-up latency, one link (isp1 on ppp0: 5 rules, 4 routes, 4 sysctls, table inet multiwan)\n` +
      `${rounds} rounds (+${warmup} warm-up), hooks interleaved; wall clock of /etc/ppp/ip-up through the lab runner;\n` +
      `net = median minus the empty hook's median. Target: multiwan <= ${TARGET}x the sh baseline.\n`,
  );
  console.log(table(results));
  const headline = results.cold.ratio.net;
  const cpus = os.cpus().length;
  console.log(
    `\n${verdict(headline)}: multiwan's ip-up is ${headline.toFixed(2)}x the sh baseline net of harness ` +
      `(${results.cold.ratio.raw.toFixed(2)}x raw); ${seconds.toFixed(0)} s on ${cpus} CPUs, other processes used ${others.toFixed(2)} of them.`,
  );
  if (others > 0.25) {
    console.log('note: other processes were busy during the run: medians move by 10-20% between such runs.');
  }

  const json = {
    bench: 'ip-up',
    date: new Date().toISOString(),
    target: TARGET,
    rounds,
    warmup,
    config: CONFIG,
    env: await benchEnv(others),
    unit: 'ms',
    phases: Object.fromEntries(
      (['cold', 'steady'] as const).map((phase) => {
        const r = results[phase];
        return [
          phase,
          {
            hooks: Object.fromEntries(
              ORDER.map((h) => {
                const s = r.summaries[h];
                return [h, { median: round2(s.median), p90: round2(s.p90), min: round2(s.min), max: round2(s.max), mean: round2(s.mean), samples: samples[phase][h].map(round2) }];
              }),
            ),
            net: { multiwan: round2(r.net.multiwan), baseline: round2(r.net.baseline) },
            ratio: { raw: round2(r.ratio.raw), net: round2(r.ratio.net), pairedRaw: round2(pairedRatio(samples[phase])) },
            verdict: { raw: verdict(r.ratio.raw), net: verdict(r.ratio.net) },
          },
        ];
      }),
    ),
    verdict: verdict(headline),
    seconds: round1(seconds),
  };
  await writeResults(OUT, json);
  return 0;
}

runBench(main);
