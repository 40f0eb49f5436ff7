// End to end, issue 10: `multiwan check` warns about what silently defeats
// the hooks, each cause set up for real in the router namespace, with the
// files it reads (/etc/ppp, /etc/dhcp, /etc/network, /usr/lib/dhcpcd,
// /etc/systemd, /run) bound over from a temp tree in a private mount
// namespace, so the machine's own files are never touched.
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { needsRoot, productEnv, type Lab } from '../lab/lab.js';
import { dist, labWithHooks, ppp } from './helpers.js';

const skip = needsRoot();
const CONFIG = `
lan = ["192.168.10.0/24"]
[link.isp1]
interface = "ppp0"
[link.isp2]
interface = "ppp1"
`;
const HOOKS = [
  'etc/ppp/ip-up.d/multiwan', 'etc/ppp/ip-down.d/multiwan', 'etc/ppp/ipv6-up.d/multiwan', 'etc/ppp/ipv6-down.d/multiwan',
  'etc/dhcp/dhclient-enter-hooks.d/multiwan', 'etc/dhcp/dhclient-exit-hooks.d/multiwan', 'usr/lib/dhcpcd/dhcpcd-hooks/62-multiwan',
  'etc/network/if-up.d/multiwan', 'etc/network/if-post-down.d/multiwan',
];
const BOUND = ['etc/ppp', 'etc/dhcp', 'etc/network', 'usr/lib/dhcpcd', 'etc/systemd', 'run'];
// Bind each SRC over DST, then run the command: `sh -c RUNNER sh SRC DST ... -- ARGV`.
const RUNNER = 'set -e; while [ "$1" != "--" ]; do mount --bind "$1" "$2"; shift 2; done; shift; exec "$@"';

let lab: Lab | undefined;
let root = '';

/** A tree with every hook installed and nothing else. */
function cleanTree(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mw-check-'));
  for (const d of BOUND) mkdirSync(path.join(dir, d), { recursive: true });
  for (const hook of HOOKS) {
    mkdirSync(path.dirname(path.join(dir, hook)), { recursive: true });
    writeFileSync(path.join(dir, hook), '#!/bin/sh\n');
    chmodSync(path.join(dir, hook), 0o755);
  }
  return dir;
}

async function check(l: Lab): Promise<{ warnings: string[]; exitCode: number; stderr: string }> {
  const binds = BOUND.flatMap((d) => [path.join(root, d), `/${d}`]);
  const r = await l.exec(l.ns.rtr, ['unshare', '-m', '--propagation', 'private', 'sh', '-c', RUNNER, 'sh', ...binds, '--', dist('multiwan'), 'check'], { env: productEnv(l), reject: false });
  return { warnings: r.stdout.split('\n').filter((line) => line.startsWith('warning: ')), exitCode: r.exitCode, stderr: r.stderr };
}

const ifindex = async (l: Lab, iface: string) => (JSON.parse((await l.exec(l.ns.rtr, ['ip', '-j', 'link', 'show', 'dev', iface])).stdout) as { ifindex: number }[])[0]!.ifindex;

describe.skipIf(!!skip)(`multiwan check's warnings${skip ? ` (skipped: ${skip})` : ''}`, () => {
  afterEach(async () => {
    await lab?.destroy();
    lab = undefined;
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('says nothing on a clean router, then each cause gives its one warning', async () => {
    const l = (lab = await labWithHooks(2, CONFIG));
    root = cleanTree();
    await ppp(l, 'up', 'ppp0');
    await ppp(l, 'up', 'ppp1');
    const clean = await check(l);
    expect(clean.exitCode, clean.stderr).toBe(0);
    expect(clean.warnings).toEqual([]);

    // Debian's ip-up runs an executable ip-up.local instead of ip-up.d.
    writeFileSync(path.join(root, 'etc/ppp/ip-up.local'), '#!/bin/sh\nlogger my own routes\n');
    chmodSync(path.join(root, 'etc/ppp/ip-up.local'), 0o755);
    // A hook renamed with a dot: run-parts skips it.
    renameSync(path.join(root, 'etc/network/if-up.d/multiwan'), path.join(root, 'etc/network/if-up.d/multiwan.disabled'));
    // Something set rp_filter back to strict after multiwan made it loose.
    await l.exec(l.ns.rtr, ['sysctl', '-q', '-w', 'net.ipv4.conf.ppp0.rp_filter=1']);
    // Another program's rule inside multiwan's priority range, and one matching marks in its mask.
    await l.exec(l.ns.rtr, ['ip', 'rule', 'add', 'priority', '1250', 'from', '192.168.50.0/24', 'lookup', '100']);
    await l.exec(l.ns.rtr, ['ip', 'rule', 'add', 'priority', '32765', 'not', 'fwmark', '0xca6c', 'lookup', '51820']);
    // Another nft table writing marks in the mask.
    await l.exec(l.ns.rtr, ['nft', '-f', '-'], { input: 'table ip adm {\n  chain pre {\n    type filter hook prerouting priority mangle; policy accept;\n    meta l4proto udp meta mark set meta mark | 0x200\n  }\n}\n' });
    // systemd-networkd manages ppp1 with its default (deleting foreign rules); NetworkManager manages ppp0.
    mkdirSync(path.join(root, 'run/systemd/netif/links'), { recursive: true });
    writeFileSync(path.join(root, 'run/systemd/netif/links', String(await ifindex(l, 'ppp1'))), '# This is private data. Do not parse.\nADMIN_STATE=configured\nOPER_STATE=routable\n');
    writeFileSync(path.join(root, 'etc/systemd/networkd.conf'), '[Network]\n#ManageForeignRoutingPolicyRules=yes\n');
    mkdirSync(path.join(root, 'run/NetworkManager/devices'), { recursive: true });
    writeFileSync(path.join(root, 'run/NetworkManager/devices', String(await ifindex(l, 'ppp0'))), '[device]\nmanaged=true\n');

    const r = await check(l);
    expect(r.exitCode, r.stderr).toBe(0);
    const expected = [
      /^warning: \/etc\/network\/if-up\.d\/multiwan\.disabled: run-parts skips names with a dot/,
      /^warning: \/etc\/ppp\/ip-up\.local is executable: Debian's \/etc\/ppp\/ip-up then runs it instead of \/etc\/ppp\/ip-up\.d/,
      /^warning: rp_filter is strict on ppp0 \(link isp1\)/,
      /^warning: another program's IPv4 rule sits in multiwan's priority range 1000-1499: "1250: from 192\.168\.50\.0\/24 lookup 100"/,
      /^warning: another program's IPv4 rule matches marks in multiwan's mask 0x3f00: "32765: not from all fwmark 0xca6c lookup 51820"/,
      /^warning: nft table ip adm, chain pre writes marks in multiwan's mask 0x3f00 \(0x200\)/,
      /^warning: systemd-networkd manages ppp1 \(link isp2\) and deletes routing rules it did not make/,
      /^warning: NetworkManager manages ppp0 \(link isp1\)/,
    ];
    for (const pattern of expected) expect(r.warnings.filter((w) => pattern.test(w)), `${pattern}\n${r.warnings.join('\n')}`).toHaveLength(1);
    expect(r.warnings).toHaveLength(expected.length);

    // networkd told to keep foreign rules: that warning goes, the others stay.
    writeFileSync(path.join(root, 'etc/systemd/networkd.conf'), '[Network]\nManageForeignRoutingPolicyRules=no\n');
    const kept = await check(l);
    expect(kept.warnings.some((w) => w.includes('systemd-networkd'))).toBe(false);
    expect(kept.warnings).toHaveLength(expected.length - 1);
  });
});
