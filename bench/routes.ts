// `npm run bench`, part 3: ten thousand prefixes.
//
// (a) ip-up of a link with a routes_file of 10,000 prefixes, and (b) ip-up of
// a link with a policy whose dst is a 10,000-prefix @file, each timed side by
// side with:
//   - the floor: `ip -batch -` of the same 10,000 routes on its own;
//   - the seeds' way: a shell loop running `ip route add` once per prefix.
// Everything runs directly in the lab router (`ip netns exec`, no pppd
// harness), the hook with pppd's six arguments and a cleared environment, so
// the three are timed the same way. Rounds are interleaved; after each ip-up
// the kernel is checked (10,000 routes in table 200, or the policy's set in
// nft), and ip-down (or a flush) returns to nothing before the next round.
// Targets: within 1.3x the floor, over 20x faster than the loop.
//
//   npm run bench   (or: tsx bench/routes.ts [--rounds N])
//
// Needs root; never touches the root network namespace (see test/lab/lab.ts).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { productEnv } from '../test/lab/lab.js';
import { BenchError, FAILED, withBenchLab } from './with-lab.js';
import { cpuMark, othersCpus } from './cpu.js';
import { round1, round2, summarize } from './stats.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, '.bench', 'routes.json');
const N = 10_000;
const FLOOR_TARGET = 1.3;
const LOOP_TARGET = 20;

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROUNDS = arg('rounds', 7);

