// The pipeline's orchestration (lock, read-back, transition, plan, apply,
// rollback, record, conntrack) under a fake kernel that records every call:
// the failure paths that are slow or hard to cause in a namespace.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { changeLinks, type ChangeOutcome } from '../../src/core/change-links.js';
import type { Context } from '../../src/core/context.js';
import { handleLinkEvent } from '../../src/core/handle-link-event.js';
import { setLinkHealth } from '../../src/core/set-link-health.js';
import { CommandError } from '../../src/errors.js';
import { parsePppEvent } from '../../src/events/parse-ppp-event.js';
import { readLinkStates } from '../../src/state/state-store.js';
import { fakeKernel, type FakeKernel } from '../fixtures/fake-kernel.js';

const TOML = `
lan = ["192.168.10.0/24"]
[link.isp1]
interface = "ppp0"
[link.isp2]
interface = "ppp1"
`;

let root: string;
let kernel: FakeKernel;
let ctx: Context;
let logs: string[];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'mw-change-'));
  mkdirSync(join(root, 'sys', 'net', 'ipv4'), { recursive: true });
  mkdirSync(join(root, 'sys', 'net', 'ipv6', 'conf', 'all'), { recursive: true });
  writeFileSync(join(root, 'multiwan.toml'), TOML);
  kernel = fakeKernel([
    { name: 'lo', addresses: ['127.0.0.1/8'] },
    { name: 'ppp0', addresses: ['100.64.1.2 peer 100.64.1.1'] },
    { name: 'ppp1', addresses: ['100.64.2.2 peer 100.64.2.1'] },
  ]);
  logs = [];
  let tick = 0;
  ctx = {
    run: kernel.run,
    configFile: join(root, 'multiwan.toml'),
    stateDir: join(root, 'run'),
    sysctlRoot: join(root, 'sys'),
    now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, tick++)),
    say: () => undefined,
    log: (line) => logs.push(line),
  };
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

const args = { ppp0: ['ppp0', '/dev/ttyS0', '115200', '100.64.1.2', '100.64.1.1', ''], ppp1: ['ppp1', '/dev/ttyS1', '115200', '100.64.2.2', '100.64.2.1', ''] };
const ppp = (action: 'up' | 'down', iface: 'ppp0' | 'ppp1') => handleLinkEvent(ctx, parsePppEvent(action, args[iface], {}));
const verdict = (link: string, healthy: boolean, expect?: { since: string }) =>
  setLinkHealth(ctx, { link, healthy, reason: 'probes', ...(expect ? { expect } : {}) }, () => loadConfig(ctx.configFile));
const callsOf = (tool: string) => kernel.calls.filter((c) => c.argv.join(' ').startsWith(tool));
const applied = (outcome: ChangeOutcome) => {
  if (outcome.kind !== 'applied') throw new Error(`not applied: ${outcome.kind}`);
  return outcome.result;
};

