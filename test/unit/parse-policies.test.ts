import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/parse-config.js';
import { ConfigError } from '../../src/errors.js';

const FILE = '/etc/multiwan/multiwan.toml';
const links = `[link.isp1]\ninterface = "ppp0"\n[link.isp2]\ninterface = "ppp1"\n`;
const files: Record<string, string> = {
  '/etc/multiwan/vpn-clients.txt': '# the VPN clients\n192.168.192.0/24\n192.168.193.0/24\n',
  '/etc/multiwan/bad.txt': '10.0.0.0/8\n\n10.300.0.0/16\n',
  '/etc/multiwan/inner.txt': '192.168.192.128/25\n',
};
const reader = (path: string) => {
  const text = files[path];
  if (text === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
  return text;
};
const problemsOf = (source: string): string[] => {
  try {
    parseConfig(source, FILE, reader);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('[[policy]]', () => {
  it('parses every selector, resolves @files, and keeps file order', () => {
    const config = parseConfig(
      `${links}
[[policy]]
name = "mail"
protocol = "TCP"
dst_port = [25, "8000-8100"]
via = ["isp1", "isp2"]

[[policy]]
src = ["@/etc/multiwan/vpn-clients.txt", "10.8.0.0/16"]
src_port = [80, 443]
iif = "wg0"
via = ["isp2"]
fallback = "unreachable"
`,
      FILE,
      reader,
    );
    expect(config.policies).toEqual([
      { name: 'mail', src: [], dst: [], protocol: 'tcp', srcPort: [], dstPort: [{ from: 25, to: 25 }, { from: 8000, to: 8100 }], iif: [], via: ['isp1', 'isp2'], fallback: 'default' },
      {
        name: 'policy-2',
        src: ['192.168.192.0/24', '192.168.193.0/24', '10.8.0.0/16'],
        dst: [],
        srcPort: [{ from: 80, to: 80 }, { from: 443, to: 443 }],
        dstPort: [],
        iif: ['wg0'],
        via: ['isp2'],
        fallback: 'unreachable',
      },
    ]);
    expect(config.files).toEqual(['/etc/multiwan/vpn-clients.txt']);
  });

  it.each([
    ['a link no [link] names', `[[policy]]\nvia = ["isp1", "isp9"]\n`, [`${FILE}:6: policy.0.via.1: unknown link "isp9"; the links are isp1, isp2`]],
    ['no via', `[[policy]]\nname = "x"\n`, [`${FILE}:5: policy.0.via: is required`]],
    ['an empty via', `[[policy]]\nvia = []\n`, [`${FILE}:6: policy.0.via: names no link; list the links to use, first in service wins`]],
    ['a port out of range', `[[policy]]\ndst_port = [70000]\nvia = ["isp1"]\n`, [`${FILE}:6: policy.0.dst_port.0: 70000 is not a port (1-65535) or a range like "8000-8100"`]],
    ['a reversed range', `[[policy]]\ndst_port = ["90-80"]\nvia = ["isp1"]\n`, [`${FILE}:6: policy.0.dst_port.0: "90-80" is not a port (1-65535) or a range like "8000-8100"`]],
    ['overlapping port ranges', `[[policy]]\ndst_port = ["8000-8100", 8080]\nvia = ["isp1"]\n`, [`${FILE}:6: policy.0.dst_port: 8080 overlaps 8000-8100; list each port once`]],
    ['ports on a protocol without them', `[[policy]]\nprotocol = "icmp"\ndst_port = [8]\nvia = ["isp1"]\n`, [`${FILE}:7: policy.0.dst_port: protocol "icmp" has no ports; drop dst_port or use tcp, udp or sctp`]],
    ['an unknown protocol', `[[policy]]\nprotocol = "tpc"\nvia = ["isp1"]\n`, [`${FILE}:6: policy.0.protocol: must be one of tcp, udp, sctp, dccp, udplite, icmp, icmpv6, gre, esp, ah or a protocol number 0-255`]],
    ['a bad prefix', `[[policy]]\ndst = ["10.0.0.0/33"]\nvia = ["isp1"]\n`, [`${FILE}:6: policy.0.dst.0: "10.0.0.0/33" has a prefix length that is not 0 to 32, or "@/path/file" for a list`]],
    ['a missing @file', `[[policy]]\ndst = ["@/etc/multiwan/nope.txt"]\nvia = ["isp1"]\n`, [`${FILE}:6: policy.0.dst.0: cannot read /etc/multiwan/nope.txt (ENOENT); create it (one prefix a line) or fix the path`]],
    ['a relative @file', `[[policy]]\ndst = ["@lists/x.txt"]\nvia = ["isp1"]\n`, [`${FILE}:6: policy.0.dst.0: "lists/x.txt" must be an absolute path`]],
    ['a malformed line in an @file: that file and line', `[[policy]]\ndst = ["@/etc/multiwan/bad.txt"]\nvia = ["isp1"]\n`, ['/etc/multiwan/bad.txt:3: "10.300.0.0/16" is not an IPv4 or IPv6 prefix (like 192.0.2.0/24 or 2001:db8::/32); one prefix a line, # for comments']],
    [
      'overlapping prefixes across an @file and the list',
      `[[policy]]\nsrc = ["@/etc/multiwan/vpn-clients.txt", "@/etc/multiwan/inner.txt"]\nvia = ["isp1"]\n`,
      ['/etc/multiwan/inner.txt:1: 192.168.192.128/25 overlaps 192.168.192.0/24 (/etc/multiwan/vpn-clients.txt:2); an nft set takes each address once: remove or merge one'],
    ],
    [
      'overlapping prefixes written in the config',
      `[[policy]]\ndst = ["10.0.0.0/8", "10.1.0.0/16"]\nvia = ["isp1"]\n`,
      [`${FILE}:6: policy.0.dst.1: 10.1.0.0/16 overlaps 10.0.0.0/8 (policy.0.dst.0); an nft set takes each address once: remove or merge one`],
    ],
    ['families that cannot meet', `[[policy]]\nsrc = ["10.0.0.0/8"]\ndst = ["2001:db8::/32"]\nvia = ["isp1"]\n`, [`${FILE}:7: policy.0.dst: src and dst share no address family (one is IPv4, the other IPv6), so nothing can match; split the policy`]],
    ['a bad fallback', `[[policy]]\nvia = ["isp1"]\nfallback = "drop"\n`, [`${FILE}:7: policy.0.fallback: must be "default" or "unreachable"`]],
    ['an unknown key', `[[policy]]\nvia = ["isp1"]\ndport = [25]\n`, [`${FILE}:7: policy.0.dport: unknown key; remove it or check its spelling`]],
  ])('%s', (_name, policyToml, problems) => {
    expect(problemsOf(`${links}${policyToml}`)).toEqual(problems);
  });

  it('the line of the second [[policy]] is found for its problems', () => {
    expect(problemsOf(`${links}[[policy]]\nvia = ["isp1"]\n\n[[policy]]\nvia = ["nope"]\n`)).toEqual([
      `${FILE}:9: policy.1.via.0: unknown link "nope"; the links are isp1, isp2`,
    ]);
  });
});

describe('routes_file', () => {
  it('merges with routes, canonical, without duplicates', () => {
    const config = parseConfig(`[link.isp1]\ninterface = "ppp0"\nroutes = ["192.168.193.0/24"]\nroutes_file = "/etc/multiwan/vpn-clients.txt"\n`, FILE, reader);
    expect(config.links[0]!.routes).toEqual(['192.168.193.0/24', '192.168.192.0/24']);
    expect(config.files).toEqual(['/etc/multiwan/vpn-clients.txt']);
  });

  it('a prefix in one link’s file and another link’s routes is named by its file and line', () => {
    expect(
      problemsOf(`[link.isp1]\ninterface = "ppp0"\nroutes = ["192.168.192.0/24"]\n[link.isp2]\ninterface = "ppp1"\nroutes_file = "/etc/multiwan/vpn-clients.txt"\n`),
    ).toEqual(['/etc/multiwan/vpn-clients.txt:2: 192.168.192.0/24 is already routed through link "isp1"; a prefix belongs to one link']);
  });

  it('a missing file', () => {
    expect(problemsOf(`[link.isp1]\ninterface = "ppp0"\nroutes_file = "/etc/multiwan/none.txt"\n`)).toEqual([
      `${FILE}:3: link.isp1.routes_file: cannot read /etc/multiwan/none.txt (ENOENT); create it (one prefix a line) or fix the path`,
    ]);
  });
});
