// multiwan check's warnings, fact by fact, and the parsers of what it reads. Pure.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkWarnings, installedHooks, type CheckFacts } from '../../src/check/check-warnings.js';
import { networkdKeepsForeignRules, networkdManages, networkManagerManages, parseForeignMarks, parseRuleList } from '../../src/check/parse-check-facts.js';
import { config, link } from '../fixtures/configs.js';

const cfg = config([link('isp1', 'ppp0'), link('cable', 'eth1')]);
const clean: CheckFacts = {
  hooks: installedHooks.map((h) => ({ ...h, dirExists: true, present: true, executable: true, siblings: [h.path.split('/').pop()!] })),
  localOverrides: [],
  rpFilter: [{ link: 'isp1', iface: 'ppp0', value: 2 }],
  rules: [{ family: 4, priority: 0, text: '0: from all lookup local' }, { family: 4, priority: 1100, fwmark: 0x100, fwmask: 0x3f00, protocol: '242', text: 'ours' }],
  foreignMarks: [],
  networkd: { managed: [], keepsForeignRules: false },
  networkManager: [],
};
const warn = (over: Partial<CheckFacts>) => checkWarnings(cfg, { ...clean, ...over });

describe('checkWarnings', () => {
  it('nothing to say on a clean router', () => expect(warn({})).toEqual([]));

  it.each<[string, Partial<CheckFacts>, string]>([
    ['an executable ip-up.local', { localOverrides: [{ path: '/etc/ppp/ip-up.local', runsParts: false }] }, "/etc/ppp/ip-up.local is executable: Debian's /etc/ppp/ip-up then runs it instead of /etc/ppp/ip-up.d, so multiwan's hook never runs; make it end with run-parts /etc/ppp/ip-up.d (with the same --arg options), or chmod -x it"],
    [
      'a hook renamed with a dot',
      { hooks: clean.hooks.map((h) => (h.path === '/etc/ppp/ip-up.d/multiwan' ? { ...h, present: false, siblings: ['multiwan.disabled', '0000usepeerdns'] } : h)) },
      "/etc/ppp/ip-up.d/multiwan.disabled: run-parts skips names with a dot or a tilde, so pppd (ip-up) never runs it and multiwan's hook is missing; rename it to multiwan (or delete it if it is a backup)",
    ],
    ['a hook missing', { hooks: clean.hooks.map((h) => (h.path.includes('if-up.d') ? { ...h, present: false, siblings: [] } : h)) }, '/etc/network/if-up.d/multiwan is missing: ifupdown events never reach multiwan; reinstall multiwan'],
    ['strict rp_filter', { rpFilter: [{ link: 'isp1', iface: 'ppp0', value: 1 }] }, 'rp_filter is strict on ppp0 (link isp1): multiwan set net.ipv4.conf.ppp0.rp_filter=2 when the link came up and something set it back (sysctl --system, a network manager), so packets of connections pinned to isp1 that arrive while routing prefers another link are dropped; find what writes it, or run multiwan apply after it'],
    ['a rule in the priority range', { rules: [...clean.rules, { family: 6, priority: 1250, text: '1250: from 2001:db8::/32 lookup 100' }] }, 'another program\'s IPv6 rule sits in multiwan\'s priority range 1000-1499: "1250: from 2001:db8::/32 lookup 100"; move it out of the range, or move multiwan with rule_priority'],
    ['wg-quick\'s fwmark in the mask', { rules: [...clean.rules, { family: 4, priority: 32765, fwmark: 0xca6c, fwmask: 0xffffffff, text: '32765: not from all fwmark 0xca6c lookup 51820' }] }, 'another program\'s IPv4 rule matches marks in multiwan\'s mask 0x3f00: "32765: not from all fwmark 0xca6c lookup 51820"; give it marks outside the mask, or change mark_mask'],
    ['marks written in the mask', { foreignMarks: [{ table: 'ip mangle', chain: 'PREROUTING', value: 0x200, text: 'meta mark set … 0x200' }] }, 'nft table ip mangle, chain PREROUTING writes marks in multiwan\'s mask 0x3f00 (0x200): "meta mark set … 0x200"; connections would jump links; use bits outside the mask, or change mark_mask'],
    ['systemd-networkd managing a WAN interface', { networkd: { managed: ['eth1'], keepsForeignRules: false } }, 'systemd-networkd manages eth1 (link cable) and deletes routing rules it did not make, multiwan\'s among them; set ManageForeignRoutingPolicyRules=no in [Network] of /etc/systemd/networkd.conf (and ManageForeignRoutes=no), or leave eth1 to pppd, dhclient or ifupdown'],
    ['NetworkManager managing a WAN interface', { networkManager: ['eth1', 'wlan0'] }, 'NetworkManager manages eth1 (link cable): it rewrites routes and rules on its own schedule, and multiwan gets no event from it; mark it unmanaged (unmanaged-devices=interface-name:eth1 in /etc/NetworkManager/conf.d/) and bring it up with pppd, dhclient or ifupdown'],
  ])('%s', (_name, over, warning) => {
    expect(warn(over)).toEqual([warning]);
  });

  it('what is harmless says nothing: a .local that runs the directory, networkd told to keep rules, marks outside the mask, a program without its directory', () => {
    expect(warn({
      localOverrides: [{ path: '/etc/ppp/ip-up.local', runsParts: true }],
      networkd: { managed: ['eth1'], keepsForeignRules: true },
      foreignMarks: [{ table: 'ip mangle', chain: 'x', value: 0x10000, text: '' }],
      rules: [...clean.rules, { family: 4, priority: 32765, fwmark: 0x10000, fwmask: 0x10000, text: '' }],
      hooks: clean.hooks.map((h) => (h.caller === 'dhcpcd' ? { ...h, dirExists: false, present: false, siblings: [] } : h)),
    })).toEqual([]);
  });
});

