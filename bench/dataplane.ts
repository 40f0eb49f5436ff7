// `npm run bench`, part 4: what multiwan's ruleset and routing cost each
// forwarded packet. Packets a second from a LAN host to a server through a
// router (bench/dataplane-lab.ts), for two routers side by side in one run:
//
//   bare       one default route (ppp0) and one masquerade rule: what a
//              single-uplink router, or a multi-WAN how-to's reader, has;
//   multiwan   the built dist/ip-up run for every uplink with pppd's six
//              arguments: table inet multiwan, the rules, the link tables and
//              the balanced multipath route, rp_filter and src_valid_mark as
//              multiwan sets them.
//
// Cases: 2 links; 8 links; 2 links with a policy whose dst is a
// 10,000-prefix @file (one nft interval set) the traffic does not match, and
// one it matches; 2 links with balance = "source". A control case runs the
// bare router against a second bare router: the harness's own bias and noise.
//
// Traffic (dataplane-traffic.ts): 64-byte UDP in 8 established flows
// (iperf3), TCP with MSS 536 in 4 flows (iperf3, one segment a packet), and
// 64-byte UDP in one flow that nothing answers (socat), so that every packet
// is in conntrack state new and takes the path of a connection's first packet
// (policies, source balance). Senders send as fast as they can: on veths the
// sender's core also runs the whole forwarding path, so the rate the SERVER
// receives (Ip InReceives in its namespace) is the path's capacity, and the
// LAN client's sent count shows nothing is dropped on the way.
//
// Two measurements per round, the order flipping every round:
//   alone         each router's sender runs by itself for a window, then the
//                 other's: the packets-a-second figures. When other jobs share
//                 the machine (they take the core for tens of ms at a time)
//                 these swing by 20-40% between windows.
//   head to head  both senders at once on the same core: the scheduler gives
//                 each half of it, so the ratio of their rates is the ratio of
//                 their per-packet costs, and whatever else runs hits both
//                 alike. For UDP it stays within a few hundredths under a load
//                 of 5 on 2 cores, and on a quiet machine it agrees with the
//                 alone ratio; the verdict uses it. TCP's is looser (its
//                 senders are ACK-clocked by receivers on the other core).
// Goal: multiwan forwards at least 0.9 of the bare router's packets a second.
//
//   npm run bench   (or: tsx bench/dataplane.ts [--rounds N] [--window MS] [--case NAME])
//
// Needs root, iperf3 and socat; never touches the root network namespace.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { needsRoot, run } from '../test/lab/lab.js';
import { benchEnv, runBench, writeResults } from './with-lab.js';
import { cpuMark, othersCpus } from './cpu.js';
import { round1, round2, summarize, type Summary } from './stats.js';
import { ADDR, createDataplaneLab, setupBare, setupMultiwan, type DataplaneLab, type Network } from './dataplane-lab.js';
import { measure, startSender, stopSender, TRAFFIC, type Sender, type TrafficKind, type Window } from './dataplane-traffic.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, '.bench', 'dataplane.json');
const IP_UP = path.join(ROOT, 'dist/ip-up');
const TARGET = 0.9;
const POLICY_PREFIXES = 10_000;

interface Case {
  name: string;
  links: number;
  /** the second router (the first is always the bare one) */
  router: 'multiwan' | 'bare';
  traffic: TrafficKind[];
  /** multiwan.toml, given the lab dir for @files */
  config?: (dir: string) => string;
  files?: Record<string, string>;
  /** what the multiwan table must hold for the case to mean anything */
  expect?: string;
  /** a policy case: whether the traffic matches the policy (checked on its counter) */
  policy?: 'match' | 'miss';
}

const linksToml = (links: number): string =>
  Array.from({ length: links }, (_, i) => `\n[link.isp${i + 1}]\ninterface = "ppp${i}"\n`).join('');
const baseToml = (links: number, top = ''): string => `lan = ["${ADDR.lan}"]\n${top}${linksToml(links)}`;

// Outside 10.0.0.0/8 and the lab's networks, as in bench/routes.ts; the
// matching list swaps one prefix for the server's /24.
const policyPrefixes = Array.from({ length: POLICY_PREFIXES }, (_, i) => `172.${16 + (i >> 12)}.${(i >> 4) & 255}.${(i & 15) << 4}/28`);
const matchingPrefixes = [...policyPrefixes.slice(1), '198.51.100.0/24'];
const policyToml = (file: string): string => `${baseToml(2)}\n[[policy]]\nname = "big"\ndst = ["@${file}"]\nvia = ["isp2"]\n`;