describe('changeLinks: one event through lock, read-back, plan, apply, record', () => {
  it('a first ip-up: one read-back round, one ip batch, one nft transaction; the state recorded', async () => {
    const result = applied(await ppp('up', 'ppp0'));
    expect(result.inService).toEqual(['isp1']);
    expect(kernel.calls.map((c) => c.argv.slice(0, 3).join(' '))).toEqual([
      'ip -4 -j',
      'ip -6 -j',
      'nft list chain inet multiwan stamp; list counters table inet multiwan',
      'ip -4 -batch',
      // nft only once the ip batches went through: a failed transaction changes nothing, so rollback is exact.
      'nft -f -',
    ]);
    expect([...kernel.routes[4].values()]).toContain('default table 201 proto 242 dev ppp0 scope link src 100.64.1.2');
    expect(readLinkStates(ctx.stateDir).isp1).toMatchObject({ kind: 'ppp', v4: { local: '100.64.1.2', peer: '100.64.1.1' } });
    expect(result.transitions).toEqual([{ link: 'isp1', iface: 'ppp0', event: 'up', reason: 'ip-up' }]);
  });

  it('the same ip-up again (pppd renegotiating): nothing to run but the read-back', async () => {
    await ppp('up', 'ppp0');
    kernel.calls.length = 0;
    await ppp('up', 'ppp0');
    expect(kernel.calls.map((c) => c.argv[0] + ' ' + c.argv[1]!.split(' ')[0])).toEqual(['ip -4', 'ip -6', 'nft list']);
  });

  it('an interface no link names changes nothing and reads nothing', async () => {
    const outcome = await handleLinkEvent(ctx, parsePppEvent('up', ['ppp7', 't', '0', '10.0.0.2', '10.0.0.1'], {}));
    expect(outcome.kind).toBe('ignored');
    expect(kernel.calls).toEqual([]);
  });

  it('dry run: plans and prints, records and applies nothing', async () => {
    const result = applied(await changeLinks({ ...ctx, dryRun: true }, { kind: 'event', event: parsePppEvent('up', args.ppp0, {}) }, () => loadConfig(ctx.configFile)));
    expect(result.ipBatch[4]).toContain('route replace default table 201');
    expect(callsOf('ip -4 -batch')).toEqual([]);
    expect(readLinkStates(ctx.stateDir)).toEqual({});
  });
});