describe('the hooks check knows are the ones installed', () => {
  it('every hook of build/files.txt, and nothing else', () => {
    const manifest = readFileSync(new URL('../../build/files.txt', import.meta.url), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'))
      .map((l) => `/${l.trim().split(/\s+/)[1]}`)
      .filter((p) => /\/(ip(v6)?-(up|down)\.d|dhclient-(enter|exit)-hooks\.d|dhcpcd-hooks|if-up\.d|if-post-down\.d)\//.test(p));
    expect(installedHooks.map((h) => h.path).sort()).toEqual(manifest.sort());
  });
});

describe('parsers', () => {
  it('ip -j rule show', () => {
    expect(parseRuleList('[{"priority":32765,"not":null,"src":"all","fwmark":"0xca6c","table":"51820"},{"priority":1100,"src":"all","fwmark":"0x100","fwmask":"0x3f00","table":"201","protocol":"242"}]', 4)).toEqual([
      { family: 4, priority: 32765, fwmark: 0xca6c, text: '32765: not from all fwmark 0xca6c lookup 51820' },
      { family: 4, priority: 1100, fwmark: 0x100, fwmask: 0x3f00, protocol: '242', text: '1100: from all fwmark 0x100/0x3f00 lookup 201 proto 242' },
    ]);
  });

  it('nft -j list ruleset: constant marks of other tables, not their keep-masks, not multiwan\'s', () => {
    const json = JSON.stringify({ nftables: [
      { rule: { family: 'ip', table: 'mangle', chain: 'PREROUTING', expr: [{ mangle: { key: { meta: { key: 'mark' } }, value: { '|': [{ '&': [{ meta: { key: 'mark' } }, 4294950143] }, 512] } } }] } },
      { rule: { family: 'inet', table: 'fw', chain: 'c', expr: [{ mangle: { key: { ct: { key: 'mark' } }, value: 65536 } }] } },
      { rule: { family: 'inet', table: 'multiwan', chain: 'prerouting', expr: [{ mangle: { key: { meta: { key: 'mark' } }, value: 256 } }] } },
    ] });
    expect(parseForeignMarks(json).map((m) => [m.table, m.value])).toEqual([['ip mangle', 512], ['inet fw', 65536]]);
  });

  it('networkd.conf and its drop-ins, in order', () => {
    expect(networkdKeepsForeignRules([''])).toBe(false);
    expect(networkdKeepsForeignRules(['[Network]\nManageForeignRoutingPolicyRules=no\n'])).toBe(true);
    expect(networkdKeepsForeignRules(['[Network]\nManageForeignRoutingPolicyRules=no\n', '[Network]\nManageForeignRoutingPolicyRules=yes\n'])).toBe(false);
    expect(networkdKeepsForeignRules(['[DHCPv4]\nManageForeignRoutingPolicyRules=no\n'])).toBe(false);
  });

  it('the managers\' state files', () => {
    expect(networkdManages('# This is private data. Do not parse.\nADMIN_STATE=configured\nOPER_STATE=routable\n')).toBe(true);
    expect(networkdManages('ADMIN_STATE=unmanaged\n')).toBe(false);
    expect(networkManagerManages('[device]\nmanaged=true\nperm-hw-addr-fake=\n')).toBe(true);
    expect(networkManagerManages('[device]\nmanaged=false\n')).toBe(false);
  });
});
