// multiwan status: the report built from states, plan, counters and conntrack;
// its text table, Prometheus form and exit status. Pure.
import { describe, expect, it } from 'vitest';
import { countByMark } from '../../src/apply/read-traffic.js';
import { parseNftCounters } from '../../src/plan/render-nft.js';
import { renderStatusPrometheus } from '../../src/core/render-status-prometheus.js';
import { renderStatus } from '../../src/core/render-status.js';
import { buildStatusReport, statusExitCode, type StatusInputs } from '../../src/core/status-report.js';
import { planRouting } from '../../src/plan/plan-routing.js';
import type { LinkStates } from '../../src/state/types.js';
import { config, ids, isp1Up, isp2Up, link } from '../fixtures/configs.js';

const cfg = config(
  [link('isp1', 'ppp0', { weight: 8 }), link('isp2', 'ppp1', { weight: 2 }), link('lte', 'wwan0', { tier: 2 })],
  { policies: [{ name: 'mail', src: [], dst: [], protocol: 'tcp', srcPort: [], dstPort: [{ from: 25, to: 25 }], iif: [], via: ['isp2', 'isp1'], fallback: 'default' }] },
);
const ids3 = { ...ids, lte: 3 };
const inputs = (states: LinkStates, extra: Partial<StatusInputs> = {}): StatusInputs => ({
  config: cfg, states, ids: ids3, plan: planRouting(cfg, states, ids3), notes: [], health: {}, ...extra,
});
const out2 = { ...isp2Up, healthy: false, healthReason: 'probes', healthSince: '2026-01-01T00:05:00.000Z' };
// lte is the only link up in IPv6: it carries IPv6, and is the tier-2 standby in IPv4.
const lte = { link: 'lte', iface: 'wwan0', kind: 'manual' as const, v4: { local: '10.200.0.2', gateway: '10.200.0.1' }, v6: { local: '2001:db8:7::2', gateway: 'fe80::1' }, since: '2026-01-01T00:00:00.000Z' };

describe('buildStatusReport', () => {
  it('every link: state and why, since, addresses, numbers, what it carries; the policies with their decision and hits', () => {
    const report = buildStatusReport(inputs({ isp1: isp1Up, isp2: out2, lte }, {
      counters: { in_isp1: { packets: 10, bytes: 1000 }, out_isp1: { packets: 20, bytes: 4096 }, policy_mail: { packets: 7, bytes: 420 } },
      connections: { 4: new Map([[0x100, 12], [0x300, 1]]), 6: new Map([[0x300, 2]]) },
      health: { isp2: { link: 'isp2', probing: true, lastRttMs: 1.5, loss: 1, windows: 50, updated: 'x' } },
    }));
    expect(report.links[0]).toEqual({
      name: 'isp1', interface: 'ppp0', kind: 'ppp', tier: 1, weight: 8, state: 'in service', since: isp1Up.since, balanced: [4],
      ipv4: { address: '100.64.1.2', peer: '100.64.1.1' }, table: 201, mark: '0x100', connections: { ipv4: 12, ipv6: 0 },
      traffic: { rx: { packets: 10, bytes: 1000 }, tx: { packets: 20, bytes: 4096 } },
    });
    expect(report.links[1]).toMatchObject({ state: 'out of service', reason: 'probes', since: '2026-01-01T00:05:00.000Z', balanced: [], probe: { rttMs: 1.5, loss: 1 } });
    expect(report.links[2]).toMatchObject({ state: 'in service', balanced: [6], connections: { ipv4: 1, ipv6: 2 }, ipv6: { address: '2001:db8:7::2', gateway: 'fe80::1', prefixes: [] } });
    expect(report.policies).toEqual([{ name: 'mail', via: ['isp2', 'isp1'], now: 'isp1', hits: 7 }]);
    expect(statusExitCode(report)).toBe(1);
  });

  it('exit status: 0 when every link is in service, 2 when none is', () => {
    expect(statusExitCode(buildStatusReport(inputs({ isp1: isp1Up, isp2: isp2Up, lte })))).toBe(0);
    expect(statusExitCode(buildStatusReport(inputs({})))).toBe(2);
    expect(statusExitCode(buildStatusReport(inputs({ isp1: { ...isp1Up, healthy: false } })))).toBe(2);
  });

  it('without conntrack or nft counters the report says nothing of them rather than zero', () => {
    const report = buildStatusReport(inputs({ isp1: isp1Up }));
    expect(report.links[0]!.connections).toBeUndefined();
    expect(report.links[0]!.traffic).toBeUndefined();
    expect(report.policies[0]!.hits).toBeUndefined();
  });
});

