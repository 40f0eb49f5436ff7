/**
 * The kinds of failure multiwan reports. Each carries a message written for
 * the admin; only src/entry/run-main.ts turns them into exit codes.
 */

/** The config file or an event's input is wrong: what, where, how to fix. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(message: string, readonly problems: string[] = [message]) {
    super(message);
  }
}

/** An external program failed: argv, exit code and stderr, and what that left behind. */
export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | undefined,
    readonly stderr: string,
    /** What it means for the routing ("the previous routing is restored"). */
    readonly outcome?: string,
  ) {
    super(`${argv.join(' ')} failed (${exitCode === undefined ? 'did not run' : `exit ${exitCode}`}): ${firstLine(stderr) || 'no output'}${outcome ? `; ${outcome}` : ''}`);
  }

  /** The same failure with what it left behind said. */
  withOutcome(outcome: string): CommandError {
    return new CommandError(this.argv, this.exitCode, this.stderr, outcome);
  }
}

/** The system refused: a file that cannot be written, a lock that cannot be had. */
export class RuntimeError extends Error {
  override name = 'RuntimeError';
}

/** A bug in multiwan itself. */
export class InternalError extends Error {
  override name = 'InternalError';
}

export const exitCodes = { ok: 0, config: 1, command: 2, runtime: 3, internal: 70 } as const;

/** A file-system or process error (errno) as one plain line. */
export function systemErrorMessage(error: NodeJS.ErrnoException, what?: string): string {
  const code = error.code ?? 'error';
  const plain = errnoText[code] ?? error.message.replace(/^\w+: /, '').split(',')[0] ?? code;
  const target = what ?? [error.syscall, error.path].filter(Boolean).join(' ');
  return `${target ? `${target}: ` : ''}${plain} (${code})`;
}

export function isErrnoError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && typeof (error as NodeJS.ErrnoException).errno === 'number';
}

const errnoText: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EEXIST: 'already exists',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EAGAIN: 'resource temporarily unavailable',
  ENOMEM: 'out of memory',
  EIO: 'input/output error',
};

function firstLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).slice(0, 3).join(' / ');
}
