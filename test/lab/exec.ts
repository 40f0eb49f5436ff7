// Running programs for the lab: bounded one-shot commands and long-running
// processes whose output lines we follow. No shell, a cleared environment, a
// process group per child so that a timeout or a stop kills all it started.
import { execa, type ResultPromise } from 'execa';
import { createInterface } from 'node:readline';

export const STD_PATH = '/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin';
export const NODE = process.execPath;

export interface ExecOptions {
  timeoutMs?: number;
  /** Throw on a non-zero exit or a timeout (default true). */
  reject?: boolean;
  /** Added to a cleared environment that only has a standard PATH. */
  env?: Record<string, string>;
  input?: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export function killGroup(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Run argv (no shell) with a cleared environment, bounded in time. The child
 * gets its own process group so a timeout kills everything it started.
 */
export async function run(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('run: empty argv');
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const child = execa(file, args, {
    reject: false,
    detached: true,
    extendEnv: false,
    env: { PATH: STD_PATH, ...opts.env },
    ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid);
  }, timeoutMs);
  const r = await child.finally(() => clearTimeout(timer));
  const note = timedOut ? `\n[lab] timed out after ${timeoutMs} ms` : r.exitCode === undefined ? `\n[lab] ${r.message}` : '';
  const result: ExecResult = {
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? '') + note,
    exitCode: r.exitCode ?? (timedOut ? 124 : 128),
  };
  if ((opts.reject ?? true) && (result.exitCode !== 0 || timedOut)) {
    throw new Error(`command failed (exit ${result.exitCode}): ${argv.join(' ')}\n${result.stderr.trim()}`);
  }
  return result;
}

export const inNs = (ns: string, argv: string[]): string[] => ['ip', 'netns', 'exec', ns, ...argv];

/** A long-running process inside a namespace whose output lines we follow. */
export interface Background {
  pid: number | undefined;
  /** its stdout lines (and stderr's too when started with `mergeStderr`) */
  lines: string[];
  /** the last 4 kB of its stderr, for error messages */
  stderr: string;
  exited: boolean;
  /** Resolves with the first line (including past ones) matching `pred`, or undefined on timeout/exit. */
  waitLine(pred: (line: string) => boolean, timeoutMs: number, fromIndex?: number): Promise<string | undefined>;
  /** SIGTERM to its process group, SIGKILL after graceMs; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
  /** Sends a signal to its process group. */
  signal(signal: NodeJS.Signals): void;
  /** Resolves once it has exited on its own (true), or false after timeoutMs. */
  waitExit(timeoutMs: number): Promise<boolean>;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  /** Follow stderr lines in `lines` too (daemons that log to stderr). */
  mergeStderr?: boolean;
}

export function spawnBackground(ns: string, argv: string[], opts: SpawnOptions = {}): Background {
  const [file, ...args] = inNs(ns, argv) as [string, ...string[]];
  const child: ResultPromise = execa(file, args, {
    reject: false,
    detached: true,
    extendEnv: false,
    env: { PATH: STD_PATH, ...opts.env },
    stdin: 'ignore',
    buffer: false,
    all: opts.mergeStderr === true,
  });
  const waiters = new Set<() => void>();
  const exitWaiters = new Set<() => void>();
  const bg: Background = {
    pid: child.pid,
    lines: [],
    stderr: '',
    exited: false,
    waitLine: (pred, timeoutMs, fromIndex = 0) =>
      new Promise((resolve) => {
        const check = (): boolean => {
          const hit = bg.lines.slice(fromIndex).find(pred);
          if (hit !== undefined || bg.exited) finish(hit);
          return hit !== undefined;
        };
        const finish = (value: string | undefined): void => {
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(value);
        };
        const wake = (): void => void check();
        const timer = setTimeout(() => finish(undefined), timeoutMs);
        waiters.add(wake);
        check();
      }),
    waitExit: (timeoutMs) =>
      new Promise((resolve) => {
        if (bg.exited) return resolve(true);
        const done = (): void => {
          clearTimeout(timer);
          exitWaiters.delete(done);
          resolve(bg.exited);
        };
        const timer = setTimeout(done, timeoutMs);
        exitWaiters.add(done);
      }),
    signal: (signal) => {
      if (!bg.exited) killGroup(bg.pid, signal);
    },
    stop: async (graceMs = 2000) => {
      if (bg.exited) return;
      killGroup(bg.pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(bg.pid, 'SIGKILL'), graceMs);
      await child.catch(() => undefined);
      clearTimeout(timer);
    },
  };
  const notify = (): void => [...waiters].forEach((w) => w());
  const followed = opts.mergeStderr ? child.all : child.stdout;
  if (followed) createInterface({ input: followed }).on('line', (line) => { bg.lines.push(line); notify(); });
  child.stderr?.on('data', (chunk: Buffer) => { bg.stderr = (bg.stderr + chunk.toString()).slice(-4096); });
  const exited = (): void => {
    bg.exited = true;
    notify();
    [...exitWaiters].forEach((w) => w());
  };
  void child.then(exited, exited);
  return bg;
}
