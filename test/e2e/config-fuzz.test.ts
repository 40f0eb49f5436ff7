// Config fuzzing through what ships: mutated configs (the unit fuzzer's
// generator, test/fixtures/config-mutations.ts) through the built
// `dist/multiwan check --config FILE` and `dist/ip-up` run with pppd's six
// arguments, for a real event on a veth named ppp0. Every run exits 0 or 1,
// in time, and says nothing on stderr but one `file:line: ...` line per
// problem: never "internal error", never a stack.
//
// Everything runs in one namespace of its own, empty but for lo and the
// veth, so no mutated config can touch the root namespace. Fixed seed;
// MULTIWAN_FUZZ_E2E_RUNS and MULTIWAN_FUZZ_SEED run more or others.
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needsRoot, run, type ExecResult } from '../lab/lab.js';
import { fuzzCase, LIST_DIR, problemShape, type FuzzCase } from '../fixtures/config-mutations.js';
import { dist } from './helpers.js';

const skip = needsRoot();
const RUNS = Number(process.env.MULTIWAN_FUZZ_E2E_RUNS ?? 250);
const SEED = Number(process.env.MULTIWAN_FUZZ_SEED ?? 20260107);
/** Stop starting cases after this long, whatever RUNS says: the suite's CI budget is 90 s. */
const BUDGET_MS = Number(process.env.MULTIWAN_FUZZ_E2E_BUDGET_MS ?? 65_000);
const RUN_TIMEOUT_MS = 15_000;
const STD_PATH = '/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin';

// Named like the lab's (mwt<hex>, an owner file in /tmp/mwt<hex>), so the
// global cleanup leaves it alone while this process lives and deletes it
// if this process dies.
const id = randomBytes(4).toString('hex');
const ns = `mwt${id}-fuzz`;
const root = path.join(tmpdir(), `mwt${id}`);
const shims = path.join(root, 'bin');
const stateDir = path.join(root, 'run');

