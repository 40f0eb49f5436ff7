/**
 * Every config key, its default and what it means: the one source of the
 * README's config tables and of multiwan.toml(5) (scripts/render-docs.ts
 * writes both; a unit test fails when the README is out of date). Markdown
 * inline code (`x`) is the only markup used, so man pages render it too.
 */

export interface KeyDoc {
  key: string;
  default: string;
  meaning: string;
}

export interface KeySection {
  id: 'top' | 'link' | 'check' | 'policy';
  title: string;
  keys: KeyDoc[];
}

export const configReference: KeySection[] = [
  {
    id: 'top',
    title: 'Top level',
    keys: [
      { key: 'lan', default: '`[]`', meaning: 'Prefixes (IPv4 or IPv6) of the local networks. Traffic to them is never marked or policy-routed.' },
      { key: 'balance', default: '`"connection"`', meaning: 'How new connections spread over the balanced links: `"connection"` hashes each connection (its addresses and ports), `"source"` sends every new connection of one LAN host (an IPv6 host by its /64) through the same link while that link is in service, hosts spread by weight.' },
      { key: 'mark_mask', default: '`"0x3f00"`', meaning: 'Bits of the packet and connection mark that multiwan uses. It must be one run of set bits, and it sets how many links there can be (0x3f00: 63). Every mark operation is masked, so bits outside it (WireGuard, SQM, Docker) are never changed.' },
      { key: 'table_base', default: '`200`', meaning: 'The balance table. Link tables are `table_base + id`, and 253–255 are skipped. The same numbers are used in IPv4 and IPv6 (the kernel keeps the families apart).' },
      { key: 'rule_priority', default: '`1000`', meaning: "The first priority of multiwan's rules. They use P to P+400." },
    ],
  },
  {
    id: 'link',
    title: '[link.NAME]: one uplink. NAME is 1–32 letters, digits, `_` or `-`.',
    keys: [
      { key: 'interface', default: 'required', meaning: 'The interface the link is on (`ppp0`, `eth1`, `wg0`). At most one link per interface. pppd may also name the link with `ipparam NAME`.' },
      { key: 'weight', default: '`1`', meaning: 'The share of new connections in the multipath route, 1–256.' },
      { key: 'tier', default: '`1`', meaning: 'Backup tier, 1–9. The balanced default holds the in-service links of the lowest tier that has any; a link of tier 2 carries new connections only while every tier-1 link is out of service. Policies, `routes` and `dns` ignore tiers.' },
      { key: 'masquerade', default: '`true`', meaning: "Source NAT (IPv4) to the link's address. Set it to `false` for routing without a second NAT (an upstream router that routes your LAN)." },
      { key: 'masquerade6', default: '`false`', meaning: "Source NAT for IPv6 (NAT66) to the link's IPv6 address. Off by default: IPv6 is routed by source prefix, each ISP's prefix through that ISP." },
      { key: 'prefixes6', default: '`[]`', meaning: 'IPv6 prefixes this ISP delegated statically. While the link is up in IPv6, `from` rules send traffic from them through it. Prefixes learned by DHCPv6-PD are added by themselves.' },
      { key: 'dns', default: '`[]`', meaning: "This ISP's resolvers (either family), always reached through this link while it is in service (`to` rules)." },
      { key: 'routes', default: '`[]`', meaning: 'Destination prefixes (either family) that always use this link while it is in service. When the link leaves service they leave too, and their traffic falls back to the balanced default. A prefix belongs to one link.' },
      { key: 'routes_file', default: 'none', meaning: 'An absolute path: more `routes`, one prefix a line, `#` comments. Tens of thousands are fine (one `ip -batch`). An edit of the file is picked up by the next event, or by `multiwan apply`.' },
      { key: 'check', default: 'none', meaning: 'Health probes, as an inline table: `check = { targets = ["1.1.1.1", "9.9.9.9"] }`. Without it, only carrier and address decide whether the link is in service.' },
      { key: 'flush_conntrack', default: '`true`', meaning: 'When the monitor takes the link out of service, delete the connections pinned to it, so clients reconnect at once over a live link instead of waiting for a TCP timeout.' },
      { key: 'id', default: 'assigned', meaning: 'Pins the link\'s number: table `table_base + id`, mark `id << shift(mark_mask)`. Without it, a link keeps the number it was first given (kept in `/run/multiwan/ids.json`), so reordering or editing the config never moves live connections\' marks.' },
    ],
  },
  {
    id: 'check',
    title: 'check: health probes of a link (run by `multiwan monitor`)',
    keys: [
      { key: 'targets', default: 'required', meaning: 'Addresses to probe. Use two or more. A link is probed in IPv4 when it is up in IPv4, else in IPv6, with the targets of that family.' },
      { key: 'method', default: '`"icmp"`', meaning: '`"icmp"` (echo) or `"tcp"` (connect to `port`; a refused connection counts as an answer, since it came back through the link).' },
      { key: 'port', default: '`443`', meaning: 'The TCP port for `method = "tcp"`.' },
      { key: 'interval', default: '`"200ms"`', meaning: 'The window length: `"200ms"`, `"1s"`; 50 ms to 60 s.' },
      { key: 'count', default: '`3`', meaning: 'Probes to each target per window (1–10).' },
      { key: 'down', default: '`3`', meaning: 'Failed windows in a row that take the link out of service.' },
      { key: 'up', default: '`3`', meaning: 'Good windows in a row that put it back.' },
    ],
  },
  {
    id: 'policy',
    title: '[[policy]]: first match wins, in file order',
    keys: [
      { key: 'name', default: '`policy-N`', meaning: 'Shown by `explain`, in nft comments and in messages.' },
      { key: 'src`, `dst', default: 'any', meaning: 'Prefixes of either family, and `"@/path/file"` lists (one prefix a line, `#` comments). A list becomes one nft interval set, not a rule per prefix. Overlapping prefixes are an error, because an nft set holds each address once.' },
      { key: 'protocol', default: 'any', meaning: '`tcp`, `udp`, `sctp`, `dccp`, `udplite`, `icmp`, `icmpv6`, `gre`, `esp`, `ah`, or a number (a number with a name, like 6, means that name). Ports without a protocol mean tcp and udp.' },
      { key: 'src_port`, `dst_port', default: 'any', meaning: 'Ports and ranges: `[25, "8000-8100"]`.' },
      { key: 'iif', default: 'any', meaning: 'Incoming interface(s), such as `"wg0"`. The router\'s own traffic has none.' },
      { key: 'via', default: 'required', meaning: 'Links in order; the first one in service wins.' },
      { key: 'fallback', default: '`"default"`', meaning: 'When no link of `via` is in service: `"default"` (the balanced route) or `"unreachable"` (the connection is rejected with ICMP host-unreachable).' },
    ],
  },
];

/** One section as a markdown table (the README's form). */
export function renderKeyTable(section: KeySection): string {
  const rows = section.keys.map((k) => `| \`${k.key}\` | ${k.default} | ${k.meaning} |`);
  return ['| key | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
