/**
 * Hooks have no terminal: what they say also goes to syslog (the journal on
 * systemd machines), tag `multiwan`, one message a line, through one
 * `logger` process fed on stdin. Waits until logger has taken the lines, at
 * most `timeoutMs`; a missing or failing logger is never an error of the
 * event being logged.
 */
import { spawn } from 'node:child_process';

export type Priority = 'err' | 'warning' | 'notice' | 'info';

export function sendToSyslog(lines: readonly string[], priority: Priority = 'info', timeoutMs = 2000): Promise<void> {
  if (!lines.length) return Promise.resolve();
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn('logger', ['-t', 'multiwan', '-p', `daemon.${priority}`], {
        shell: false,
        stdio: ['pipe', 'ignore', 'ignore'],
        env: { LC_ALL: 'C', PATH: process.env.PATH || '/usr/sbin:/usr/bin:/sbin:/bin' },
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
      });
    } catch {
      return resolve();
    }
    child.on('error', () => resolve());
    child.on('close', () => resolve());
    child.stdin.on('error', () => undefined);
    child.stdin.end(lines.map((line) => line.replace(/[\r\n]+/g, ' ')).join('\n') + '\n');
  });
}