describe.skipIf(skip)('config fuzzing through the built check command and ip-up hook', () => {
  beforeAll(async () => {
    for (const name of ['multiwan', 'ip-up']) {
      if (!existsSync(dist(name))) throw new Error(`${dist(name)} is missing: run npm run build first`);
    }
    mkdirSync(root, { mode: 0o755 });
    chmodSync(root, 0o755);
    writeFileSync(path.join(root, 'owner.json'), JSON.stringify({ pid: process.pid, ppid: process.ppid, created: new Date().toISOString() }));
    // logger: the hooks copy each error line to syslog; hundreds of refused configs stay out of the host's journal.
    mkdirSync(shims, { mode: 0o755 });
    writeFileSync(path.join(shims, 'logger'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    await run(['ip', 'netns', 'add', ns]);
    await run(['ip', '-n', ns, '-batch', '-'], {
      input: [
        'link set lo up',
        'link add ppp0 type veth peer name ppp0-peer',
        'link set ppp0 arp off',
        'addr add 100.64.1.2 peer 100.64.1.1/32 dev ppp0',
        'link set ppp0 up',
        'link set ppp0-peer up',
      ].join('\n') + '\n',
    });
  });

  afterAll(async () => {
    await run(['ip', 'netns', 'del', ns], { reject: false, timeoutMs: 10_000 });
    rmSync(root, { recursive: true, force: true });
  });

  it(`up to ${RUNS} mutated configs: exit 0 or 1, only file:line problems on stderr`, async () => {
    const cases = fc.sample(fuzzCase, { seed: SEED, numRuns: RUNS });
    const started = Date.now();
    const tally = { cases: 0, runs: 0, exit0: 0, exit1: 0, applied: 0, slowestMs: 0 };
    for (const [index, c] of cases.entries()) {
      if (Date.now() - started > BUDGET_MS) break;
      const dir = path.join(root, `case-${index}`);
      const { file, files, source } = writeCase(dir, c);
      const env = { PATH: `${shims}:${STD_PATH}`, MULTIWAN_CONFIG: file, MULTIWAN_STATE_DIR: stateDir };
      const t0 = Date.now();
      const [check, hook] = await Promise.all([
        inNs([process.execPath, dist('multiwan'), 'check', '--config', file], env),
        inNs([process.execPath, dist('ip-up'), 'ppp0', '/dev/ttyS0', '115200', '100.64.1.2', '100.64.1.1', 'isp1'], env),
      ]);
      tally.slowestMs = Math.max(tally.slowestMs, Date.now() - t0);
      for (const [name, result] of [['multiwan', check], ['ip-up', hook]] as const) {
        const what = `case ${index} (seed ${SEED}), ${name}: exit ${result.exitCode}\nstderr: ${result.stderr.slice(0, 2000)}\nconfig: ${JSON.stringify(source.slice(0, 3000))}`;
        expect([0, 1], what).toContain(result.exitCode);
        expect(result.stderr, what).not.toMatch(/internal error|^\s+at /m);
        for (const line of result.stderr.split('\n').filter((l) => l !== '')) {
          expect(line.startsWith(`${name}: `), `${what}\nline: ${line}`).toBe(true);
          const bad = problemShape(line.slice(name.length + 2), file, source, files);
          expect(bad, `${what}\nline: ${line}`).toBeUndefined();
        }
        if (result.exitCode === 0) tally.exit0++;
        else tally.exit1++;
        tally.runs++;
      }
      // Both agree: the config is valid or it is not (the hook may also find no link for ppp0: exit 0).
      expect(check.exitCode === 0, `case ${index}: check ${check.exitCode}, ip-up ${hook.exitCode}\n${check.stderr}${hook.stderr}`).toBe(
        hook.exitCode === 0,
      );
      if (/in service: (?!none)/.test(hook.stdout)) tally.applied++;
      tally.cases++;
      rmSync(dir, { recursive: true, force: true });
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `config fuzz e2e (seed ${SEED}): ${tally.cases} configs, ${tally.runs} runs of the bundles (${tally.exit0} exit 0, ${tally.exit1} exit 1), ` +
        `${tally.applied} events applied for real; slowest case ${tally.slowestMs} ms; ${seconds} s`,
    );
    expect(tally.cases).toBeGreaterThanOrEqual(Math.min(RUNS, 100));
    // Valid configs were applied for real, not only refused.
    expect(tally.applied).toBeGreaterThan(0);
  }, BUDGET_MS + 60_000);

  it('a config or @list that others can write is refused by the bundles with one line saying how to fix it', async () => {
    const dir = path.join(root, 'unsafe');
    mkdirSync(dir, { mode: 0o755 });
    const file = path.join(dir, 'multiwan.toml');
    const list = path.join(dir, 'office.txt');
    writeFileSync(list, '203.0.113.0/24\n', { mode: 0o644 });
    writeFileSync(file, `[link.isp1]\ninterface = "ppp0"\n\n[[policy]]\nvia = ["isp1"]\ndst = ["@${list}"]\n`, { mode: 0o644 });
    const env = { PATH: `${shims}:${STD_PATH}`, MULTIWAN_CONFIG: file, MULTIWAN_STATE_DIR: path.join(root, 'unsafe-run') };
    const hook = () => inNs([process.execPath, dist('ip-up'), 'ppp0', '/dev/ttyS0', '115200', '100.64.1.2', '100.64.1.1', 'isp1'], env);
    const check = () => inNs([process.execPath, dist('multiwan'), 'check', '--config', file], env);
    expect((await hook()).exitCode).toBe(0); // safe: applied, and cached

    chmodSync(file, 0o666);
    for (const [name, result] of [['ip-up', await hook()], ['multiwan', await check()]] as const) {
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toBe(`${name}: ${file} is writable by others (mode 666); run chmod go-w ${file}`);
    }
    chmodSync(file, 0o644);
    chmodSync(list, 0o664);
    for (const [name, result] of [['ip-up', await hook()], ['multiwan', await check()]] as const) {
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toBe(`${name}: ${file}:6: policy.0.dst.0: ${list} is writable by its group (mode 664); run chmod go-w ${list}`);
    }
    chmodSync(list, 0o644);
    chmodSync(dir, 0o777);
    expect((await hook()).stderr).toBe(`ip-up: ${dir} is writable by others (mode 777), so they can replace ${file}; run chmod go-w ${dir}`);
    chmodSync(dir, 0o755);
    expect(await hook()).toMatchObject({ exitCode: 0, stderr: '' });
  }, 60_000);
});

/** The case's config and lists under `dir`, its /etc/multiwan paths moved there. */
function writeCase(dir: string, c: FuzzCase): { file: string; files: Map<string, string>; source: string } {
  mkdirSync(dir, { mode: 0o755 });
  const moved = (text: string) => text.split(`${LIST_DIR}/`).join(`${dir}/`);
  const file = path.join(dir, 'multiwan.toml');
  writeFileSync(file, moved(c.source), { mode: 0o644 });
  const files = new Map<string, string>();
  for (const [name, text] of c.files) {
    const target = moved(name);
    writeFileSync(target, text, { mode: 0o644 });
    files.set(target, readFileSync(target, 'utf8'));
  }
  return { file, files, source: readFileSync(file, 'utf8') };
}

function inNs(argv: string[], env: Record<string, string>): Promise<ExecResult> {
  return run(['ip', 'netns', 'exec', ns, ...argv], { env, reject: false, timeoutMs: RUN_TIMEOUT_MS });
}