const prefixes = Array.from({ length: N }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
// Outside 10.0.0.0/8 so the policy's set does not cover the lab's own networks.
const policyPrefixes = Array.from({ length: N }, (_, i) => `172.${16 + (i >> 12)}.${(i >> 4) & 255}.${(i & 15) << 4}/28`);

const configs = {
  routes: (file: string) => `lan = ["192.168.10.0/24"]\n[link.isp1]\ninterface = "ppp0"\nroutes_file = "${file}"\n`,
  policy: (file: string) => `lan = ["192.168.10.0/24"]\n[link.isp1]\ninterface = "ppp0"\n\n[[policy]]\nname = "big"\ndst = ["@${file}"]\nvia = ["isp1"]\n`,
};

async function main(): Promise<number> {
  const mark = cpuMark();
  const done = await withBenchLab({ links: 1 }, async (lab) => {
    const routesFile = path.join(lab.dirs.etc, 'routes-10k.txt');
    const policyFile = path.join(lab.dirs.etc, 'policy-10k.txt');
    await writeFile(routesFile, prefixes.join('\n') + '\n');
    await writeFile(policyFile, policyPrefixes.join('\n') + '\n');
    const batch = prefixes.map((p) => `route replace ${p} table 200 proto 242 dev ppp0 scope link`).join('\n') + '\n';

    const pppArgs = ['ppp0', '/dev/ttyS0', '115200', lab.addr.ppp0Local, lab.addr.ppp0Peer, 'isp1'];
    const hook = (name: 'ip-up' | 'ip-down') =>
      lab.exec(lab.ns.rtr, [path.join(ROOT, 'dist', name), ...pppArgs], { env: productEnv(lab), timeoutMs: 30_000 });
    const time = async (work: () => Promise<unknown>) => {
      const start = performance.now();
      await work();
      return performance.now() - start;
    };
    const count = async (argv: string[]) => Number((await lab.exec(lab.ns.rtr, ['sh', '-c', `${argv.join(' ')} | wc -l`])).stdout.trim());
    const table200 = () => count(['ip', 'route', 'show', 'table', '200']);

    const samples = { routes: [] as number[], policy: [] as number[], floor: [] as number[] };
    const runCase = async (which: 'routes' | 'policy') => {
      await lab.writeConfig(configs[which](which === 'routes' ? routesFile : policyFile));
      await hook('ip-down');
      await hook('ip-up'); // validates the config and fills the cache, as the first event after an edit does
      await hook('ip-down');
      const ms = await time(() => hook('ip-up'));
      if (which === 'routes' && (await table200()) < N) throw new BenchError(`routes_file: fewer than ${N} routes in table 200`);
      if (which === 'policy') {
        const listed = await lab.exec(lab.ns.rtr, ['nft', 'list', 'chain', 'inet', 'multiwan', 'policies']);
        if (!listed.stdout.includes('comment "big via isp1"')) throw new BenchError('policy: the set is not in the policies chain');
      }
      await hook('ip-down');
      if ((await table200()) !== 0) throw new BenchError('ip-down left routes in table 200');
      return ms;
    };
    const runFloor = async () => {
      const ms = await time(() => lab.exec(lab.ns.rtr, ['ip', '-batch', '-'], { input: batch, timeoutMs: 30_000 }));
      if ((await table200()) < N) throw new BenchError('floor: the batch did not add the routes');
      await lab.exec(lab.ns.rtr, ['ip', 'route', 'flush', 'table', '200']);
      return ms;
    };

    // one warm-up of each, then interleaved rounds
    await runCase('routes');
    await runCase('policy');
    await runFloor();
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 ? (['floor', 'routes', 'policy'] as const) : (['policy', 'routes', 'floor'] as const);
      for (const which of order) samples[which].push(which === 'floor' ? await runFloor() : await runCase(which));
    }

    // The seeds' way, once: a process per route.
    const loop = await time(() =>
      lab.exec(lab.ns.rtr, ['sh', '-c', 'while read p; do ip route add "$p" dev ppp0 table 200; done < "$1"', 'sh', routesFile], { timeoutMs: 300_000 }),
    );
    if ((await table200()) < N) throw new BenchError('loop: fewer routes than expected');
    await lab.exec(lab.ns.rtr, ['ip', 'route', 'flush', 'table', '200']);

    const s = { routes: summarize(samples.routes), policy: summarize(samples.policy), floor: summarize(samples.floor) };
    const row = (label: string, x: { median: number; p90: number; min: number }) =>
      `  ${label.padEnd(44)}${round1(x.median).toFixed(1).padStart(9)}${round1(x.p90).toFixed(1).padStart(9)}${round1(x.min).toFixed(1).padStart(9)}`;
    const vsFloor = (x: number) => round2(x / s.floor.median);
    const vsLoop = (x: number) => round1(loop / x);
    const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
    console.log(`\n10,000 prefixes, one link (isp1 on ppp0), ${ROUNDS} interleaved rounds; run directly in the router namespace\n`);
    console.log(`  ${'ms'.padEnd(44)}${'median'.padStart(9)}${'p90'.padStart(9)}${'min'.padStart(9)}`);
    console.log(row('ip-up, routes_file of 10,000 prefixes', s.routes));
    console.log(row('ip-up, a policy with a 10,000-prefix dst set', s.policy));
    console.log(row('floor: ip -batch of the 10,000 routes alone', s.floor));
    console.log(`  ${'the seeds\' loop: ip route add per prefix (once)'.padEnd(44)}${round1(loop).toFixed(1).padStart(9)}`);
    console.log('');
    console.log(`  routes_file: ${vsFloor(s.routes.median)}x the floor (target <= ${FLOOR_TARGET}x) ${verdict(vsFloor(s.routes.median) <= FLOOR_TARGET)};  ${vsLoop(s.routes.median)}x faster than the loop (target > ${LOOP_TARGET}x) ${verdict(vsLoop(s.routes.median) > LOOP_TARGET)}`);
    console.log(`  policy set:  ${vsFloor(s.policy.median)}x the floor (target <= ${FLOOR_TARGET}x) ${verdict(vsFloor(s.policy.median) <= FLOOR_TARGET)};  ${vsLoop(s.policy.median)}x faster than the loop (target > ${LOOP_TARGET}x) ${verdict(vsLoop(s.policy.median) > LOOP_TARGET)}`);
    const others = othersCpus(mark, cpuMark());
    console.log(`\n  other processes used ${others.toFixed(2)} of the CPUs during the run`);
    await mkdir(path.dirname(OUT), { recursive: true });
    await writeFile(OUT, JSON.stringify({ rounds: ROUNDS, samples, loopMs: loop, summary: s, othersCpus: others }, null, 2) + '\n');
    console.log(`  results: ${path.relative(ROOT, OUT)}`);
  });
  return done === FAILED ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