describe('changeLinks: failures leave the kernel and the record as they were', () => {
  it.each([0, 1, 3])('ip -4 -batch fails at line %i: owned routes and rules rolled back, previous ruleset restored, nothing recorded', async (line) => {
    await ppp('up', 'ppp0');
    const before = kernel.snapshot();
    const recorded = readLinkStates(ctx.stateDir);
    kernel.failWhen = (call) => (call.argv.join(' ') === 'ip -4 -batch -' ? { line, message: 'RTNETLINK answers: Invalid argument' } : undefined);
    const error = await ppp('up', 'ppp1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect((error as Error).message).toBe('ip -4 -batch - failed (exit 1): RTNETLINK answers: Invalid argument; nothing changed: the previous routing is in place');
    expect(kernel.snapshot()).toBe(before);
    expect(readLinkStates(ctx.stateDir)).toEqual(recorded);
  });

  it('nft -f fails: the routing half is rolled back too', async () => {
    await ppp('up', 'ppp0');
    const before = kernel.snapshot();
    kernel.failWhen = (call) => (call.argv.join(' ') === 'nft -f -' ? 'Error: Could not process rule: No such file or directory' : undefined);
    await expect(ppp('up', 'ppp1')).rejects.toThrow('nft -f - failed (exit 1): Error: Could not process rule: No such file or directory; nothing changed');
    expect(kernel.snapshot()).toBe(before);
    expect(readLinkStates(ctx.stateDir).isp2).toBeUndefined();
  });

  it('the read-back fails: nothing applied, nothing recorded', async () => {
    kernel.failWhen = (call) => (call.argv.join(' ').startsWith('ip -6 -j') ? 'Cannot open netlink socket' : undefined);
    await expect(ppp('up', 'ppp0')).rejects.toBeInstanceOf(CommandError);
    expect(callsOf('ip -4 -batch')).toEqual([]);
    expect(readLinkStates(ctx.stateDir)).toEqual({});
  });

  it('nft -f fails after the ip batches went through: they are rolled back, and nft never half-applied', async () => {
    await ppp('up', 'ppp0');
    const before = kernel.snapshot();
    const script = kernel.nft.script;
    kernel.failWhen = (call) => (call.argv.join(' ') === 'nft -f -' ? 'Error: Could not process rule' : undefined);
    await expect(handleLinkEvent(ctx, parsePppEvent('up', args.ppp1, {}))).rejects.toThrow('nothing changed');
    expect(kernel.snapshot()).toBe(before);
    expect(kernel.nft.script).toBe(script);
  });

  it('a stamp read that fails for another reason than a missing table is a failure (not "no table")', async () => {
    kernel.failWhen = (call) => (call.argv[0] === 'nft' && call.argv[1]?.startsWith('list') ? 'Error: Could not receive data from kernel' : undefined);
    await expect(ppp('up', 'ppp0')).rejects.toBeInstanceOf(CommandError);
  });

  it('conntrack exiting 1 without "0 flow entries have been deleted" is a failure (it exits 1 for both)', async () => {
    await ppp('up', 'ppp0');
    const real = kernel.run;
    ctx.run = async (argv, options) => (argv[0] === 'conntrack' ? { stdout: '', stderr: 'conntrack v1.4.7 (conntrack-tools): Operation failed: Operation not permitted', exitCode: 1 } : real(argv, options));
    await expect(ppp('down', 'ppp0')).rejects.toThrow(/^conntrack -D -f ipv4 --mark 0x100\/0x3f00 failed \(exit 1\): .*Operation not permitted; the routing is applied and recorded/);
    expect(readLinkStates(ctx.stateDir).isp1?.v4).toBeUndefined();
  });

  it('the counter of a policy the config no longer has is deleted with its rule (named counters outlive a flush)', async () => {
    writeFileSync(ctx.configFile, `${TOML}\n[[policy]]\nname = "mail"\nprotocol = "tcp"\ndst_port = [25]\nvia = ["isp2"]\n`);
    await ppp('up', 'ppp0');
    await ppp('up', 'ppp1');
    expect(kernel.nft.script).toMatch(/^  counter policy_mail \{/m);
    writeFileSync(ctx.configFile, TOML);
    await ppp('down', 'ppp1');
    expect(kernel.nft.script).toContain('delete counter inet multiwan policy_mail\n');
    expect(kernel.nft.script).not.toMatch(/^  counter policy_mail/m);
  });

  it('counters of a link that went down are deleted with its rules', async () => {
    await ppp('up', 'ppp0');
    await ppp('up', 'ppp1');
    await ppp('down', 'ppp1');
    expect(kernel.nft.script).toContain('delete counter inet multiwan in_isp2\ndelete counter inet multiwan out_isp2\n');
    expect(kernel.nft.script).not.toMatch(/^  counter in_isp2/m);
  });

  it('conntrack fails after the kernel changed: the new state is recorded, the failure is one line and exit 2', async () => {
    await ppp('up', 'ppp0');
    await ppp('up', 'ppp1');
    kernel.failWhen = (call) => (call.argv[0] === 'conntrack' ? 'conntrack v1.4.7 (conntrack-tools): Operation failed: invalid parameters' : undefined);
    const error = await ppp('down', 'ppp1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect((error as Error).message).toMatch(/^conntrack -D -f ipv4 --mark 0x200\/0x3f00 failed \(exit 1\): .*; the routing is applied and recorded; stale connections of isp2 were not flushed$/);
    expect(readLinkStates(ctx.stateDir).isp2?.v4).toBeUndefined();
    expect([...kernel.routes[4].keys()].some((k) => k.includes('table 202'))).toBe(false);
    // The second flush (by address) still ran, and its failure was logged.
    expect(callsOf('conntrack')).toHaveLength(2);
    expect(logs.some((l) => l.includes('--reply-dst 100.64.2.2'))).toBe(true);
  });
});

describe('changeLinks: the record is checked against the kernel', () => {
  it('an interface that vanishes between the read-back and the apply fails the apply once; it is planned again from a new read and the event goes through', async () => {
    await ppp('up', 'ppp1');
    kernel.calls.length = 0;
    let failed = false;
    kernel.failWhen = (call) => {
      if (failed || call.argv.join(' ') !== 'ip -4 -batch -') return undefined;
      failed = true;
      kernel.interfaces.delete('ppp1'); // pppd killed while ppp0's ip-up runs
      return { line: 0, message: 'Cannot find device "ppp1"' };
    };
    const result = applied(await ppp('up', 'ppp0'));
    expect(logs).toEqual([
      'ip -4 -batch - failed (exit 1): Cannot find device "ppp1"; nothing changed: the previous routing is in place; ppp1 changed meanwhile: planned again',
      'isp2: ppp1 vanished without ip-down; taken down',
    ]);
    expect(result.inService).toEqual(['isp1']);
    expect(readLinkStates(ctx.stateDir).isp1?.v4).toMatchObject({ local: '100.64.1.2' });
    expect(readLinkStates(ctx.stateDir).isp2?.v4).toBeUndefined();
    expect([...kernel.routes[4].values()]).toContain('default table 201 proto 242 dev ppp0 scope link src 100.64.1.2');
    expect([...kernel.routes[4].values()].filter((r) => r.includes('ppp1'))).toEqual([]);
    // Two applies: the one that failed on ppp1, the one planned without it.
    expect(callsOf('ip -4 -batch')).toHaveLength(2);
  });

  it('an apply that fails with the interfaces unchanged is not tried again', async () => {
    await ppp('up', 'ppp1');
    kernel.calls.length = 0;
    kernel.failWhen = (call) => (call.argv.join(' ') === 'ip -4 -batch -' ? { line: 0, message: 'RTNETLINK answers: Invalid argument' } : undefined);
    await expect(ppp('up', 'ppp0')).rejects.toThrow(/Invalid argument; nothing changed/);
    expect(callsOf('ip -4 -batch')).toHaveLength(1);
    expect(logs).toEqual([]);
  });

  it('a second failure after the new plan is the error reported: one retry, no more', async () => {
    await ppp('up', 'ppp1');
    kernel.failWhen = (call) => {
      if (call.argv.join(' ') !== 'ip -4 -batch -') return undefined;
      kernel.interfaces.set('ppp9', { name: 'ppp9', addresses: [] }); // something changes every time
      return { line: 0, message: 'RTNETLINK answers: No buffer space available' };
    };
    kernel.calls.length = 0;
    await expect(ppp('up', 'ppp0')).rejects.toThrow(/No buffer space available; nothing changed/);
    expect(callsOf('ip -4 -batch')).toHaveLength(2);
  });

  it('a link whose interface vanished without ip-down is taken down by the next event of another link', async () => {
    await ppp('up', 'ppp0');
    await ppp('up', 'ppp1');
    kernel.interfaces.delete('ppp1');
    kernel.calls.length = 0;
    const result = applied(await ppp('up', 'ppp0'));
    expect(logs).toEqual(['isp2: ppp1 vanished without ip-down; taken down']);
    expect(result.inService).toEqual(['isp1']);
    expect(readLinkStates(ctx.stateDir).isp2?.v4).toBeUndefined();
    expect([...kernel.routes[4].values()].filter((r) => r.includes('ppp1'))).toEqual([]);
    expect(callsOf('conntrack').map((c) => c.argv.join(' '))).toEqual([
      'conntrack -D -f ipv4 --mark 0x200/0x3f00',
      'conntrack -D -f ipv4 --reply-dst 100.64.2.2',
    ]);
    // Nothing about ppp1 was attempted: no sysctl, no route.
    expect(kernel.calls.map((c) => c.input ?? '').join('')).not.toMatch(/ppp1.*(replace|add)/);
    expect(result.transitions).toEqual([{ link: 'isp2', iface: 'ppp1', event: 'down', reason: 'vanished' }]);
  });

  it('pppd killed and started again before any event: a new interface of the same name and address is a new session, in service again', async () => {
    kernel.interfaces.set('ppp1', { name: 'ppp1', index: 7, addresses: ['100.64.2.2 peer 100.64.2.1'] });
    await ppp('up', 'ppp1');
    await verdict('isp2', false);
    expect(readLinkStates(ctx.stateDir).isp2).toMatchObject({ ifindex: 7, healthy: false });
    kernel.interfaces.set('ppp1', { name: 'ppp1', index: 9, addresses: ['100.64.2.2 peer 100.64.2.1'] });
    const result = applied(await ppp('up', 'ppp1'));
    expect(logs).toContain('isp2: ppp1 was replaced by a new interface (ifindex 7 -> 9) without ip-down; the old one taken down');
    expect(result.inService).toContain('isp2');
    expect(readLinkStates(ctx.stateDir).isp2).toMatchObject({ ifindex: 9 });
    expect(readLinkStates(ctx.stateDir).isp2?.healthy).toBeUndefined();
  });

  it('a link whose interface lost its recorded address is down', async () => {
    await ppp('up', 'ppp1');
    kernel.interfaces.set('ppp1', { name: 'ppp1', addresses: ['100.64.2.9 peer 100.64.2.1'] });
    applied(await ppp('up', 'ppp0'));
    expect(logs).toEqual(['isp2: ppp1 no longer holds 100.64.2.2; taken down']);
  });

  it('an interface administratively down is down', async () => {
    await ppp('up', 'ppp1');
    kernel.interfaces.set('ppp1', { name: 'ppp1', up: false, addresses: ['100.64.2.2 peer 100.64.2.1'] });
    applied(await ppp('up', 'ppp0'));
    expect(logs).toEqual(['isp2: ppp1 is administratively down; taken down']);
  });

  it('by hand, `ip-up ppp1` reads the address and peer from the live interface', async () => {
    applied(await handleLinkEvent(ctx, parsePppEvent('up', ['ppp1'], {})));
    expect(readLinkStates(ctx.stateDir).isp2?.v4).toEqual({ local: '100.64.2.2', peer: '100.64.2.1' });
  });

  it('an ip-up whose address the interface no longer holds (a stale event) does not bring the link up', async () => {
    applied(await handleLinkEvent(ctx, parsePppEvent('up', ['ppp1', 't', '0', '100.64.2.77', '100.64.2.1'], {})));
    expect(logs).toEqual(['isp2: ppp1 does not hold 100.64.2.77 (ip-up: it changed or went before this event ran); not brought up']);
    expect(readLinkStates(ctx.stateDir).isp2).toBeUndefined();
  });
});

describe('changeLinks: verdicts', () => {
  it('a verdict takes a link out of service; pppd re-running ip-up keeps it; the flush runs once', async () => {
    await ppp('up', 'ppp0');
    await ppp('up', 'ppp1');
    kernel.calls.length = 0;
    const out = applied(await verdict('isp1', false));
    expect(out.inService).toEqual(['isp2']);
    expect(callsOf('conntrack').map((c) => c.argv.join(' '))).toEqual(['conntrack -D -f ipv4 --mark 0x100/0x3f00']);
    applied(await ppp('up', 'ppp0'));
    expect(readLinkStates(ctx.stateDir).isp1).toMatchObject({ healthy: false, healthReason: 'probes' });
    expect([...kernel.routes[4].values()].find((r) => r.startsWith('default table 200'))).toBe('default table 200 proto 242 dev ppp1 scope link');
  });

  it('a verdict about an earlier incarnation (the link went down and up since its probes began) changes nothing', async () => {
    await ppp('up', 'ppp0');
    const since = readLinkStates(ctx.stateDir).isp1!.since;
    await ppp('down', 'ppp0');
    await ppp('up', 'ppp0');
    applied(await verdict('isp1', false, { since }));
    expect(readLinkStates(ctx.stateDir).isp1?.healthy).toBeUndefined();
  });

  it('a verdict about a link the config no longer has is ignored', async () => {
    expect((await verdict('gone', false)).kind).toBe('ignored');
  });

  it('a link that goes down and comes back up is in service again', async () => {
    await ppp('up', 'ppp0');
    await verdict('isp1', false);
    await ppp('down', 'ppp0');
    const result = applied(await ppp('up', 'ppp0'));
    expect(result.inService).toEqual(['isp1']);
    expect(readLinkStates(ctx.stateDir).isp1?.healthy).toBeUndefined();
  });
});
