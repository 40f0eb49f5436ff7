/**
 * `multiwan status` as text: a table of links, one row each (a second row
 * for a link's IPv6), then the policies. Pure.
 */
import type { Counter } from '../plan/render-nft.js';
import type { LinkReport, StatusReport } from './status-report.js';

export function renderStatus(report: StatusReport): string {
  if (!report.links.length) return `no links in ${report.config}`;
  const header = ['LINK', 'IFACE', 'KIND', 'TIER', 'WEIGHT', 'STATE', 'SINCE', 'ADDRESS', 'GATEWAY', 'TABLE', 'MARK', 'CONNS', 'RX', 'TX', 'PROBES'];
  const rows: string[][] = [header];
  for (const link of report.links) {
    rows.push([
      link.name,
      link.interface,
      link.kind ?? '-',
      String(link.tier),
      String(link.weight),
      stateText(link),
      link.since ? shortTime(link.since) : '-',
      link.ipv4?.address ?? (link.ipv6 ? '' : '-'),
      link.ipv4 ? (link.ipv4.gateway ?? link.ipv4.peer ?? '-') : link.ipv6 ? '' : '-',
      link.table === undefined ? '-' : String(link.table),
      link.mark ?? '-',
      link.connections ? String(link.connections.ipv4 + link.connections.ipv6) : '?',
      link.traffic ? traffic(link.traffic.rx) : '-',
      link.traffic ? traffic(link.traffic.tx) : '-',
      link.probe ? `rtt ${link.probe.rttMs !== undefined ? `${link.probe.rttMs} ms` : '-'} loss ${Math.round(link.probe.loss * 100)}%` : '-',
    ]);
    if (link.ipv6) {
      const v6 = [link.ipv6.address, ...link.ipv6.prefixes].filter(Boolean).join(' ') || '(link-local)';
      rows.push(['', '', '', '', '', '', '', v6, link.ipv6.gateway ?? link.ipv6.peer ?? '-', '', '', '', '', '', '']);
    }
  }
  const lines = [table(rows)];
  if (report.policies.length) {
    lines.push('', table([['POLICY', 'VIA', 'NOW', 'HITS'], ...report.policies.map((p) => [p.name, p.via.join(' > '), p.now, p.hits === undefined ? '?' : String(p.hits)])]));
  }
  lines.push('', `in service: ${report.inService.join(', ') || 'none'}`);
  for (const note of report.notes) lines.push(`note: ${note} at the next event`);
  return lines.join('\n');
}

function stateText(link: LinkReport): string {
  if (link.state === 'in service') {
    const families = [link.ipv4 ? 4 : undefined, link.ipv6 ? 6 : undefined].filter((f) => f !== undefined);
    const standby = families.filter((f) => !link.balanced.includes(f as 4 | 6));
    if (!standby.length) return 'in service';
    return `in service, standby${standby.length < families.length ? ` in IPv${standby.join(', IPv')}` : ''} (tier ${link.tier})`;
  }
  if (link.state === 'out of service') return `OUT OF SERVICE (${link.reason})`;
  return link.state === 'down' ? 'DOWN' : 'never seen';
}

/** ISO time as `2026-11-30 20:25:41Z`: sortable and short. */
function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function traffic(c: Counter): string {
  return `${human(c.packets, 1000, '')}p/${human(c.bytes, 1024, 'B')}`;
}

function human(n: number, base: number, unit: string): string {
  const prefixes = base === 1024 ? ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi'] : ['', 'k', 'M', 'G', 'T', 'P'];
  let value = n;
  let i = 0;
  while (value >= base && i < prefixes.length - 1) {
    value /= base;
    i++;
  }
  const text = i === 0 ? String(value) : value < 10 ? value.toFixed(1) : String(Math.round(value));
  return `${text}${prefixes[i]}${unit}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length)));
  return rows.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  ').trimEnd()).join('\n');
}
