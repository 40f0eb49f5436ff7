// End to end, issue 9 item 3: notify hooks. Executables in notify.d beside
// the config (the lab binds its config dir over /etc/multiwan, and the
// monitor reads the same dir through MULTIWAN_CONFIG) run after every
// transition, detached, each bounded to 10 s. Checked with real scripts:
// - a recorder that appends its MULTIWAN_* environment to a file gets
//   exactly one call per transition, from pppd's ip-up/ip-down (through
//   Debian's /etc/ppp/ip-up in the router sandbox) and from the monitor's
//   verdicts (an ISP silently dropping everything, then recovering), with the
//   right link, interface, event, reason and links in service;
// - a script that hangs (sleep 60) delays nothing: pppd's hook takes about
//   as long as without it, the routing change is in the kernel when the hook
//   returns, the recorder beside it still runs at once, and the hanging
//   script's whole process group is gone ~10 s after it started;
// - the runner logs each script's exit status and output (read through a
//   stand-in logger(1) bound in the router sandbox: this machine may have no
//   /dev/log, and nothing must reach the host's syslog), and never runs a
//   script its group may write or a name run-parts would skip.
import { readFileSync, readdirSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, needsRoot, sandboxExec, type BackgroundProcess, type Lab } from '../lab/lab.js';
import { balance, dist, ispFault, sleep, startMonitor, within } from './helpers.js';

const skip = needsRoot();

const CONFIG = `
lan = ["192.168.10.0/24"]

[link.isp1]
interface = "ppp0"
check = { targets = ["198.51.100.10", "203.0.113.2"], interval = "200ms", down = 3, up = 3 }

[link.isp2]
interface = "ppp1"
check = { targets = ["198.51.100.10", "203.0.113.6"], interval = "200ms", down = 3, up = 3 }
`;

// One line per call, written at once: the time (ms) and every MULTIWAN_
// variable it was given, tab-separated. The file is beside notify.d, found
// from the script's own path (/etc/multiwan/notify.d in the sandbox, the
// lab's config dir for the monitor: the same directory).
const RECORDER = `#!/bin/sh
vars=$(env | grep '^MULTIWAN_' | sort | tr '\\n' '\\t')
printf 'at=%s\\t%s\\n' "$(date +%s%3N)" "$vars" >>"\${0%/*}/../notify.log"
echo "recorded $MULTIWAN_LINK $MULTIWAN_EVENT"
`;

// Says its process group (its pid: the runner starts each script in a group
// of its own) and when it started, then hangs in a child.
const HANG = `#!/bin/sh
printf '%s %s\\n' "$$" "$(date +%s%3N)" >>"\${0%/*}/../hang.log"
echo "hanging for $MULTIWAN_LINK $MULTIWAN_EVENT"
sleep 60
`;

interface Call {
  at: number;
  env: Record<string, string>;
}

const TIMEOUT_MS = 10_000;

/** Runs a program in the router sandbox with a stand-in logger(1) (see the fixture). */
const WITH_LOGGER = path.resolve('test/e2e/fixtures/notify-with-logger.sh');
/** Debian's /etc/ppp/ip-up hides a hook's failure in run-parts' output. */
const HOOK_FAILED = /exited with return code|exited because of uncaught signal|terminated by signal/;

