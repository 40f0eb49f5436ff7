// Config fuzzing: mutated configs (bytes flipped, keys dropped, types
// changed, huge and negative numbers, unicode, 1 MB values, deep nesting,
// duplicate keys and tables, list files with garbage) through the config
// loader. Whatever the input, the outcome is a valid Config or a ConfigError
// whose every problem is one line `file:line: ...`; never another exception,
// never a stall.
//
// Fixed seed by default, so CI is repeatable; a failure prints its seed and
// path. MULTIWAN_FUZZ_RUNS=50000 runs more, MULTIWAN_FUZZ_SEED=N another seed.
import fc from 'fast-check';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { parseConfig } from '../../src/config/parse-config.js';
import type { Config } from '../../src/config/types.js';
import { ConfigError } from '../../src/errors.js';
import { FILE, fuzzCase, LIST_DIR, problemShape, type FuzzCase } from '../fixtures/config-mutations.js';

const RUNS = Number(process.env.MULTIWAN_FUZZ_RUNS ?? 5000);
const SEED = Number(process.env.MULTIWAN_FUZZ_SEED ?? 20260107);
/** One case may take this long on a loaded 2-core CI machine; typical is well under 5 ms. */
const CASE_MS = 2000;
/** The CI budget of each test is 60 s; a longer run (MULTIWAN_FUZZ_RUNS) gets time in proportion. */
const TIMEOUT_MS = Math.max(60_000, RUNS * 15);

const stats = { cases: 0, valid: 0, invalid: 0, problems: 0, slowestMs: 0, loaderCases: 0, totalMs: 0 };
afterAll(() => {
  console.log(
    `config fuzz (seed ${SEED}): ${stats.cases} parseConfig cases (${stats.valid} valid, ${stats.invalid} refused with ${stats.problems} problem lines), ` +
      `${stats.loaderCases} through loadConfig with real files; slowest case ${stats.slowestMs.toFixed(1)} ms, total ${(stats.totalMs / 1000).toFixed(1)} s`,
  );
});

/** Runs `load` and checks what came out; returns the outcome to compare. */
function judge(c: FuzzCase, load: () => Config, files: ReadonlyMap<string, string>, source: string, configFile = FILE): Config | string[] {
  const started = performance.now();
  let outcome: Config | string[];
  try {
    outcome = load();
  } catch (error) {
    if (!(error instanceof ConfigError)) {
      throw new Error(`not a ConfigError: ${error instanceof Error ? error.stack : String(error)}`);
    }
    outcome = error.problems;
    expect(error.problems.length).toBeGreaterThan(0);
    expect(error.message).toBe(error.problems.join('\n'));
  }
  const ms = performance.now() - started;
  stats.slowestMs = Math.max(stats.slowestMs, ms);
  expect(ms, `one case took ${ms.toFixed(0)} ms`).toBeLessThan(CASE_MS);
  if (Array.isArray(outcome)) {
    for (const problem of outcome) {
      const bad = problemShape(problem, configFile, source, files);
      if (bad) throw new Error(`${bad}: ${JSON.stringify(problem).slice(0, 500)}`);
    }
  } else {
    checkConfig(outcome, c, configFile, files);
  }
  return outcome;
}

/** What a Config the parser accepted must be: every link kept, values in range, and the same after the cache's JSON round trip. */
function checkConfig(config: Config, c: FuzzCase, configFile: string, files: ReadonlyMap<string, string>): void {
  expect(config.file).toBe(configFile);
  expect(JSON.parse(JSON.stringify(config))).toEqual(config);
  // Every [link.NAME] the TOML holds is in the Config: none dropped silently.
  expect(config.links.map((l) => l.name).sort()).toEqual(c.linkNames.slice().sort());
  const names = config.links.map((l) => l.name);
  for (const link of config.links) {
    expect(link.name).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    expect(Number.isInteger(link.weight) && link.weight >= 1 && link.weight <= 256).toBe(true);
    expect(Number.isInteger(link.tier) && link.tier >= 1 && link.tier <= 9).toBe(true);
    // The README's rule: 1 to 15 letters, digits, "_", ".", ":" or "-".
    expect(link.interface).toMatch(/^[A-Za-z0-9_.:-]{1,15}$/);
    expect(['.', '..']).not.toContain(link.interface);
  }
  expect(new Set(config.links.map((l) => l.interface)).size).toBe(config.links.length);
  for (const policy of config.policies) for (const via of policy.via) expect(names).toContain(via);
  for (const dep of config.files) expect(files.has(dep)).toBe(true);
  expect(Number.isSafeInteger(config.markMask) && config.markMask > 0).toBe(true);
  expect(Number.isSafeInteger(config.tableBase) && Number.isSafeInteger(config.rulePriority)).toBe(true);
}

