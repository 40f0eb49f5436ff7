/**
 * One long-lived iputils `ping` per target, supervised: started once, read
 * line by line, restarted with a bounded backoff (100 ms doubling to 5 s) when
 * it exits. While it is down its target simply gets no replies, so it counts
 * as failing. Never a process per probe.
 *
 *   ping -n -O -l 2 -I <source> -i <spacing s> <target>
 *
 * `-O` reports each probe that got no reply when the next one leaves;
 * `-I <address>` binds the source so that the `from <local> lookup <table>`
 * rule sends the probe through the link under test; `-l 2` lets ping catch up
 * when it wakes late (measured: `-i 0.066` alone sends every 72 ms on
 * average, with `-l 2` every 66 ms, so a window gets its `count` probes).
 * Spacing below 0.2 s needs root (or CAP_NET_RAW), which the monitor has.
 *
 * No shell: spawn with an argument array, C locale, a minimal environment.
 * If the monitor dies without stop(), each ping dies of SIGPIPE at its next
 * output line (within one spacing): its stdout is a pipe only we read.
 */
import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';
import { parseAddress } from '../net/address.js';
import { parsePingLine } from './parse-ping-line.js';
import { newPingSeqState, pingProbeEvents, type ProbeEvent } from './probe-window.js';

export interface PingProcessOptions {
  source: string;
  target: string;
  spacingMs: number;
}

export interface PingProcessDeps {
  spawn?: typeof nodeSpawn;
  /** One line per noteworthy thing (exit, restart). */
  log?: (message: string) => void;
}

export interface PingProcess {
  /** SIGTERM, SIGKILL after STOP_GRACE_MS; resolves once the process is gone and no timer is left. */
  stop(): Promise<void>;
}

export const PING_BACKOFF = { firstMs: 100, maxMs: 5000, /** a run this long resets the backoff */ stableMs: 5000 } as const;
const STOP_GRACE_MS = 1000;
/** After SIGKILL, give up waiting for the exit event (a process stuck in the kernel) after this. */
const KILL_WAIT_MS = 2000;
const MAX_LINE = 4096;

/** The argv of the ping for one target. Addresses must be canonical (parseAddress). */
export function pingArgv(options: PingProcessOptions): string[] {
  return ['ping', '-n', '-O', '-l', '2', '-I', options.source, '-i', (options.spacingMs / 1000).toFixed(3), options.target];
}

export function startPingProcess(
  options: PingProcessOptions,
  onEvent: (event: ProbeEvent) => void,
  deps: PingProcessDeps = {},
): PingProcess {
  const source = parseAddress(options.source);
  const target = parseAddress(options.target);
  if (!source || !target || !(Number.isInteger(options.spacingMs) && options.spacingMs >= 1)) {
    throw new TypeError(`ping: bad options ${JSON.stringify(options)}`);
  }
  const argv = pingArgv({ ...options, source: source.address, target: target.address });
  const spawn = deps.spawn ?? nodeSpawn;
  const log = deps.log ?? (() => undefined);

  let stopping: Promise<void> | undefined;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let restartTimer: NodeJS.Timeout | undefined;
  let backoffMs: number = PING_BACKOFF.firstMs;

  const start = (): void => {
    restartTimer = undefined;
    const startedAt = performance.now();
    let seqState = newPingSeqState();
    let stderrTail = '';
    let gone = false;
    const [file, ...args] = argv as [string, ...string[]];
    const proc = spawn(file, args, {
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { LC_ALL: 'C', PATH: process.env.PATH || '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    child = proc;
    let markExited: () => void = () => undefined;
    exited = new Promise((resolve) => (markExited = resolve));

    const onGone = (why: string): void => {
      if (gone) return;
      gone = true;
      if (child === proc) child = undefined;
      markExited();
      if (stopping) return;
      const ranMs = performance.now() - startedAt;
      if (ranMs >= PING_BACKOFF.stableMs) backoffMs = PING_BACKOFF.firstMs;
      const detail = stderrTail.trim().split('\n').at(-1);
      log(`ping ${target.address} from ${source.address} ${why}${detail ? `: ${detail}` : ''}; restarting in ${backoffMs} ms`);
      restartTimer = setTimeout(start, backoffMs);
      backoffMs = Math.min(backoffMs * 2, PING_BACKOFF.maxMs);
    };

    proc.on('error', (error) => {
      // Also emitted when a signal could not be sent; only a failed spawn means it is gone.
      if (proc.pid === undefined) onGone(`could not run: ${error.message}`);
      else log(`ping ${target.address}: ${error.message}`);
    });
    proc.on('exit', (code, signal) => onGone(signal ? `killed by ${signal}` : `exited with code ${code}`));
    proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderrTail = (stderrTail + chunk).slice(-MAX_LINE)));
    proc.stdout?.setEncoding('utf8');
    let pending = '';
    proc.stdout?.on('data', (chunk: string) => {
      if (stopping) return;
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      if (pending.length > MAX_LINE) pending = '';
      for (const line of lines) {
        const next = pingProbeEvents(seqState, parsePingLine(line));
        seqState = next.state;
        for (const event of next.events) onEvent(event);
      }
    });
  };

  start();

  return {
    stop: () => {
      stopping ??= (async () => {
        clearTimeout(restartTimer);
        restartTimer = undefined;
        const proc = child;
        if (!proc) return;
        const wait = exited;
        proc.kill('SIGTERM');
        await boundedWait(wait, STOP_GRACE_MS, () => proc.kill('SIGKILL'));
        await boundedWait(wait, KILL_WAIT_MS, () =>
          log(`ping ${target.address} (pid ${proc.pid}) did not exit ${STOP_GRACE_MS + KILL_WAIT_MS} ms after SIGTERM`),
        );
        proc.stdout?.destroy();
        proc.stderr?.destroy();
      })();
      return stopping;
    },
  };
}

/** Waits for `done`, or calls onTimeout after `ms` and resolves. Leaves no timer behind. */
async function boundedWait(done: Promise<void>, ms: number, onTimeout: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), ms)));
  const timedOut = await Promise.race([done.then(() => false), expired]);
  clearTimeout(timer);
  if (timedOut) onTimeout();
}
