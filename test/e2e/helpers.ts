// What the end-to-end suites share: a lab with the built hooks installed,
// pppd events that must succeed, ISP faults, and polling the kernel.
import path from 'node:path';
import { expect } from 'vitest';
import { createLab, productEnv, startBackground, type BackgroundProcess, type Lab } from '../lab/lab.js';

export const dist = (name: string) => path.resolve('dist', name);
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A lab whose router runs the built ip-up/ip-down as pppd would, with `toml` as its config. */
export async function labWithHooks(links: 1 | 2, toml: string): Promise<Lab> {
  const lab = await createLab({ links });
  await lab.installHooks(dist('ip-up'), dist('ip-down'));
  await lab.writeConfig(toml);
  return lab;
}

/** A pppd event that must succeed (Debian's ip-up hides a hook's failure in run-parts' output). */
export async function ppp(l: Lab, action: 'up' | 'down', iface: 'ppp0' | 'ppp1') {
  const result = await l.ppp(action, iface);
  expect(result.hookFailed, `ip-${action} ${iface}: ${result.stdout}${result.stderr}`).toBe(false);
  return result;
}

/** The ISP stops forwarding (`drop`), loses a share (`numgen random …`), or recovers (undefined), while the PPP link stays up. */
export async function ispFault(l: Lab, isp: 'isp1' | 'isp2', rule: string | undefined) {
  await l.exec(l.ns[isp], ['nft', 'delete', 'table', 'inet', 'labfault'], { reject: false });
  if (!rule) return;
  await l.exec(l.ns[isp], ['nft', '-f', '-'], {
    input: `table inet labfault {\n  chain forward {\n    type filter hook forward priority -5; policy accept;\n    ${rule}\n  }\n}\n`,
  });
}

/** The balance table: which links carry new connections now. */
export const balance = async (l: Lab) => (await l.exec(l.ns.rtr, ['ip', 'route', 'show', 'table', '200'])).stdout;

/** Polls until `pred` holds; the milliseconds it took, or undefined after timeoutMs. */
export async function within(timeoutMs: number, pred: () => Promise<boolean>, stepMs = 10): Promise<number | undefined> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await pred()) return Date.now() - start;
    await sleep(stepMs);
  }
  return undefined;
}

/** `multiwan monitor` in the router, once it says it is monitoring. */
export async function startMonitor(l: Lab, settleMs = 1000): Promise<BackgroundProcess> {
  const monitor = startBackground(l, l.ns.rtr, [dist('multiwan'), 'monitor'], productEnv(l));
  expect(await monitor.waitLine((line) => line.startsWith('monitoring'), 5000), monitor.stderr).toBeDefined();
  await sleep(settleMs); // a few good windows
  return monitor;
}
