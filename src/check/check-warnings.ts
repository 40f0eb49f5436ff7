/**
 * What `multiwan check` warns about besides the config: things on the router
 * that silently defeat the hooks or fight over what multiwan owns. Pure: the
 * facts are gathered by read-check-facts.ts; each warning is one line saying
 * what, why it matters, and how to fix it.
 */
import type { Config } from '../config/types.js';
import { hex } from '../plan/hex.js';

/** Where the hooks are installed (build/files.txt; a unit test keeps the two in step). */
export const installedHooks: readonly { path: string; caller: string; runParts: boolean }[] = [
  { path: '/etc/ppp/ip-up.d/multiwan', caller: 'pppd (ip-up)', runParts: true },
  { path: '/etc/ppp/ip-down.d/multiwan', caller: 'pppd (ip-down)', runParts: true },
  { path: '/etc/ppp/ipv6-up.d/multiwan', caller: 'pppd (ipv6-up)', runParts: true },
  { path: '/etc/ppp/ipv6-down.d/multiwan', caller: 'pppd (ipv6-down)', runParts: true },
  { path: '/etc/dhcp/dhclient-enter-hooks.d/multiwan', caller: 'dhclient', runParts: true },
  { path: '/etc/dhcp/dhclient-exit-hooks.d/multiwan', caller: 'dhclient', runParts: true },
  { path: '/usr/lib/dhcpcd/dhcpcd-hooks/62-multiwan', caller: 'dhcpcd', runParts: false },
  { path: '/etc/network/if-up.d/multiwan', caller: 'ifupdown', runParts: true },
  { path: '/etc/network/if-post-down.d/multiwan', caller: 'ifupdown', runParts: true },
];

export interface CheckFacts {
  /** Each installed hook: whether its directory exists (its program is installed) and the hook is there. */
  hooks: { path: string; caller: string; runParts: boolean; dirExists: boolean; present: boolean; executable: boolean; siblings: string[] }[];
  /** Debian's /etc/ppp/ip-up etc. run an executable *.local instead of the .d directory. */
  localOverrides: { path: string; runsParts: boolean }[];
  /** Effective rp_filter (the kernel takes the larger of all and the interface) on the interface of each link that is up. */
  rpFilter: { link: string; iface: string; value: number }[];
  /** `ip rule` of both families, every rule. */
  rules: { family: 4 | 6; priority: number; fwmark?: number; fwmask?: number; protocol?: string; text: string }[];
  /** Mark values other nft tables write (constants that are not AND masks). */
  foreignMarks: { table: string; chain: string; value: number; text: string }[];
  /** systemd-networkd: the links it manages, and whether it leaves other programs' rules alone. */
  networkd: { managed: string[]; keepsForeignRules: boolean };
  /** NetworkManager: the interfaces it manages. */
  networkManager: string[];
}

export function checkWarnings(config: Config, facts: CheckFacts): string[] {
  const warnings: string[] = [];
  const wan = config.links.map((l) => ({ link: l.name, iface: l.interface }));

  for (const hook of facts.hooks) {
    if (!hook.dirExists) continue;
    const base = hook.path.slice(hook.path.lastIndexOf('/') + 1);
    const renamed = hook.siblings.filter((name) => name !== base && name.startsWith(base) && /[.~]/.test(name.slice(base.length)));
    for (const name of renamed) {
      warnings.push(`${dirOf(hook.path)}/${name}: run-parts skips names with a dot or a tilde, so ${hook.caller} never runs it${hook.present ? '' : ` and multiwan's hook is missing`}; rename it to ${base} (or delete it if it is a backup)`);
    }
    if (!hook.present && !renamed.length) warnings.push(`${hook.path} is missing: ${hook.caller} events never reach multiwan; reinstall multiwan`);
    if (hook.present && hook.runParts && hook.path.startsWith('/etc/ppp') && !hook.executable) {
      warnings.push(`${hook.path} is not executable: run-parts skips it; run chmod 755 ${hook.path}`);
    }
  }

  for (const local of facts.localOverrides) {
    if (local.runsParts) continue;
    const dir = local.path.replace(/\.local$/, '.d');
    warnings.push(`${local.path} is executable: Debian's ${local.path.replace(/\.local$/, '')} then runs it instead of ${dir}, so multiwan's hook never runs; make it end with run-parts ${dir} (with the same --arg options), or chmod -x it`);
  }

  for (const { link, iface, value } of facts.rpFilter) {
    if (value === 1) {
      warnings.push(`rp_filter is strict on ${iface} (link ${link}): multiwan set net.ipv4.conf.${iface}.rp_filter=2 when the link came up and something set it back (sysctl --system, a network manager), so packets of connections pinned to ${link} that arrive while routing prefers another link are dropped; find what writes it, or run multiwan apply after it`);
    }
  }

  const P = config.rulePriority;
  const ours = (r: CheckFacts['rules'][number]) => r.protocol === '242' || r.protocol === 'multiwan';
  for (const rule of facts.rules) {
    if (ours(rule)) continue;
    if (rule.priority >= P && rule.priority <= P + 499) {
      warnings.push(`another program's IPv${rule.family} rule sits in multiwan's priority range ${P}-${P + 499}: "${rule.text}"; move it out of the range, or move multiwan with rule_priority`);
    } else if (rule.fwmark !== undefined && (rule.fwmark & (rule.fwmask ?? 0xffffffff) & config.markMask) !== 0) {
      // wg-quick's `not fwmark 0xca6c` is one: 0xca6c has bits in the default mask 0x3f00, and
      // multiwan's restore rewrites those bits on the tunnel's own packets.
      warnings.push(`another program's IPv${rule.family} rule matches marks in multiwan's mask ${hex(config.markMask)}: "${rule.text}"; give it marks outside the mask, or change mark_mask`);
    }
  }

  for (const mark of facts.foreignMarks) {
    if ((mark.value & config.markMask) !== 0) {
      warnings.push(`nft table ${mark.table}, chain ${mark.chain} writes marks in multiwan's mask ${hex(config.markMask)} (${hex(mark.value)}): "${mark.text}"; connections would jump links; use bits outside the mask, or change mark_mask`);
    }
  }

  if (!facts.networkd.keepsForeignRules) {
    for (const { link, iface } of wan.filter((w) => facts.networkd.managed.includes(w.iface))) {
      warnings.push(`systemd-networkd manages ${iface} (link ${link}) and deletes routing rules it did not make, multiwan's among them; set ManageForeignRoutingPolicyRules=no in [Network] of /etc/systemd/networkd.conf (and ManageForeignRoutes=no), or leave ${iface} to pppd, dhclient or ifupdown`);
    }
  }
  for (const { link, iface } of wan.filter((w) => facts.networkManager.includes(w.iface))) {
    warnings.push(`NetworkManager manages ${iface} (link ${link}): it rewrites routes and rules on its own schedule, and multiwan gets no event from it; mark it unmanaged (unmanaged-devices=interface-name:${iface} in /etc/NetworkManager/conf.d/) and bring it up with pppd, dhclient or ifupdown`);
  }
  return warnings;
}

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/'));
}
