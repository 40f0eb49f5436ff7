// The installed hooks run on whatever `node` the router has; on Debian 12 that
// is its own nodejs 18.20. This runs the built ip-up/ip-down under that very
// runtime (unpacked from Debian's packages by scripts/debian-node18.sh, not
// installed over the machine's node) inside a lab router, and checks traffic.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, needsRoot, productEnv, type Lab } from '../lab/lab.js';

const skip = needsRoot();
const dist = (name: string) => path.resolve('dist', name);
const shared = '/usr/share/nodejs'; // where Debian's node loads its externalised builtins from

describe.skipIf(!!skip)(`bundles on Debian 12's nodejs 18${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let lab: Lab | undefined;
  let root = '';
  let madeMountPoint = false;

  beforeAll(async () => {
    const dir = execFileSync('scripts/debian-node18.sh', [path.resolve('.cache/node18')], { encoding: 'utf8' }).trim();
    root = path.join(dir, 'root');
    if (!existsSync(shared)) {
      mkdirSync(shared, { recursive: true });
      madeMountPoint = true;
    }
    lab = await createLab({ links: 1 });
    await lab.writeConfig(`lan = ["192.168.10.0/24"]\n[link.isp1]\ninterface = "ppp0"\n`);
  });

  afterAll(async () => {
    await lab?.destroy();
    if (madeMountPoint) rmdirSync(shared);
  });

  /** Runs a bundle with Debian's node 18 in the router, its builtins mounted privately. */
  const node18 = (bundle: string, args: string[]) =>
    lab!.exec(
      lab!.ns.rtr,
      [
        'unshare', '-m', '--propagation', 'private', 'sh', '-c',
        'mount --bind "$1/usr/share/nodejs" /usr/share/nodejs && lib="$1/usr/lib/x86_64-linux-gnu" && node="$1/usr/bin/node" && shift && LD_LIBRARY_PATH="$lib" exec "$node" "$@"',
        'sh', root, bundle, ...args,
      ],
      { env: productEnv(lab!), reject: false },
    );

  it('is Node 18.20', async () => {
    const result = await node18('-p', ['process.version']);
    expect(result.stdout.trim()).toMatch(/^v18\.20\./);
  });

  it('ip-up and ip-down do their work on it, and the server sees ppp0’s address', async () => {
    const l = lab!;
    const pppArgs = ['ppp0', '/dev/ttyS0', '115200', l.addr.ppp0Local, l.addr.ppp0Peer, 'isp1'];
    const up = await node18(dist('ip-up'), pppArgs);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.stdout).toContain('isp1 (ppp0) up; in service: isp1');
    expect(await l.whoami({ count: 5 })).toEqual({ [l.addr.ppp0Local]: 5 });
    const down = await node18(dist('ip-down'), pppArgs);
    expect(down.exitCode, down.stderr).toBe(0);
    expect((await l.snapshot()).rules).not.toContain('lookup 201');
  });

  it('multiwan --help and check run on it', async () => {
    const help = await node18(dist('multiwan'), ['--help']);
    expect(help.stdout).toContain('multiwan status');
    const check = await node18(dist('multiwan'), ['check']);
    expect(check.exitCode, check.stderr).toBe(0);
    expect(check.stdout).toContain('ok, 1 link(s)');
  });
});
