import { describe, expect, it } from 'vitest';
import { locateKey } from '../../src/config/locate-key.js';

const source = [
  /*  1 */ '# multiwan',
  /*  2 */ 'lan = ["192.168.10.0/24"]',
  /*  3 */ 'mark_mask = "0x3f00"',
  /*  4 */ '',
  /*  5 */ '[link.isp1]',
  /*  6 */ 'interface = "ppp0"',
  /*  7 */ '# weight = 9',
  /*  8 */ 'weight = 3',
  /*  9 */ '',
  /* 10 */ '[ link.isp2 ]  # second uplink',
  /* 11 */ '"interface" = "eth1"',
  /* 12 */ "'weight'=2",
  /* 13 */ '',
  /* 14 */ '[[policy]]',
  /* 15 */ 'to = ["isp1"]',
  /* 16 */ '',
  /* 17 */ '[[policy]]',
  /* 18 */ 'to = ["isp2"]',
  /* 19 */ 'proto = "udp"',
  /* 20 */ '',
  /* 21 */ '[[policy]]',
  /* 22 */ 'proto = "tcp"',
  /* 23 */ '',
  /* 24 */ '[link."isp 3"]',
  /* 25 */ 'interface = "ppp2"',
  /* 26 */ 'extra.alt.interface = "x"',
].join('\n');

describe('locateKey', () => {
  it.each([
    ['top-level key', ['lan'], 2],
    ['array element of a top-level key', ['lan', 0], 2],
    ['another top-level key', ['mark_mask'], 3],
    ['table header', ['link', 'isp1'], 5],
    ['key in a table', ['link', 'isp1', 'interface'], 6],
    ['key after a commented-out copy', ['link', 'isp1', 'weight'], 8],
    ['header with spaces and a comment', ['link', 'isp2'], 10],
    ['double-quoted key', ['link', 'isp2', 'interface'], 11],
    ['single-quoted key, no spaces', ['link', 'isp2', 'weight'], 12],
    ['quoted table name', ['link', 'isp 3', 'interface'], 25],
    ['dotted key inside a table', ['link', 'isp 3', 'extra', 'alt', 'interface'], 26],
    ['first [[policy]] element', ['policy', 0, 'to'], 15],
    ['second [[policy]] element', ['policy', 1, 'to'], 18],
    ['key only in the second element', ['policy', 1, 'proto'], 19],
    ['third element header', ['policy', 2], 21],
    ['key of the third element', ['policy', 2, 'proto'], 22],
    ['absent key of the second element -> its header', ['policy', 1, 'from'], 17],
    ['absent key -> its table header', ['link', 'isp1', 'masquerade'], 5],
    ['absent key of a later table -> that header', ['link', 'isp2', 'dns', 0], 10],
  ] as const)('%s: %j -> line %i', (_what, path, line) => {
    expect(locateKey(source, path)).toBe(line);
  });

  it.each([
    ['absent top-level key', ['table_base']],
    ['absent table', ['link', 'isp9', 'interface']],
  ] as const)('%s -> undefined', (_what, path) => {
    expect(locateKey(source, path)).toBeUndefined();
  });

  it('does not take a key of one table for the same key of another', () => {
    const text = '[link.a]\nweight = 1\n[link.b]\ninterface = "x"\n';
    expect(locateKey(text, ['link', 'b', 'weight'])).toBe(3);
  });

  it('a key before any header belongs to the top level', () => {
    expect(locateKey('weight = 1\n[link.a]\nweight = 2\n', ['weight'])).toBe(1);
    expect(locateKey('weight = 1\n[link.a]\nweight = 2\n', ['link', 'a', 'weight'])).toBe(3);
  });

  it('dotted keys at the top level name keys of tables', () => {
    const text = 'lan = []\nlink.isp1.interface = "ppp0"\nlink.isp1.weight = 2\n';
    expect(locateKey(text, ['link', 'isp1', 'weight'])).toBe(3);
    expect(locateKey(text, ['link', 'isp1', 'interface'])).toBe(2);
  });

  it('handles CRLF line endings', () => {
    expect(locateKey('lan = []\r\n[link.a]\r\ninterface = "x"\r\n', ['link', 'a', 'interface'])).toBe(3);
  });

  // Regression (was a bug in src/config/locate-key.ts): a path that names a table only ever
  // opened through sub-table headers ([link.isp1], [link.isp2], no [link])
  // finds no line; parseConfig then falls back to line 1 for problems about
  // `link` as a whole (e.g. "4 links but mark_mask ... numbers only 3").
  // The first header that opens it is the right answer.
  it('a table opened only by its sub-table headers -> the first such header', () => {
    expect(locateKey('lan = []\n\n[link.isp1]\ninterface = "ppp0"\n', ['link'])).toBe(3);
  });
});