describe('config fuzzing', () => {
  it(`${RUNS} mutated configs through parseConfig: a valid Config or file:line problems, nothing else`, async () => {
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(fuzzCase, async (c) => {
        stats.cases++;
        // Let vitest's timers run now and then (its timeout, its reports to the main process).
        if (stats.cases % 250 === 0) await new Promise((resolve) => setImmediate(resolve));
        const read = (file: string): string => {
          if (file === `${LIST_DIR}/unsafe.txt`) throw new ConfigError(`${file} is writable by others (mode 666); run chmod go-w ${file}`);
          const text = c.files.get(file);
          if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${file}'`), { code: 'ENOENT', errno: -2 });
          return text;
        };
        const outcome = judge(c, () => parseConfig(c.source, FILE, read), c.files, c.source);
        if (Array.isArray(outcome)) {
          stats.invalid++;
          stats.problems += outcome.length;
        } else stats.valid++;
      }),
      { seed: SEED, numRuns: RUNS },
    );
    stats.totalMs += performance.now() - started;
    // The generator must reach both outcomes, or it fuzzes only one path.
    expect(stats.valid).toBeGreaterThan(RUNS / 50);
    expect(stats.invalid).toBeGreaterThan(RUNS / 2);
  }, TIMEOUT_MS);

  it('mutated configs through loadConfig with real files (and again from its cache): the same outcome', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'mw-fuzz-'));
    chmodSync(root, 0o755);
    const started = performance.now();
    const runs = Math.max(50, Math.round(RUNS / 20));
    try {
      await fc.assert(
        fc.asyncProperty(fuzzCase, fc.boolean(), async (c, unsafeList) => {
          stats.loaderCases++;
          const dir = mkdtempSync(path.join(root, 'case-'));
          chmodSync(dir, 0o755);
          const etc = path.join(dir, 'etc');
          const run = path.join(dir, 'run');
          mkdirSync(etc, { mode: 0o755 });
          mkdirSync(run, { mode: 0o755 });
          const file = path.join(etc, 'multiwan.toml');
          // The case's paths, moved under this case's directory.
          const moved = (text: string) => text.split(`${LIST_DIR}/`).join(`${etc}/`);
          writeFileSync(file, moved(c.source), { mode: 0o644 });
          const files = new Map<string, string>();
          for (const [name, text] of c.files) {
            const target = moved(name);
            writeFileSync(target, text, { mode: 0o644 });
            chmodSync(target, unsafeList ? 0o666 : 0o644);
            files.set(target, readFileSync(target, 'utf8'));
          }
          const source = readFileSync(file, 'utf8');
          const load = async () => {
            try {
              return await loadConfig(file, run);
            } catch (error) {
              return error;
            }
          };
          const first = await load();
          const again = await load();
          const outcome = judge(c, () => unwrap(first), files, source, file);
          expect(judge(c, () => unwrap(again), files, source, file)).toEqual(outcome);
          rmSync(dir, { recursive: true, force: true });
        }),
        { seed: SEED, numRuns: runs },
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    stats.totalMs += performance.now() - started;
  }, TIMEOUT_MS);
});

function unwrap(result: unknown): Config {
  if (result instanceof Error) throw result;
  if (result === undefined) throw new Error('loadConfig found no config, but one was written');
  return result as Config;
}