describe('renderStatus', () => {
  it('a table a person reads at 3 a.m.', () => {
    const text = renderStatus(buildStatusReport(inputs({ isp1: isp1Up, isp2: out2, lte }, {
      counters: { in_isp1: { packets: 1500, bytes: 3 * 1024 * 1024 }, out_isp1: { packets: 20, bytes: 4096 } },
      connections: { 4: new Map([[0x100, 12]]), 6: new Map() },
    })));
    expect(text.split('\n')).toEqual([
      'LINK  IFACE  KIND    TIER  WEIGHT  STATE                                 SINCE                 ADDRESS        GATEWAY     TABLE  MARK   CONNS  RX            TX          PROBES',
      'isp1  ppp0   ppp     1     8       in service                            2026-01-01 00:00:00Z  100.64.1.2     100.64.1.1  201    0x100  12     1.5kp/3.0MiB  20p/4.0KiB  -',
      'isp2  ppp1   ppp     1     2       OUT OF SERVICE (probes)               2026-01-01 00:05:00Z  100.64.2.2     100.64.2.1  202    0x200  0      0p/0B         0p/0B       -',
      'lte   wwan0  manual  2     1       in service, standby in IPv4 (tier 2)  2026-01-01 00:00:00Z  10.200.0.2     10.200.0.1  203    0x300  0      0p/0B         0p/0B       -',
      '                                                                                               2001:db8:7::2  fe80::1',
      '',
      'POLICY  VIA          NOW   HITS',
      'mail    isp2 > isp1  isp1  0',
      '',
      'in service: isp1, lte',
    ]);
  });

  it('a link never seen and one that is down', () => {
    const text = renderStatus(buildStatusReport(inputs({ isp2: { link: 'isp2', iface: 'ppp1', since: isp2Up.since } })));
    expect(text).toMatch(/^isp1 +ppp0 +- +1 +8 +never seen +- +- +- +201 +0x100 +\? +- +- +-$/m);
    expect(text).toMatch(/^isp2 +ppp1 +- +1 +2 +DOWN +2026-01-01 00:00:00Z/m);
  });
});

describe('renderStatusPrometheus', () => {
  it('the exposition format node_exporter reads', () => {
    const text = renderStatusPrometheus(buildStatusReport(inputs({ isp1: isp1Up, isp2: out2 }, { counters: { in_isp1: { packets: 10, bytes: 1000 }, policy_mail: { packets: 3, bytes: 1 } }, connections: { 4: new Map([[0x100, 5]]), 6: new Map() } })));
    expect(text).toContain('# TYPE multiwan_link_in_service gauge\nmultiwan_link_in_service{link="isp1",interface="ppp0"} 1\nmultiwan_link_in_service{link="isp2",interface="ppp1"} 0\nmultiwan_link_in_service{link="lte",interface="wwan0"} 0\n');
    expect(text).toContain('multiwan_link_receive_bytes_total{link="isp1",interface="ppp0"} 1000\n');
    expect(text).toContain('multiwan_link_connections{link="isp1",interface="ppp0",family="ipv4"} 5\n');
    expect(text).toContain('multiwan_policy_hits_total{policy="mail",now="isp1"} 3\n');
    expect(text).toContain('multiwan_link_state_since_seconds{link="isp1",interface="ppp0"} 1767225600\n');
    for (const line of text.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) multiwan_\w+ .+|multiwan_\w+(\{[^}]*\})? -?[\d.e+-]+)$/);
  });
});

describe('reading counters and conntrack', () => {
  it('the counters listed with the stamp in the read-back round (nft 1.0.6 text)', () => {
    const listing = 'table inet multiwan {\n\tchain stamp {\n\t\treturn comment "plan 1234abcd"\n\t}\n}\ntable inet multiwan {\n\tcounter in_isp1 {\n\t\tpackets 6 bytes 504\n\t}\n\n\tcounter policy_mail-via.isp1 {\n\t\tpackets 0 bytes 0\n\t}\n}\n';
    expect(parseNftCounters(listing)).toEqual({ in_isp1: { packets: 6, bytes: 504 }, 'policy_mail-via.isp1': { packets: 0, bytes: 0 } });
    expect(parseNftCounters('garbage')).toEqual({});
  });
  it('conntrack -L: connections per mark, masked (other software\'s bits ignored)', () => {
    const listing = [
      'tcp      6 431999 ESTABLISHED src=192.168.10.2 dst=198.51.100.10 sport=1 dport=7000 src=198.51.100.10 dst=100.64.1.2 sport=7000 dport=1 [ASSURED] mark=256 use=1',
      'tcp      6 431999 ESTABLISHED src=192.168.10.2 dst=198.51.100.10 sport=2 dport=7000 src=198.51.100.10 dst=100.64.1.2 sport=7000 dport=2 [ASSURED] mark=65792 use=1',
      'udp      17 29 src=192.168.10.2 dst=198.51.100.10 sport=3 dport=53 [UNREPLIED] src=198.51.100.10 dst=100.64.2.2 sport=53 dport=3 mark=512 use=1',
      'icmp     1 29 src=192.168.10.2 dst=198.51.100.10 type=8 code=0 id=1 src=198.51.100.10 dst=192.168.10.2 type=0 code=0 id=1 mark=0 use=1',
    ].join('\n');
    expect([...countByMark(listing, 0x3f00)]).toEqual([[0x100, 2], [0x200, 1]]);
  });
});