const ALL: TrafficKind[] = ['udp', 'tcp', 'udp-new'];
const CASES: Case[] = [
  { name: 'control: bare vs a 2nd bare', links: 2, router: 'bare', traffic: ['udp'] },
  { name: '2 links', links: 2, router: 'multiwan', traffic: ALL, config: () => baseToml(2) },
  { name: '8 links', links: 8, router: 'multiwan', traffic: ALL, config: () => baseToml(8) },
  {
    name: '2 links, 10k-prefix policy, no match',
    links: 2,
    router: 'multiwan',
    traffic: ALL,
    files: { 'policy.txt': policyPrefixes.join('\n') + '\n' },
    config: (dir) => policyToml(path.join(dir, 'policy.txt')),
    expect: 'comment "big via isp2"',
    policy: 'miss',
  },
  // Established flows never reach the policies chain (it runs for new
  // connections only), so only the traffic that is always new tells a match.
  {
    name: '2 links, 10k-prefix policy, match',
    links: 2,
    router: 'multiwan',
    traffic: ['udp-new'],
    files: { 'policy.txt': matchingPrefixes.join('\n') + '\n' },
    config: (dir) => policyToml(path.join(dir, 'policy.txt')),
    expect: 'comment "big via isp2"',
    policy: 'match',
  },
  { name: '2 links, balance = "source"', links: 2, router: 'multiwan', traffic: ALL, config: () => baseToml(2, 'balance = "source"\n'), expect: 'jhash ip saddr' },
];

interface Options {
  rounds: number;
  windowMs: number;
  settleMs: number;
  only?: string;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { rounds: 5, windowMs: 800, settleMs: 250 };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(rounds|window|settle|case)(?:=(.*))?$/.exec(argv[i]!);
    if (!m) throw new Error(`unknown argument ${argv[i]} (usage: bench/dataplane.ts [--rounds N] [--window MS] [--settle MS] [--case TEXT])`);
    const value = m[2] ?? argv[++i] ?? '';
    if (m[1] === 'case') {
      opts.only = value;
      continue;
    }
    const n = Number(value);
    const [min, max] = m[1] === 'rounds' ? [1, 100] : [50, 60_000];
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`bad --${m[1]} ${value}`);
    if (m[1] === 'rounds') opts.rounds = n;
    else if (m[1] === 'window') opts.windowMs = n;
    else opts.settleMs = n;
  }
  return opts;
}

interface Result {
  case: string;
  links: number;
  traffic: TrafficKind;
  router: Case['router'];
  alone: { bare: Window[]; other: Window[] };
  together: { bare: Window[]; other: Window[] };
}

/** One case: a lab with two networks, both routers set up, then every traffic kind in alternating rounds. */
async function runCase(c: Case, opts: Options, track: (lab: DataplaneLab | undefined) => void): Promise<Result[]> {
  const lab = await createDataplaneLab(['bare', 'other'], c.links);
  track(lab);
  try {
    const bare = lab.networks.bare!;
    const other = lab.networks.other!;
    await setupBare(bare);
    if (c.router === 'bare') await setupBare(other);
    else {
      for (const [name, text] of Object.entries(c.files ?? {})) await writeFile(path.join(lab.root, name), text);
      await setupMultiwan(lab, other, c.config!(lab.root), IP_UP);
      await checkMultiwan(other, c);
    }
    const results: Result[] = [];
    for (const kind of c.traffic) {
      results.push(await runTraffic(c, kind, bare, other, opts));
      if (c.policy) await checkPolicy(other, c, kind);
    }
    return results;
  } finally {
    await lab.destroy();
    track(undefined);
  }
}

/** The multiwan router must hold what the case is about, or its figures mean nothing. */
async function checkMultiwan(net: Network, c: Case): Promise<void> {
  const nft = (await run(['ip', 'netns', 'exec', net.ns.rtr, 'nft', 'list', 'table', 'inet', 'multiwan'])).stdout;
  const multipath = (await run(['ip', '-n', net.ns.rtr, 'route', 'show', 'table', '200'])).stdout;
  if ((multipath.match(/nexthop dev ppp\d+/g) ?? []).length !== c.links) throw new Error(`${c.name}: table 200 has no ${c.links}-way multipath default:\n${multipath}`);
  if (c.expect && !nft.includes(c.expect)) throw new Error(`${c.name}: the multiwan table has no ${c.expect}:\n${nft}`);
}

/**
 * The policy's counter (reset here) tells whether the traffic did what the
 * case says: none matched (miss), or with always-new traffic, every packet
 * went through the policies chain and matched, not just a flow's first.
 */
async function checkPolicy(net: Network, c: Case, kind: TrafficKind): Promise<void> {
  const listed = (await run(['ip', 'netns', 'exec', net.ns.rtr, 'nft', 'reset', 'counter', 'inet', 'multiwan', 'policy_big'])).stdout;
  const packets = Number(/packets (\d+)/.exec(listed)?.[1] ?? NaN);
  const ok = c.policy === 'miss' ? packets === 0 : kind !== 'udp-new' || packets > 10_000;
  if (!ok) throw new Error(`${c.name}, ${kind}: the policy counted ${packets} packets`);
}

