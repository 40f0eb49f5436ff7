/**
 * Carrier and address changes from the kernel as they happen: one long-lived
 * `ip -o monitor link address` (netlink events, no polling), restarted with a
 * bounded backoff if it ever exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { parseIpMonitorLine, type IpMonitorEvent } from './parse-ip-monitor.js';

export interface LinkWatcher {
  stop(): void;
}

export function watchLinks(onEvent: (event: IpMonitorEvent) => void, onError: (message: string) => void): LinkWatcher {
  let child: ChildProcess | undefined;
  let stopped = false;
  let backoff = 100;
  let timer: NodeJS.Timeout | undefined;

  const start = () => {
    const started = Date.now();
    child = spawn('ip', ['-o', 'monitor', 'link', 'address'], {
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { LC_ALL: 'C', PATH: process.env.PATH || '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    let buffer = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        const event = parseIpMonitorLine(line);
        if (event.kind !== 'other') onEvent(event);
      }
    });
    child.on('error', (error) => onError(`ip monitor: ${error.message}`));
    child.on('close', (code) => {
      if (stopped) return;
      if (Date.now() - started > 10_000) backoff = 100;
      onError(`ip monitor exited (${code ?? 'signal'}); restarting in ${backoff} ms`);
      timer = setTimeout(start, backoff);
      backoff = Math.min(backoff * 2, 5000);
    });
  };
  start();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      child?.kill('SIGTERM');
    },
  };
}
