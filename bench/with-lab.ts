// What the benchmarks share: their own namespace lab, destroyed whatever
// happens (also on Ctrl-C), and a failed check reported as one line.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLab, needsRoot, run, type Lab, type LabOptions } from '../test/lab/lab.js';

/** A check that failed: the benchmark's figures would mean nothing. */
export class BenchError extends Error {}

export const FAILED = Symbol('bench failed');

/**
 * Runs `work` with a lab of its own. Without root, or when `work` throws a
 * BenchError, prints `bench: <why>` and resolves to FAILED; the lab is
 * destroyed in every case.
 */
export async function withBenchLab<T>(options: LabOptions, work: (lab: Lab) => Promise<T>): Promise<T | typeof FAILED> {
  const reason = needsRoot();
  if (reason) {
    console.error(`bench: ${reason}`);
    return FAILED;
  }
  const lab = await createLab(options);
  // Under tsx, Ctrl-C arrives twice (from the terminal, and relayed by tsx): a
  // second signal must not end the process half-way through the clean-up.
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) return;
    stopping = true;
    void lab.destroy().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work(lab);
  } catch (error) {
    if (!(error instanceof BenchError)) throw error;
    console.error(`bench: ${error.message}`);
    return FAILED;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await lab.destroy();
  }
}

/** What a benchmark's JSON records of the machine and the tools it measured. */
export async function benchEnv(othersCpus: number): Promise<Record<string, unknown>> {
  const version = async (argv: string[]) => (await run(argv, { reject: false })).stdout.trim().split('\n')[0];
  const [nft, iproute2, ping] = await Promise.all([version(['nft', '--version']), version(['ip', '-V']), version(['ping', '-V'])]);
  return {
    node: process.version,
    kernel: os.release(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    othersCpus: Math.round(othersCpus * 100) / 100,
    nft,
    iproute2,
    ping,
  };
}

/** Writes a benchmark's results as JSON (creating the directory) and says where. */
export async function writeResults(file: string, json: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(json, null, 2) + '\n');
  console.log(`results: ${path.relative(process.cwd(), file) || file}`);
}

/** Runs a benchmark's main: its result is the exit status, and a throw one line and status 1. */
export function runBench(main: () => Promise<number>): void {
  void main()
    .catch((err: unknown) => {
      console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      return 1;
    })
    .then((code) => {
      process.exitCode = code;
    });
}
