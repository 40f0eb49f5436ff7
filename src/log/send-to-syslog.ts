/**
 * Hooks have no terminal: what they say also goes to syslog (the journal on
 * systemd machines), tag `multiwan`, one message a line, through one
 * `logger` process fed on stdin. It returns once the lines are in logger's
 * pipe (logger reads them after we exit, if need be), at most `timeoutMs`:
 * a hook does not wait for logger to finish, and a missing or failing logger
 * is never an error of the event being logged.
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
        detached: true,
        stdio: ['pipe', 'ignore', 'ignore'],
        env: { LC_ALL: 'C', PATH: process.env.PATH || '/usr/sbin:/usr/bin:/sbin:/bin' },
      });
    } catch {
      return resolve();
    }
    const timer = setTimeout(resolve, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    child.on('error', done);
    child.unref();
    child.stdin.on('error', done);
    // 'finish': every byte handed to the pipe (usually at once: a few lines fit its buffer).
    child.stdin.end(lines.map((line) => line.replace(/[\r\n]+/g, ' ')).join('\n') + '\n', done);
  });
}
