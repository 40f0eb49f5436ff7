// `multiwan explain`, `multiwan check` and a hook's `--dry-run`, run in the
// lab's router: the explanation must agree with the kernel (ip route get) and
// with the traffic the server sees; a dry run must change nothing.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, needsRoot, productEnv, type Lab } from '../lab/lab.js';

const skip = needsRoot();
const dist = (name: string) => path.resolve('dist', name);

describe.skipIf(!!skip)(`explain, check and --dry-run${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let l: Lab;
  const multiwan = (args: string[]) => l.exec(l.ns.rtr, [dist('multiwan'), ...args], { env: productEnv(l), reject: false });

  beforeAll(async () => {
    l = await createLab({ links: 2 });
    await l.installHooks(dist('ip-up'), dist('ip-down'));
    await l.writeConfig(`
lan = ["192.168.10.0/24"]
[link.isp1]
interface = "ppp0"
weight = 1
[link.isp2]
interface = "ppp1"
weight = 200

[[policy]]
name = "mail"
protocol = "tcp"
dst_port = [25, 465]
via = ["isp1", "isp2"]
`);
    for (const iface of ['ppp0', 'ppp1'] as const) expect((await l.ppp('up', iface)).hookFailed).toBe(false);
  });
  afterAll(async () => {
    await l?.destroy();
  });

  it('a policy match: its link, its mark, and the kernel routes the marked packet through that link’s table', async () => {
    const result = await multiwan(['explain', l.addr.client, l.addr.server, '--proto', 'tcp', '--dport', '25']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('policy "mail": matches');
    expect(result.stdout).toContain('via: isp1 (in service) <- chosen, isp2 (in service)');
    expect(result.stdout).toContain('mark 0x100, its fwmark rule -> table 201');
    expect(result.stdout).toMatch(/kernel: ip -4 route get 198\.51\.100\.10 from 192\.168\.10\.2 iif lan0 mark 0x100 ipproto tcp dport 25\n\s+-> dev ppp0 table 201/);
  });

  it('--json; no policy: the balanced route, and the kernel’s pick for that connection', async () => {
    const result = await multiwan(['explain', l.addr.client, l.addr.server, '--proto', 'tcp', '--sport', '40000', '--dport', '443', '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.explanation.policies).toEqual([{ name: 'mail', matched: false, why: 'dport 443 is not in dst_port' }]);
    expect(json.explanation.decision.kind).toBe('balance');
    expect(json.kernel.table).toBe('200');
    expect(['ppp0', 'ppp1']).toContain(json.kernel.dev);
  });

  it('the router’s own traffic from a link address: no iif, the from rule decides', async () => {
    const json = JSON.parse((await multiwan(['explain', l.addr.ppp0Local, l.addr.server, '--json'])).stdout);
    expect(json.kernel.argv).not.toContain('iif');
    expect(json.kernel.dev).toBe('ppp0');
    expect(json.kernel.table).toBe('201'); // the from rule's table
  });

  it('bad input: one line, exit 1', async () => {
    const result = await multiwan(['explain', '192.168.10.300', l.addr.server, '--dport', '70000']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      'multiwan: explain: SRC "192.168.10.300" is not an IPv4 or IPv6 address',
      'multiwan: explain: --dport 70000 is not a port (1-65535)',
    ]);
  });

  it('check validates and prints the plan with the policies chain', async () => {
    const result = await multiwan(['check']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('ok, 2 link(s)');
    expect(result.stdout).toContain('add rule inet multiwan policies tcp dport { 25, 465 }');
    expect(result.stdout).toContain('rule add priority 1100 fwmark 0x100/0x3f00 lookup 201 protocol 242');
  });

  it('ip-up --dry-run by hand prints the batch and script of the event and changes nothing', async () => {
    const down = await l.ppp('down', 'ppp1');
    expect(down.hookFailed).toBe(false);
    const before = await l.snapshot();
    const dry = await l.exec(l.ns.rtr, [dist('ip-up'), 'ppp1', '--dry-run'], { env: productEnv(l), reject: false });
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('route replace default table 202 proto 242 dev ppp1 scope link src 100.64.2.2');
    expect(dry.stdout).toContain('add rule inet multiwan postrouting oifname "ppp1"');
    expect(await l.snapshot()).toEqual(before);
    expect((await multiwan(['status'])).stdout).toMatch(/^isp2\s+ppp1\s+\S+\s+\d+\s+\d+\s+DOWN/m);
    // and explain now says why mail still goes to isp1 but would skip isp2
    expect((await multiwan(['explain', l.addr.client, l.addr.server, '--proto', 'tcp', '--dport', '25'])).stdout).toContain('isp2 (down)');
    expect((await l.ppp('up', 'ppp1')).hookFailed).toBe(false);
  });

  it('what explain says is what the server sees', async () => {
    const seen = await l.whoami({ count: 10, port: 7000 });
    expect(seen[l.addr.ppp1Local] ?? 0).toBeGreaterThan(5); // weights 1:200
  });
});
