/**
 * The three kinds of failure multiwan reports. Each carries a message written
 * for the admin; only src/entry/run-main.ts turns them into exit codes.
 */

/** The config file or an event's input is wrong: what, where, how to fix. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(message: string, readonly problems: string[] = [message]) {
    super(message);
  }
}

/** An external program failed: argv, exit code and stderr. */
export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | undefined,
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')} failed (exit ${exitCode ?? 'signal'}): ${firstLine(stderr) || 'no output'}`);
  }
}

/** A bug in multiwan itself. */
export class InternalError extends Error {
  override name = 'InternalError';
}

export const exitCodes = { ok: 0, config: 1, command: 2, internal: 70 } as const;

function firstLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).slice(0, 3).join(' / ');
}
