import { describe, expect, it } from 'vitest';
import type { Config, PolicyConfig } from '../../src/config/types.js';
import { explainPacket, matchPolicy, type Packet } from '../../src/plan/explain.js';
import { planRouting } from '../../src/plan/plan-routing.js';
import type { LinkStates } from '../../src/state/types.js';
import { ids, isp1Up, isp2Up, twoLinks } from '../fixtures/configs.js';

const policy = (over: Partial<PolicyConfig>): PolicyConfig => ({
  name: 'p', src: [], dst: [], srcPort: [], dstPort: [], iif: [], via: ['isp1'], fallback: 'default', ...over,
});
const mail = policy({ name: 'mail', protocol: 'tcp', dstPort: [{ from: 25, to: 25 }, { from: 465, to: 465 }], via: ['isp1', 'isp2'] });
const config: Config = { ...twoLinks, policies: [mail, policy({ name: 'web-over-vpn', src: ['192.168.192.0/24'], srcPort: [{ from: 80, to: 80 }], protocol: 'tcp', via: ['isp2'], fallback: 'unreachable' })] };
const both = { isp1: isp1Up, isp2: isp2Up };
const explain = (c: Config, states: LinkStates, packet: Packet) => explainPacket(c, states, planRouting(c, states, ids), packet);
const client = '192.168.10.2';

describe('explainPacket: the same decisions as the ruleset, in its order', () => {
  it('a policy match takes its first link in service', () => {
    const e = explain(config, both, { src: client, dst: '198.51.100.10', protocol: 'tcp', dport: 25 });
    expect(e.policies).toEqual([{ name: 'mail', matched: true, why: 'every selector matches' }]);
    expect(e.via).toEqual([
      { link: 'isp1', state: 'in service', chosen: true },
      { link: 'isp2', state: 'in service', chosen: false },
    ]);
    expect(e.decision).toEqual({ kind: 'link', link: 'isp1', mark: 0x100, table: 201, why: 'policy "mail" sends it via isp1, the first of its links' });
  });

  it('says why it skipped a link out of service', () => {
    const e = explain(config, { isp1: { ...isp1Up, healthy: false, healthReason: 'probes' }, isp2: isp2Up }, { src: client, dst: '198.51.100.10', protocol: 'tcp', dport: 465 });
    expect(e.decision).toMatchObject({ kind: 'link', link: 'isp2', mark: 0x200, table: 202, why: 'policy "mail" sends it via isp2 (isp1 is out of service (probes))' });
  });

  it('no link of a policy in service: its fallback ("unreachable" rejects, "default" balances)', () => {
    const e = explain(config, { isp1: isp1Up }, { src: '192.168.192.7', dst: '198.51.100.10', protocol: 'tcp', sport: 80, dport: 40000 });
    expect(e.policies.map((p) => p.matched)).toEqual([false, true]);
    expect(e.decision.kind).toBe('unreachable');
    const m = explain(config, { isp2: isp2Up }, { src: client, dst: '198.51.100.10', protocol: 'tcp', dport: 25 });
    expect(m.decision).toMatchObject({ kind: 'link', link: 'isp2' });
  });

  it('no policy matches: a DNS server, a destination route, or the balanced route', () => {
    expect(explain(config, both, { src: client, dst: '24.19.100.1', protocol: 'udp', dport: 53 }).decision).toEqual({
      kind: 'link', link: 'isp1', table: 201, why: '24.19.100.1 is a DNS server of isp1: reached through it',
    });
    expect(explain(config, both, { src: client, dst: '196.21.3.4', protocol: 'tcp', dport: 443 }).decision).toEqual({
      kind: 'link', link: 'isp1', table: 200, why: '196.21.3.4 is in 196.21.0.0/19, a destination route of isp1',
    });
    const balanced = explain(config, both, { src: client, dst: '198.51.100.10', protocol: 'tcp', dport: 443 });
    expect(balanced.policies).toEqual([
      { name: 'mail', matched: false, why: 'dport 443 is not in dst_port' },
      { name: 'web-over-vpn', matched: false, why: `src ${client} is in none of its 1 IPv4 src prefix(es)` },
    ]);
    expect(balanced.decision).toMatchObject({ kind: 'balance', table: 200, weights: [{ link: 'isp1', weight: 8 }, { link: 'isp2', weight: 2 }] });
  });

  it('traffic to the lan is never marked', () => {
    expect(explain(config, both, { src: client, dst: '192.168.10.9' }).decision.kind).toBe('lan');
  });

  it('no link in service at all', () => {
    expect(explain({ ...twoLinks }, {}, { src: client, dst: '198.51.100.10' }).decision.kind).toBe('none');
  });
});

describe('matchPolicy', () => {
  it.each<[string, Partial<PolicyConfig>, Packet, boolean]>([
    ['ports without protocol match tcp', { dstPort: [{ from: 53, to: 53 }] }, { src: client, dst: '1.1.1.1', protocol: 'tcp', dport: 53 }, true],
    ['ports without protocol do not match icmp', { dstPort: [{ from: 53, to: 53 }] }, { src: client, dst: '1.1.1.1', protocol: 'icmp' }, false],
    ['a port range', { protocol: 'udp', dstPort: [{ from: 8000, to: 8100 }] }, { src: client, dst: '1.1.1.1', protocol: 'udp', dport: 8050 }, true],
    ['iif given and matching', { iif: ['lan0'] }, { src: client, dst: '1.1.1.1', iif: 'lan0' }, true],
    ['iif wanted, router traffic has none', { iif: ['lan0'] }, { src: '100.64.1.2', dst: '1.1.1.1' }, false],
    ['icmp policy matches an IPv6 ping as icmpv6', { protocol: 'icmp', dst: ['2001:db8::/32'] }, { src: 'fd00::2', dst: '2001:db8::1', protocol: 'icmpv6' }, true],
  ])('%s', (_name, over, packet, matched) => {
    const config = { ...twoLinks, policies: [policy(over)] };
    const plan = planRouting(config, both, ids);
    const step = plan.steps.find((s) => s.kind === 'policy');
    if (step?.kind !== 'policy') throw new Error('no policy step');
    expect(matchPolicy(step.policy, packet, packet.dst.includes(':') ? 6 : 4).matched).toBe(matched);
  });
});
