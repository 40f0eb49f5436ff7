/**
 * What a short-lived process (a hook, a `multiwan` command) says for the log
 * is kept here and handed to syslog in one `logger` round when it exits
 * (src/entry/run-main.ts): one spawn per event, not per line. The monitor
 * runs for a long time and logs to its stdout, which is the journal.
 */
import { sendToSyslog, type Priority } from './send-to-syslog.js';

const pending: { line: string; priority: Priority }[] = [];

export function logToSyslog(line: string, priority: Priority = 'info'): void {
  pending.push({ line, priority });
}

/** Sends what is pending, one logger per priority; bounded in time, never failing. */
export async function flushSyslog(): Promise<void> {
  const lines = pending.splice(0);
  const priorities = [...new Set(lines.map((l) => l.priority))];
  await Promise.all(priorities.map((p) => sendToSyslog(lines.filter((l) => l.priority === p).map((l) => l.line), p)));
}