async function runTraffic(c: Case, kind: TrafficKind, bare: Network, other: Network, opts: Options): Promise<Result> {
  // Both senders run at most this long; stopSender ends them after the last round.
  const seconds = Math.ceil((opts.rounds * 3 * (opts.settleMs + opts.windowMs)) / 1000) + 30;
  const senders: Sender[] = [];
  try {
    senders.push(await startSender(bare, kind, seconds), await startSender(other, kind, seconds));
    const [b, o] = senders as [Sender, Sender];
    const result: Result = { case: c.name, links: c.links, traffic: kind, router: c.router, alone: { bare: [], other: [] }, together: { bare: [], other: [] } };
    // One untimed round of each, then the rounds; the order flips every round.
    await measure([b], opts.settleMs, opts.windowMs);
    await measure([o], opts.settleMs, opts.windowMs);
    for (let r = 0; r < opts.rounds; r++) {
      const order: ['bare' | 'other', Sender][] = r % 2 === 0 ? [['bare', b], ['other', o]] : [['other', o], ['bare', b]];
      for (const [which, sender] of order) result.alone[which].push((await measure([sender], opts.settleMs, opts.windowMs))[0]!);
      const [wb, wo] = await measure([b, o], opts.settleMs, opts.windowMs);
      result.together.bare.push(wb!);
      result.together.other.push(wo!);
    }
    return result;
  } finally {
    await Promise.all(senders.map(stopSender));
  }
}

// ───────────────────────────── report ─────────────────────────────

const ratios = (num: Window[], den: Window[]): number[] => num.map((w, i) => w.pps / den[i]!.pps);
const kpps = (x: number): string => `${(x / 1000).toFixed(1)}k`;
const spread = (s: Summary, f: (x: number) => string): string => `${f(s.min)}-${f(s.max)}`;
const lossOf = (ws: Window[]): number => {
  const sent = ws.reduce((a, w) => a + w.sentPps, 0);
  return sent > 0 ? 1 - ws.reduce((a, w) => a + w.pps, 0) / sent : 0;
};

interface Row {
  result: Result;
  bare: Summary;
  other: Summary;
  alone: Summary;
  together: Summary;
  loss: number;
}

function analyse(result: Result): Row {
  return {
    result,
    bare: summarize(result.alone.bare.map((w) => w.pps)),
    other: summarize(result.alone.other.map((w) => w.pps)),
    alone: summarize(ratios(result.alone.other, result.alone.bare)),
    together: summarize(ratios(result.together.other, result.together.bare)),
    loss: Math.max(lossOf([...result.alone.bare, ...result.together.bare]), lossOf([...result.alone.other, ...result.together.other])),
  };
}

/** A head-to-head ratio that swung by more than this between rounds: its median decides nothing. */
const NOISY = 0.3;
const noisy = (row: Row): boolean => row.together.max - row.together.min > NOISY;
const verdict = (row: Row): string =>
  row.result.router === 'bare' ? '' : `${row.together.median >= TARGET ? 'PASS' : 'MISS'}${noisy(row) ? '?' : ''}`;

