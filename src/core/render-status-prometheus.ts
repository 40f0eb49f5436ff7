/**
 * `multiwan status --format prometheus`: the report in the text exposition
 * format, for node_exporter's textfile collector (write it to a .prom file
 * from a timer). Counters are `_total`; times are Unix seconds. Pure.
 */
import type { StatusReport } from './status-report.js';

export function renderStatusPrometheus(report: StatusReport): string {
  const out: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: [Record<string, string>, number][]) => {
    if (!samples.length) return;
    out.push(`# HELP multiwan_${name} ${help}`, `# TYPE multiwan_${name} ${type}`);
    for (const [labels, value] of samples) out.push(`multiwan_${name}${labelText(labels)} ${value}`);
  };
  const links = report.links;
  const id = (l: (typeof links)[number]) => ({ link: l.name, interface: l.interface });
  metric('link_up', 'gauge', 'Whether the link is up (1) or down (0).', links.map((l) => [id(l), l.state === 'in service' || l.state === 'out of service' ? 1 : 0]));
  metric('link_in_service', 'gauge', 'Whether the link is in service (1): up and not taken out by the monitor.', links.map((l) => [id(l), l.state === 'in service' ? 1 : 0]));
  metric('link_balanced', 'gauge', 'Whether the link carries new unpinned connections now in a family (its tier is the lowest in service).', links.flatMap((l) => ([4, 6] as const).filter((f) => (f === 4 ? l.ipv4 : l.ipv6)).map((f): [Record<string, string>, number] => [{ ...id(l), family: `ipv${f}` }, l.balanced.includes(f) ? 1 : 0])));
  metric('link_weight', 'gauge', 'The link\'s weight in the balanced route.', links.map((l) => [id(l), l.weight]));
  metric('link_tier', 'gauge', 'The link\'s backup tier.', links.map((l) => [id(l), l.tier]));
  metric('link_state_since_seconds', 'gauge', 'When the link last came up, went down, or changed service (Unix time).', links.flatMap((l) => (l.since ? [[id(l), Date.parse(l.since) / 1000]] : [])));
  metric('link_connections', 'gauge', 'Connections pinned to the link now (conntrack).', links.flatMap((l) => (l.connections ? [[{ ...id(l), family: 'ipv4' }, l.connections.ipv4], [{ ...id(l), family: 'ipv6' }, l.connections.ipv6]] : [])));
  metric('link_receive_packets_total', 'counter', 'Packets received on the link\'s interface.', links.flatMap((l) => (l.traffic ? [[id(l), l.traffic.rx.packets]] : [])));
  metric('link_receive_bytes_total', 'counter', 'Bytes received on the link\'s interface.', links.flatMap((l) => (l.traffic ? [[id(l), l.traffic.rx.bytes]] : [])));
  metric('link_transmit_packets_total', 'counter', 'Packets sent on the link\'s interface.', links.flatMap((l) => (l.traffic ? [[id(l), l.traffic.tx.packets]] : [])));
  metric('link_transmit_bytes_total', 'counter', 'Bytes sent on the link\'s interface.', links.flatMap((l) => (l.traffic ? [[id(l), l.traffic.tx.bytes]] : [])));
  metric('link_probe_rtt_seconds', 'gauge', 'The last probe round trip time.', links.flatMap((l) => (l.probe?.rttMs !== undefined ? [[id(l), l.probe.rttMs / 1000]] : [])));
  metric('link_probe_loss_ratio', 'gauge', 'Share of recent probes unanswered.', links.flatMap((l) => (l.probe ? [[id(l), l.probe.loss]] : [])));
  metric('policy_hits_total', 'counter', 'New connections the policy decided.', report.policies.flatMap((p) => (p.hits !== undefined ? [[{ policy: p.name, now: p.now }, p.hits]] : [])));
  metric('links_in_service', 'gauge', 'Links in service.', [[{}, report.inService.length]]);
  return out.join('\n') + '\n';
}

function labelText(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (!entries.length) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}
