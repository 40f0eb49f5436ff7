// `npm run demo`: a two-link lab with the built hooks (dist/ip-up,
// dist/ip-down) installed the way Debian's pppd runs them. Brings ppp0 and
// ppp1 up, shows what multiwan put in the kernel and where 20 new LAN
// connections went, then brings both links down and removes the lab.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLab, needsRoot, type Lab, type PppIface } from './lab';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const UP = path.join(ROOT, 'dist/ip-up');
const DOWN = path.join(ROOT, 'dist/ip-down');
const CONFIG = `lan = ["192.168.10.0/24"]
[link.isp1]
interface = "ppp0"
weight = 8
[link.isp2]
interface = "ppp1"
weight = 2
`;

function section(title: string, body: string): void {
  console.log(`\n── ${title} ${'─'.repeat(Math.max(0, 70 - title.length))}\n${body.trimEnd() || '(empty)'}`);
}

async function ppp(lab: Lab, action: 'up' | 'down', iface: PppIface): Promise<boolean> {
  const r = await lab.ppp(action, iface);
  const out = [r.stdout, r.stderr].filter((s) => s.trim()).join('\n');
  section(`ip-${action} ${iface}${r.hookFailed ? ' — HOOK FAILED' : ''}`, out || 'ok');
  return !r.hookFailed;
}

async function show(lab: Lab): Promise<void> {
  const rtr = lab.ns.rtr;
  section('ip rule', (await lab.exec(rtr, ['ip', 'rule'])).stdout);
  const routes = (await lab.exec(rtr, ['ip', 'route', 'show', 'table', 'all'])).stdout;
  section('ip route show table all (without table local)', routes.split('\n').filter((l) => !/\btable local\b/.test(l)).join('\n'));
  const nft = await lab.exec(rtr, ['nft', 'list', 'table', 'inet', 'multiwan'], { reject: false });
  section('nft list table inet multiwan', nft.exitCode === 0 ? nft.stdout : nft.stderr);
}

async function main(): Promise<number> {
  const reason = needsRoot();
  if (reason) {
    console.error(`demo: ${reason}`);
    return 1;
  }
  if (!existsSync(UP) || !existsSync(DOWN)) {
    console.error(`demo: ${UP} and ${DOWN} are missing: run \`npm run build\` first`);
    return 1;
  }
  const lab = await createLab({ links: 2 });
  let ok = true;
  try {
    console.log(`lab ${lab.id}: namespaces ${Object.values(lab.ns).join(' ')}`);
    section('/etc/multiwan/multiwan.toml', CONFIG);
    await lab.writeConfig(CONFIG);
    await lab.installHooks(UP, DOWN);
    ok = (await ppp(lab, 'up', 'ppp0')) && ok;
    ok = (await ppp(lab, 'up', 'ppp1')) && ok;
    await show(lab);
    const seen = await lab.whoami({ count: 20 });
    section('20 new connections from the LAN: source address seen by the server', JSON.stringify(seen, null, 2));
    ok = (await ppp(lab, 'down', 'ppp0')) && ok;
    ok = (await ppp(lab, 'down', 'ppp1')) && ok;
    section('after ip-down of both links: ip rule', (await lab.exec(lab.ns.rtr, ['ip', 'rule'])).stdout);
  } finally {
    await lab.destroy();
  }
  return ok ? 0 : 1;
}

process.exitCode = await main();
