import { describe, expect, it } from 'vitest';
import { findOverlaps, parsePrefixList } from '../../src/config/prefix-list.js';

describe('parsePrefixList', () => {
  it('one prefix a line, comments and blank lines allowed, canonical text', () => {
    const { entries, problems } = parsePrefixList('# ISP prefixes\n196.21.0.0/19\n\n41.0.0.0/11  # AS1234\n2001:db8::/32\n', '/etc/multiwan/isp1.txt');
    expect(problems).toEqual([]);
    expect(entries.map((e) => [e.prefix.text, e.where])).toEqual([
      ['196.21.0.0/19', '/etc/multiwan/isp1.txt:2'],
      ['41.0.0.0/11', '/etc/multiwan/isp1.txt:4'],
      ['2001:db8::/32', '/etc/multiwan/isp1.txt:5'],
    ]);
  });

  it('a malformed line is named by file and line', () => {
    expect(parsePrefixList('10.0.0.0/8\nten.0.0.0/8\n10.0.0.1/8\n', 'f').problems).toEqual([
      'f:2: "ten.0.0.0/8" is not an IPv4 or IPv6 prefix (like 192.0.2.0/24 or 2001:db8::/32); one prefix a line, # for comments',
      'f:3: "10.0.0.1/8" has host bits set; write 10.0.0.0/8; one prefix a line, # for comments',
    ]);
  });
});

describe('findOverlaps', () => {
  const list = (text: string) => parsePrefixList(text, 'f').entries;
  it.each([
    ['disjoint', '10.0.0.0/8\n11.0.0.0/8\n2001:db8::/32\n', []],
    ['adjacent is fine', '10.0.0.0/9\n10.128.0.0/9\n', []],
    ['same address in both families is fine', '0.0.0.0/0\n::/0\n', []],
    ['one inside another, later line named', '10.0.0.0/8\n10.1.0.0/16\n', ['f:2: 10.1.0.0/16 overlaps 10.0.0.0/8 (f:1); an nft set takes each address once: remove or merge one']],
    ['order does not matter: the later line is named', '10.1.0.0/16\n10.0.0.0/8\n', ['f:2: 10.0.0.0/8 overlaps 10.1.0.0/16 (f:1); an nft set takes each address once: remove or merge one']],
    ['a duplicate', '192.0.2.1\n192.0.2.1\n', ['f:2: 192.0.2.1 overlaps 192.0.2.1 (f:1); an nft set takes each address once: remove or merge one']],
  ])('%s', (_name, text, problems) => {
    expect(findOverlaps(list(text)).map((o) => `${o.entry.where}: ${o.message}`)).toEqual(problems);
  });

  it('10,000 prefixes are checked quickly', () => {
    const text = Array.from({ length: 10_000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`).join('\n');
    const entries = list(text);
    expect(entries).toHaveLength(10_000);
    expect(findOverlaps(entries)).toEqual([]);
  });
});
