/**
 * The one place multiwan runs external programs: argument arrays, never a
 * shell, C locale, bounded time. A failure becomes a CommandError carrying
 * argv, exit code and stderr. Unit tests pass a recorder instead.
 *
 * Built on node:child_process rather than execa: in a hook pppd runs with a
 * cleared environment, loading execa measured +21 ms and its first call +7 ms
 * on top of Node's own ~30 ms start, against a budget of 1.5x a shell script
 * (see README, "Design"). The contract is the same: argv in, no shell.
 */
import { spawn } from 'node:child_process';
import { CommandError } from '../errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  input?: string;
  /** Exit codes that are not failures (conntrack -D exits 1 when nothing matched). */
  okCodes?: readonly number[];
  timeoutMs?: number;
}

export type Runner = (argv: readonly string[], options?: RunOptions) => Promise<RunResult>;

export const runCommand: Runner = (argv, options = {}) =>
  new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    if (!file) return reject(new CommandError(argv, undefined, 'empty command'));
    const child = spawn(file, args, {
      shell: false,
      env: { LC_ALL: 'C', PATH: process.env.PATH || '/usr/sbin:/usr/bin:/sbin:/bin' },
      timeout: options.timeoutMs ?? 15_000,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdin.on('error', () => undefined);
    child.on('error', (error) => reject(new CommandError(argv, undefined, error.message)));
    child.on('close', (code, signal) => {
      const exitCode = code ?? -1;
      if ((options.okCodes ?? [0]).includes(exitCode)) resolve({ stdout, stderr, exitCode });
      else reject(new CommandError(argv, code ?? undefined, stderr || (signal ? `killed by ${signal}` : '')));
    });
    child.stdin.end(options.input ?? '');
  });