function table(rows: Row[]): string {
  const head = ['case', 'traffic', 'bare pps (min-max)', 'multiwan pps (min-max)', 'ratio alone (min-max)', 'ratio head-to-head (min-max)', ''];
  const body = rows.map((r) => [
    r.result.case,
    r.result.traffic,
    `${kpps(r.bare.median)} (${spread(r.bare, kpps)})`,
    `${kpps(r.other.median)} (${spread(r.other, kpps)})`,
    `${r.alone.median.toFixed(2)} (${spread(r.alone, (x) => x.toFixed(2))})`,
    `${r.together.median.toFixed(3)} (${spread(r.together, (x) => x.toFixed(2))})`,
    verdict(r),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...body.map(line)].join('\n');
}

// ───────────────────────────── main ─────────────────────────────

/** The first line of a tool's version output that matches `pattern`, or undefined when the tool is missing. */
async function version(argv: string[], pattern: RegExp): Promise<string | undefined> {
  const r = await run(argv, { reject: false }).catch(() => undefined);
  return r ? pattern.exec(`${r.stdout}\n${r.stderr}`)?.[0] : undefined;
}

async function main(): Promise<number> {
  const reason = needsRoot();
  if (reason) {
    console.error(`bench: ${reason}`);
    return 1;
  }
  if (!existsSync(IP_UP)) {
    console.error('bench: dist/ip-up is missing (run `npm run build`; `npm run bench` does)');
    return 1;
  }
  const [iperf3, socat] = await Promise.all([version(['iperf3', '--version'], /iperf 3\S*/), version(['socat', '-V'], /socat version \S+/)]);
  if (!iperf3 || !socat) {
    console.error(`bench: the data-plane bench needs ${[!iperf3 && 'iperf3', !socat && 'socat'].filter(Boolean).join(' and ')} (apt install iperf3 socat)`);
    return 1;
  }
  const opts = parseArgs(process.argv.slice(2));
  const cases = CASES.filter((c) => !opts.only || c.name.includes(opts.only));
  if (!cases.length) {
    console.error(`bench: no case matches --case ${opts.only}`);
    return 1;
  }

  // Ctrl-C reaches this process twice (from the terminal, and relayed by
  // tsx): the handler stays installed so that the second one cannot kill the
  // cleanup half way.
  let current: DataplaneLab | undefined;
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) return;
    stopping = true;
    void (current?.destroy() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const started = Date.now();
  const mark = cpuMark();
  const rows: Row[] = [];
  try {
    for (const c of cases) {
      for (const result of await runCase(c, opts, (lab) => (current = lab))) {
        rows.push(analyse(result));
        process.stderr.write(`  ${c.name}, ${result.traffic}: done\n`);
      }
    }
  } catch (error) {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const seconds = (Date.now() - started) / 1000;
  const others = othersCpus(mark, cpuMark());

  console.log(`\nforwarded packets a second, LAN host -> router -> server (${opts.rounds} rounds of ${opts.windowMs} ms windows, order flipping each round)`);
  for (const kind of ALL) console.log(`  ${kind.padEnd(8)} ${TRAFFIC[kind].label}`);
  console.log(`alone: each router's sender by itself; head to head: both at once on one core (ratio = per-packet cost ratio). Goal: multiwan >= ${TARGET} of bare, head to head.\n`);
  console.log(table(rows));
  const lossy = rows.filter((r) => r.loss > 0.01);
  if (lossy.length) console.log(`\nnote: packets lost on the way (sent but not received) in: ${lossy.map((r) => `${r.result.case} ${r.result.traffic} ${(r.loss * 100).toFixed(1)}%`).join(', ')}`);
  const measured = rows.filter((r) => r.result.router === 'multiwan');
  const missed = measured.filter((r) => verdict(r).startsWith('MISS'));
  if (measured.some(noisy)) {
    console.log(`\n?: the head-to-head ratio swung by more than ${NOISY} between rounds (TCP's ACK clocking and the receivers on the other core make the two senders' shares unequal): not conclusive.`);
  }
  console.log(
    `\n${missed.length ? 'MISS' : 'PASS'}: multiwan at >= ${TARGET} of the bare router head to head in ${measured.length - missed.length} of ${measured.length} case/traffic pairs; ` +
      `${seconds.toFixed(0)} s, other processes used ${others.toFixed(2)} CPUs.`,
  );
  if (others > 0.25) console.log('note: the machine was busy: the "alone" figures swing with it; the head-to-head ratios are the ones to compare.');

  const samples = (ws: Window[]) => ws.map((w) => Math.round(w.pps));
  const json = {
    bench: 'dataplane',
    date: new Date().toISOString(),
    target: TARGET,
    rounds: opts.rounds,
    windowMs: opts.windowMs,
    settleMs: opts.settleMs,
    env: { ...(await benchEnv(others)), iperf3, socat },
    traffic: Object.fromEntries(ALL.map((k) => [k, TRAFFIC[k].label])),
    unit: 'packets/s received by the server',
    cases: rows.map((r) => {
      const second = r.result.router === 'bare' ? 'control' : 'multiwan';
      return {
      case: r.result.case,
      links: r.result.links,
      traffic: r.result.traffic,
      alone: {
        bare: { median: Math.round(r.bare.median), min: Math.round(r.bare.min), max: Math.round(r.bare.max), samples: samples(r.result.alone.bare) },
        [second]: { median: Math.round(r.other.median), min: Math.round(r.other.min), max: Math.round(r.other.max), samples: samples(r.result.alone.other) },
        ratio: { median: round2(r.alone.median), min: round2(r.alone.min), max: round2(r.alone.max) },
      },
      headToHead: {
        bare: samples(r.result.together.bare),
        [second]: samples(r.result.together.other),
        ratio: { median: Math.round(r.together.median * 1000) / 1000, min: round2(r.together.min), max: round2(r.together.max) },
      },
      loss: Math.round(r.loss * 10_000) / 10_000,
      verdict: verdict(r) || undefined,
      };
    }),
    verdict: missed.length ? 'MISS' : 'PASS',
    seconds: round1(seconds),
  };
  await writeResults(OUT, json);
  return 0;
}

runBench(main);
