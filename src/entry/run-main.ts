/**
 * The only place errors become exit codes. One line per problem to stderr and
 * to syslog (the hooks run unattended), never a stack trace for an expected
 * failure.
 */
import { sendToSyslog } from '../log/send-to-syslog.js';
import { flushSyslog, logToSyslog } from '../log/syslog-buffer.js';
import { NOTIFY_JOB_VARIABLE, parseNotifyJob } from '../notify/notify-job.js';
import { runNotifyJob } from '../notify/run-notify-job.js';
import { CommandError, ConfigError, exitCodes, isErrnoError, RuntimeError, systemErrorMessage } from '../errors.js';

export async function runMain(name: string, main: () => Promise<number | void>): Promise<never> {
  // Started again by a hook or the monitor as the detached notify runner (start-notify.ts).
  const job = process.env[NOTIFY_JOB_VARIABLE];
  if (job !== undefined) return runNotifyRunner(job);
  let code: number;
  try {
    code = (await main()) ?? exitCodes.ok;
  } catch (error) {
    const { lines, exitCode } = describe(error, debugWanted());
    for (const line of lines) {
      process.stderr.write(`${name}: ${line}\n`);
      logToSyslog(`${name}: ${line}`, 'err');
    }
    code = exitCode;
  }
  await flushSyslog();
  // Leave now rather than when the event loop drains: a hook's latency is
  // pppd's. Writes to pipes, files and terminals are synchronous on Linux, so
  // nothing printed is lost.
  process.exit(code);
}

async function runNotifyRunner(text: string): Promise<never> {
  const lines: string[] = [];
  const job = parseNotifyJob(text);
  if (job) await runNotifyJob(job, (line) => lines.push(line)).catch((error: unknown) => lines.push(`notify: ${String(error)}`));
  await sendToSyslog(lines, 'notice');
  process.exit(0);
}

/** `--debug` anywhere on the command line, or MULTIWAN_DEBUG=1: an internal error shows its stack. */
function debugWanted(): boolean {
  return process.argv.includes('--debug') || process.env.MULTIWAN_DEBUG === '1';
}

function describe(error: unknown, debug: boolean): { lines: string[]; exitCode: number } {
  if (error instanceof ConfigError) return { lines: error.problems, exitCode: exitCodes.config };
  if (error instanceof CommandError) return { lines: [error.message], exitCode: exitCodes.command };
  if (error instanceof RuntimeError) return { lines: [error.message], exitCode: exitCodes.runtime };
  // A file-system or process error no layer wrapped: still the system's, not a bug.
  if (isErrnoError(error)) return { lines: [systemErrorMessage(error)], exitCode: exitCodes.runtime };
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  const stack = debug && error instanceof Error && error.stack ? error.stack.split('\n').slice(1).map((l) => `  ${l.trim()}`) : [];
  return {
    lines: [`internal error, please report it (run it again with --debug for the stack): ${message}`, ...stack],
    exitCode: exitCodes.internal,
  };
}
