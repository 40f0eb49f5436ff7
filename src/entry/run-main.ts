/**
 * The only place errors become exit codes. One line per problem to stderr and
 * to syslog (the hooks run unattended), never a stack trace for an expected
 * failure.
 */
import { runCommand } from '../apply/run-command.js';
import { sendToSyslog } from '../log/send-to-syslog.js';
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
    const { lines, exitCode } = describe(error);
    for (const line of lines) process.stderr.write(`${name}: ${line}\n`);
    await Promise.all(
      lines.map((line) =>
        runCommand(['logger', '-t', 'multiwan', '-p', 'daemon.err', '--', `${name}: ${line}`], { timeoutMs: 2000 }).catch(
          () => undefined,
        ),
      ),
    );
    code = exitCode;
  }
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

function describe(error: unknown): { lines: string[]; exitCode: number } {
  if (error instanceof ConfigError) return { lines: error.problems, exitCode: exitCodes.config };
  if (error instanceof CommandError) return { lines: [error.message], exitCode: exitCodes.command };
  if (error instanceof RuntimeError) return { lines: [error.message], exitCode: exitCodes.runtime };
  // A file-system or process error no layer wrapped: still the system's, not a bug.
  if (isErrnoError(error)) return { lines: [systemErrorMessage(error)], exitCode: exitCodes.runtime };
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return {
    lines: [`internal error, please report it: ${text.split('\n').slice(0, 4).join(' | ')}`],
    exitCode: exitCodes.internal,
  };
}
