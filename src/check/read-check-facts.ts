/** Gathers the facts `multiwan check` judges (check-warnings.ts): files, sysctls, rules, other nft tables, network managers. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Runner } from '../apply/run-command.js';
import type { Config } from '../config/types.js';
import { installedHooks, type CheckFacts } from './check-warnings.js';
import { networkdKeepsForeignRules, networkdManages, networkManagerManages, parseForeignMarks, parseRuleList } from './parse-check-facts.js';

const LOCAL_OVERRIDES = ['/etc/ppp/ip-up.local', '/etc/ppp/ip-down.local', '/etc/ppp/ipv6-up.local', '/etc/ppp/ipv6-down.local'];

/** `upLinks`: the links that are up now, each on its interface (rp_filter is multiwan's to set on those). */
export async function readCheckFacts(run: Runner, config: Config, upLinks: readonly { link: string; iface: string }[]): Promise<CheckFacts> {
  const [rules4, rules6, ruleset, links] = await Promise.all([
    run(['ip', '-4', '-j', 'rule', 'show'], { okCodes: [0, 1, 2, 255] }).catch(() => undefined),
    run(['ip', '-6', '-j', 'rule', 'show'], { okCodes: [0, 1, 2, 255] }).catch(() => undefined),
    run(['nft', '-j', 'list', 'ruleset'], { okCodes: [0, 1] }).catch(() => undefined),
    run(['ip', '-j', 'link', 'show'], { okCodes: [0, 1] }).catch(() => undefined),
  ]);
  const ifindex = new Map<string, number>();
  try {
    for (const l of JSON.parse(links?.stdout || '[]') as { ifname?: string; ifindex?: number }[]) if (l.ifname && l.ifindex) ifindex.set(l.ifname, l.ifindex);
  } catch {
    // no interfaces read: nothing to say about managers
  }
  const managedBy = (dir: string, judge: (text: string) => boolean) =>
    [...ifindex].filter(([, index]) => judge(read(join(dir, String(index))) ?? '')).map(([name]) => name);
  return {
    hooks: installedHooks.map((hook) => {
      const dir = dirname(hook.path);
      const stats = statSync(hook.path, { throwIfNoEntry: false });
      return { ...hook, dirExists: existsSync(dir), present: !!stats, executable: !!stats && (stats.mode & 0o111) !== 0, siblings: list(dir) };
    }),
    localOverrides: LOCAL_OVERRIDES.flatMap((path) => {
      const stats = statSync(path, { throwIfNoEntry: false });
      if (!stats?.isFile() || (stats.mode & 0o111) === 0) return [];
      const dir = path.replace(/\.local$/, '.d');
      return [{ path, runsParts: (read(path) ?? '').includes(`run-parts ${dir}`) }];
    }),
    rpFilter: upLinks.flatMap(({ link, iface }) => {
      const own = read(`/proc/sys/net/ipv4/conf/${iface}/rp_filter`);
      if (own === undefined) return [];
      const all = Number(read('/proc/sys/net/ipv4/conf/all/rp_filter') ?? 0);
      return [{ link, iface, value: Math.max(all, Number(own)) }];
    }),
    rules: [...parseRuleList(rules4?.exitCode === 0 ? rules4.stdout : '', 4), ...parseRuleList(rules6?.exitCode === 0 ? rules6.stdout : '', 6)],
    foreignMarks: ruleset?.exitCode === 0 ? parseForeignMarks(ruleset.stdout) : [],
    networkd: {
      managed: managedBy('/run/systemd/netif/links', networkdManages),
      keepsForeignRules: networkdKeepsForeignRules(networkdConfs()),
    },
    networkManager: managedBy('/run/NetworkManager/devices', networkManagerManages),
  };
}

/** networkd.conf, then its drop-ins by name (/etc over /run over /usr/lib for the same name). */
function networkdConfs(): string[] {
  const dropIns = new Map<string, string>();
  for (const dir of ['/usr/lib/systemd/networkd.conf.d', '/run/systemd/networkd.conf.d', '/etc/systemd/networkd.conf.d']) {
    for (const name of list(dir)) if (name.endsWith('.conf')) dropIns.set(name, join(dir, name));
  }
  return [read('/etc/systemd/networkd.conf') ?? '', ...[...dropIns.keys()].sort().map((name) => read(dropIns.get(name)!) ?? '')];
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
