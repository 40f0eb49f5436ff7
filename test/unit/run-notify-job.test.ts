// The notify runner with real scripts in a temp notify.d: the variables each
// transition gives, run-parts names, the safety rules of the config, and a
// script that hangs killed with its children at the bound.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isNotifyName, notifyEnv, parseNotifyJob } from '../../src/notify/notify-job.js';
import { runNotifyJob } from '../../src/notify/run-notify-job.js';

let dir: string;
let out: string;
beforeEach(() => {
  const root = mkdtempSync(join(tmpdir(), 'mw-notify-'));
  dir = join(root, 'notify.d');
  out = join(root, 'calls');
  mkdirSync(dir, { mode: 0o755 });
});
afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

const script = (name: string, body: string, mode = 0o755) => {
  writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
  chmodSync(join(dir, name), mode);
};
const up = { link: 'isp1', iface: 'ppp0', event: 'up' as const, reason: 'ip-up' };
const out2 = { link: 'isp2', iface: 'ppp1', event: 'out-of-service' as const, reason: 'probes' };

describe('runNotifyJob', () => {
  it('each transition, in order: every script once, with exactly its variables', async () => {
    script('10-record', `env | grep -E '^MULTIWAN_' | sort | tr '\\n' ' ' >> ${out}; echo >> ${out}; echo recorded`);
    const lines: string[] = [];
    await runNotifyJob({ dir, transitions: [up, out2], inService: ['isp1'] }, (l) => lines.push(l));
    expect(readFileSync(out, 'utf8').trim().split('\n').map((l) => l.trim())).toEqual([
      'MULTIWAN_EVENT=up MULTIWAN_IFACE=ppp0 MULTIWAN_IN_SERVICE=isp1 MULTIWAN_LINK=isp1 MULTIWAN_REASON=ip-up',
      'MULTIWAN_EVENT=out-of-service MULTIWAN_IFACE=ppp1 MULTIWAN_IN_SERVICE=isp1 MULTIWAN_LINK=isp2 MULTIWAN_REASON=probes',
    ]);
    expect(lines).toEqual([
      `notify: ${dir}/10-record (isp1 up): exit 0: recorded`,
      `notify: ${dir}/10-record (isp2 out-of-service): exit 0: recorded`,
    ]);
  });

  it('run-parts names only, executables only, and never a file others could have written', async () => {
    script('ok', 'echo fine');
    script('backup.sh', 'echo dot');
    script('notexec', 'echo no', 0o644);
    script('shared', 'echo group', 0o775);
    const lines: string[] = [];
    await runNotifyJob({ dir, transitions: [up], inService: [] }, (l) => lines.push(l));
    expect(lines).toEqual([
      `notify: not running ${dir}/shared: ${dir}/shared is writable by its group (mode 775); run chmod go-w ${dir}/shared`,
      `notify: ${dir}/ok (isp1 up): exit 0: fine`,
    ]);
  });

  it('a notify.d others can write is not run at all', async () => {
    script('ok', 'echo fine');
    chmodSync(dir, 0o777);
    const lines: string[] = [];
    await runNotifyJob({ dir, transitions: [up], inService: [] }, (l) => lines.push(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^notify: not running .*notify\.d: .* is writable by others \(mode 777\)/);
  });

  it('a script that hangs is killed at the bound, with what it started; the others finish', async () => {
    script('hang', `sleep 60 & echo $! > ${out}.child; echo started; wait`);
    script('quick', 'exit 3');
    const lines: string[] = [];
    const started = Date.now();
    await runNotifyJob({ dir, transitions: [up], inService: [] }, (l) => lines.push(l), 400);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(lines.sort()).toEqual([`notify: ${dir}/hang (isp1 up): killed after 0.4 s: started`, `notify: ${dir}/quick (isp1 up): exit 3`]);
    const child = Number(readFileSync(`${out}.child`, 'utf8'));
    await new Promise((r) => setTimeout(r, 100));
    // Gone, or a zombie waiting for whoever reaps orphans here: either way no longer running.
    const state = (() => {
      try {
        return /^State:\s+(\S)/m.exec(readFileSync(`/proc/${child}/status`, 'utf8'))?.[1];
      } catch {
        return 'gone';
      }
    })();
    expect(['gone', 'Z']).toContain(state);
  });
});

describe('notify job, pure parts', () => {
  it.each([['50-mail', true], ['a.sh', false], ['x~', false], ['', false]])('isNotifyName(%j) is %s', (name, ok) => expect(isNotifyName(name)).toBe(ok));
  it('the environment of one transition', () => {
    expect(notifyEnv(up, ['isp1', 'isp2'])).toEqual({ MULTIWAN_LINK: 'isp1', MULTIWAN_IFACE: 'ppp0', MULTIWAN_EVENT: 'up', MULTIWAN_REASON: 'ip-up', MULTIWAN_IN_SERVICE: 'isp1,isp2' });
  });
  it('a job survives its trip through the environment; garbage does not', () => {
    const job = { dir: '/etc/multiwan/notify.d', transitions: [up], inService: ['isp1'] };
    expect(parseNotifyJob(JSON.stringify(job))).toEqual(job);
    expect(parseNotifyJob('{')).toBeUndefined();
    expect(parseNotifyJob('{"dir":1}')).toBeUndefined();
  });
});