describe.skipIf(!!skip)(`notify hooks end to end${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let l: Lab;
  let monitor: BackgroundProcess | undefined;
  const figures: Record<string, unknown> = {};
  const notifyDir = () => path.join(l.dirs.etc, 'notify.d');

  const calls = async (): Promise<Call[]> => {
    const text = await readFile(path.join(l.dirs.etc, 'notify.log'), 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean).map((line) => {
      const [at, ...vars] = line.split('\t').filter(Boolean);
      return { at: Number(at!.slice(3)), env: Object.fromEntries(vars.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])) };
    });
  };
  /** Waits (bounded) for the recorder's call number `n` (1-based); its environment. */
  const nthCall = async (n: number, timeoutMs = 3000): Promise<Call> => {
    await within(timeoutMs, async () => (await calls()).length >= n, 25);
    const all = await calls();
    expect(all.length, `recorder calls so far: ${JSON.stringify(all.map((c) => c.env))}`).toBeGreaterThanOrEqual(n);
    return all[n - 1]!;
  };
  const expected = (link: string, iface: string, event: string, reason: string, inService: string) => ({
    MULTIWAN_LINK: link,
    MULTIWAN_IFACE: iface,
    MULTIWAN_EVENT: event,
    MULTIWAN_REASON: reason,
    MULTIWAN_IN_SERVICE: inService,
  });
  const ppp = async (action: 'up' | 'down', iface: string): Promise<number> => {
    const started = Date.now();
    const r = await l.ppp(action, iface);
    const took = Date.now() - started;
    expect(r.hookFailed, `ip-${action} ${iface}: ${r.stdout}${r.stderr}`).toBe(false);
    return took;
  };
  /**
   * pppd's ip-up/ip-down as lab.ppp() runs them, but with a logger(1) that
   * appends to syslog.txt in the lab: what the hook and its notify runner log.
   */
  const pppLogged = async (action: 'up' | 'down', iface: string): Promise<number> => {
    const u = l.uplinks.find((x) => x.iface === iface)!;
    const started = Date.now();
    const r = await sandboxExec(l, ['sh', WITH_LOGGER, fakeLogger(), 'env', '-i', `/etc/ppp/ip-${action}`, iface, '/dev/ttyS0', '115200', u.v4.local, u.v4.peer!, ''], {
      reject: false,
    });
    const took = Date.now() - started;
    expect(r.exitCode !== 0 || HOOK_FAILED.test(r.stdout + r.stderr), `ip-${action} ${iface}: ${r.stdout}${r.stderr}`).toBe(false);
    return took;
  };
  const fakeLogger = () => path.join(l.dirs.root, 'logger');
  const syslog = () => readFile(path.join(l.dirs.root, 'syslog.txt'), 'utf8').catch(() => '');
  const install = async (name: string, text: string) => {
    const file = path.join(notifyDir(), name);
    await writeFile(file, text);
    await chmod(file, 0o755);
  };

  beforeAll(async () => {
    l = await createLab({ links: 2 });
    await l.installHooks(dist('ip-up'), dist('ip-down'));
    await l.writeConfig(CONFIG);
    await mkdir(notifyDir(), { mode: 0o755 });
    await chmod(notifyDir(), 0o755);
    await install('record', RECORDER);
    await writeFile(fakeLogger(), `#!/bin/sh\n# logger(1) stand-in: its arguments, then the lines\n{ echo "logger $*"; cat; } >>"${path.join(l.dirs.root, 'syslog.txt')}"\n`);
    await chmod(fakeLogger(), 0o755);
  });

  afterAll(async () => {
    // The hanging scripts this suite started, should a failure have left any.
    const hung = await readFile(path.join(l?.dirs.etc ?? '/nonexistent', 'hang.log'), 'utf8').catch(() => '');
    for (const pid of hung.split('\n').map((line) => Number(line.split(' ')[0])).filter((pid) => pid > 1)) {
      if (groupAlive(pid)) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    await monitor?.stop();
    await l?.destroy();
    console.log(`[notify] figures: ${JSON.stringify(figures)}`);
  });

  it("each transition, from pppd's hooks and from the monitor, gives exactly one call with the right MULTIWAN_* variables", async () => {
    let n = 0;
    const step = async (what: () => Promise<unknown>, want: Record<string, string>) => {
      const before = Date.now();
      await what();
      const call = await nthCall(++n, 8000);
      expect(call.env, `call ${n}`).toEqual(want);
      expect(call.at).toBeGreaterThanOrEqual(before - 50);
      return call.at - before;
    };

    const delays: number[] = [];
    delays.push(await step(() => ppp('up', 'ppp0'), expected('isp1', 'ppp0', 'up', 'ip-up', 'isp1')));
    delays.push(await step(() => ppp('up', 'ppp1'), expected('isp2', 'ppp1', 'up', 'ip-up', 'isp1,isp2')));

    monitor = await startMonitor(l);
    const faulted = Date.now();
    await ispFault(l, 'isp1', 'drop');
    const out = await nthCall(++n, 8000);
    expect(out.env).toEqual(expected('isp1', 'ppp0', 'out-of-service', 'probes', 'isp2'));
    figures.outOfServiceCallMs = out.at - faulted;
    // The monitor prints its line after the kernel changed: wait for it.
    expect(await monitor.waitLine((line) => line.startsWith('isp1 (ppp0): out of service'), 2000), monitor.lines.join('\n')).toBeDefined();
    expect(await balance(l)).not.toContain('ppp0');

    const recovered = Date.now();
    await ispFault(l, 'isp1', undefined);
    const back = await nthCall(++n, 8000);
    expect(back.env).toEqual(expected('isp1', 'ppp0', 'in-service', 'probes', 'isp1,isp2'));
    figures.inServiceCallMs = back.at - recovered;

    delays.push(await step(() => ppp('down', 'ppp1'), expected('isp2', 'ppp1', 'down', 'ip-down', 'isp1')));
    delays.push(await step(() => ppp('down', 'ppp0'), expected('isp1', 'ppp0', 'down', 'ip-down', '')));
    figures.hookToCallMs = delays;

    // Exactly one call each: nothing more arrives.
    await monitor.stop();
    monitor = undefined;
    await sleep(1500);
    expect((await calls()).length, JSON.stringify((await calls()).map((c) => c.env))).toBe(n);
  });

  it('a script that hangs delays nothing: the hook takes about as long as without it, the recorder still runs at once, and the script is killed at 10 s', async () => {
    const ROUNDS = 3;
    const timed = async () => {
      const times: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        const seen = (await calls()).length;
        times.push(await pppLogged('up', 'ppp0'));
        // The routing change is in the kernel when the hook returns.
        expect(await balance(l)).toMatch(/^default .*dev ppp0/m);
        const up = await nthCall(seen + 1);
        expect(up.env).toEqual(expected('isp1', 'ppp0', 'up', 'ip-up', 'isp1'));
        times.push(await pppLogged('down', 'ppp0'));
        expect(await balance(l)).not.toContain('ppp0');
        const down = await nthCall(seen + 2);
        expect(down.env).toEqual(expected('isp1', 'ppp0', 'down', 'ip-down', ''));
      }
      return times;
    };
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

    // Never run: a script its group may write (the config's rules), and a name run-parts would skip.
    const UNSAFE = `#!/bin/sh\necho "$0" >>"\${0%/*}/../unsafe.log"\n`;
    await install('group-writable', UNSAFE);
    await chmod(path.join(notifyDir(), 'group-writable'), 0o775);
    await install('record.dpkg-old', UNSAFE);

    const without = await timed();
    await install('hang', HANG);
    const recorded = (await calls()).length;
    const withHang = await timed();
    const callsDuringHang = (await calls()).slice(recorded);
    figures.hookMsWithout = without;
    figures.hookMsWithHangingScript = withHang;
    // "About the same": a hook that waited for the script would take 10 s.
    expect(median(withHang), `hook run times without ${without} and with ${withHang} the hanging script`).toBeLessThan(median(without) * 2 + 500);
    expect(Math.max(...withHang)).toBeLessThan(3000);
    expect(callsDuringHang).toHaveLength(2 * ROUNDS);

    // One hanging script per transition, each in a process group of its own.
    const hangs = (await readFile(path.join(l.dirs.etc, 'hang.log'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => ({ pgid: Number(line.split(' ')[0]), started: Number(line.split(' ')[1]) }));
    expect(hangs).toHaveLength(2 * ROUNDS);
    const first = Math.min(...hangs.map((h) => h.started));
    // Still there shortly before the bound: the script did hang, and was not cut short.
    await sleep(Math.max(0, first + TIMEOUT_MS - 1000 - Date.now()));
    const early = hangs.filter((h) => h.started === first && !groupAlive(h.pgid));
    expect(early, 'the first hanging script was gone before 9 s').toEqual([]);

    const goneAfter = new Map<number, number>();
    await within(TIMEOUT_MS + 5000, async () => {
      for (const h of hangs) if (!goneAfter.has(h.pgid) && !groupAlive(h.pgid)) goneAfter.set(h.pgid, Date.now() - h.started);
      return goneAfter.size === hangs.length;
    }, 50);
    figures.hangingScriptLifetimeMs = hangs.map((h) => goneAfter.get(h.pgid));
    const lifetimes = hangs.map((h) => goneAfter.get(h.pgid) ?? Infinity);
    expect(lifetimes.filter((ms) => !(ms >= TIMEOUT_MS - 500 && ms <= TIMEOUT_MS + 1500)), `lifetimes ${lifetimes}`).toEqual([]);

    // The runner's log: each script's exit status and output, one line each (sent once all are done).
    const runnerLines = async () => (await syslog()).split('\n').filter((line) => line.startsWith('notify: '));
    await within(5000, async () => (await runnerLines()).filter((line) => line.includes('/hang ')).length >= 2 * ROUNDS, 100);
    const lines = await runnerLines();
    for (const event of ['up', 'down']) {
      expect(lines.filter((line) => line === `notify: /etc/multiwan/notify.d/hang (isp1 ${event}): killed after 10 s: hanging for isp1 ${event}`), lines.join('\n')).toHaveLength(ROUNDS);
      // The recorder's lines of both phases (before and beside the hanging script).
      expect(lines.filter((line) => line === `notify: /etc/multiwan/notify.d/record (isp1 ${event}): exit 0: recorded isp1 ${event}`), lines.join('\n')).toHaveLength(2 * ROUNDS);
    }
    expect(await readFile(path.join(l.dirs.etc, 'unsafe.log'), 'utf8').catch(() => ''), 'scripts that must not run').toBe('');
    expect(lines.filter((line) => line.startsWith('notify: not running /etc/multiwan/notify.d/group-writable: ') && line.includes('writable by its group'))).toHaveLength(4 * ROUNDS);
    expect(lines.filter((line) => line.includes('dpkg-old'))).toEqual([]);
    // The hooks themselves logged their change too.
    expect(await syslog()).toContain('isp1 (ppp0) up; in service: isp1');
  }, 60_000);
});

/** Whether a process of this process group is still running (zombies count as gone: PID 1 here reaps late). */
function groupAlive(pgid: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}
