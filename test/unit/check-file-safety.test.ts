import { describe, expect, it } from 'vitest';
import { checkFileSafety } from '../../src/config/check-file-safety.js';

const FILE = 0o100000;
const DIR = 0o040000;
const FIFO = 0o010000;
const LINK = 0o120000;
const conf = '/etc/multiwan/multiwan.toml';
const EUID = 1000;

describe('checkFileSafety: the file to read', () => {
  it.each([
    ['root, 644', FILE | 0o644, 0, undefined],
    ['root, 600', FILE | 0o600, 0, undefined],
    ['root, 444', FILE | 0o444, 0, undefined],
    ['the user running multiwan, 644', FILE | 0o644, EUID, undefined],
    ['setuid bits do not matter, only who can write', FILE | 0o4755, 0, undefined],
    ['writable by others', FILE | 0o666, 0, `${conf} is writable by others (mode 666); run chmod go-w ${conf}`],
    ['writable by others only', FILE | 0o602, 0, `${conf} is writable by others (mode 602); run chmod go-w ${conf}`],
    ['writable by its group', FILE | 0o664, 0, `${conf} is writable by its group (mode 664); run chmod go-w ${conf}`],
    ['writable by group and others: says others', FILE | 0o676, EUID, `${conf} is writable by others (mode 676); run chmod go-w ${conf}`],
    ['sticky does not excuse a file', FILE | 0o1666, 0, `${conf} is writable by others (mode 666); run chmod go-w ${conf}`],
    ['owned by another user', FILE | 0o644, 1001, `${conf} is owned by uid 1001, not root; run chown root: ${conf}`],
    ['a mode problem is said before the owner', FILE | 0o666, 1001, `${conf} is writable by others (mode 666); run chmod go-w ${conf}`],
    ['a FIFO (reading it would hang)', FIFO | 0o644, 0, `${conf} is a FIFO, not a regular file; name a regular file instead`],
    ['a directory', DIR | 0o755, 0, `${conf} is a directory, not a regular file; name a regular file instead`],
  ])('%s', (_what, mode, uid, expected) => {
    expect(checkFileSafety({ path: conf, mode, uid }, EUID)).toBe(expected);
  });

  it('with multiwan run by root, only root may own it', () => {
    expect(checkFileSafety({ path: conf, mode: FILE | 0o644, uid: 0 }, 0)).toBeUndefined();
    expect(checkFileSafety({ path: conf, mode: FILE | 0o644, uid: EUID }, 0)).toBe(`${conf} is owned by uid 1000, not root; run chown root: ${conf}`);
  });
});

describe('checkFileSafety: a directory on the way to it', () => {
  const dir = '/etc/multiwan';
  it.each([
    ['root, 755', DIR | 0o755, 0, undefined],
    ['root, 700', DIR | 0o700, 0, undefined],
    ['the user running multiwan, 755', DIR | 0o755, EUID, undefined],
    ['sticky and writable by all, like /tmp: others cannot replace what they do not own', DIR | 0o1777, 0, undefined],
    ['writable by others', DIR | 0o777, 0, `${dir} is writable by others (mode 777), so they can replace ${conf}; run chmod go-w ${dir}`],
    ['writable by its group', DIR | 0o775, 0, `${dir} is writable by its group (mode 775), so they can replace ${conf}; run chmod go-w ${dir}`],
    [
      'owned by another user',
      DIR | 0o755,
      1001,
      `${dir} is owned by uid 1001, not root, so they can replace ${conf}; run chown root: ${dir} or move ${conf} to a directory root owns`,
    ],
    [
      'sticky does not excuse the owner',
      DIR | 0o1777,
      1001,
      `${dir} is owned by uid 1001, not root, so they can replace ${conf}; run chown root: ${dir} or move ${conf} to a directory root owns`,
    ],
    ['not a directory', LINK | 0o777, 0, `${dir} is a symlink on the way to ${conf}; name ${conf} by a path through directories`],
  ])('%s', (_what, mode, uid, expected) => {
    expect(checkFileSafety({ path: dir, mode, uid }, EUID, conf)).toBe(expected);
  });
});

it('every problem is one line that names a command to run', () => {
  for (const mode of [0o666, 0o664, 0o602, 0o620]) {
    for (const holding of [undefined, conf]) {
      const line = checkFileSafety({ path: '/x', mode: (holding ? DIR : FILE) | mode, uid: 0 }, 0, holding);
      expect(line).toMatch(/^\/x is writable by (others|its group) \(mode \d{3}\)[^\n]*; run chmod go-w \/x$/);
    }
  }
});
