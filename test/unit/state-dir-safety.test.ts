// ensureStateDir: the state directory holds the records every event plans
// from, and the cached config; one someone else could write is refused with
// one line saying how to fix it, and a missing one is created (at boot).
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, RuntimeError } from '../../src/errors.js';
import { ensureStateDir } from '../../src/state/state-store.js';

let root = '';
let dir = '';
const isRoot = process.geteuid?.() === 0;

/** The one line ensureStateDir refuses `dir` with. */
function refusal(): string {
  try {
    ensureStateDir(dir);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toHaveLength(1);
    return (error as ConfigError).message;
  }
  throw new Error(`ensureStateDir accepted ${dir}`);
}

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'mw-statedir-'));
  dir = path.join(root, 'multiwan');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('ensureStateDir', () => {
  it('creates a missing directory, and its missing parents, mode 755', () => {
    dir = path.join(root, 'run', 'multiwan');
    ensureStateDir(dir);
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o755 & ~process.umask());
    ensureStateDir(dir); // and accepts it the next time
  });

  it.each([0o755, 0o700, 0o750])('accepts a directory of mode %s owned by the user running multiwan', (mode) => {
    mkdirSync(dir);
    chmodSync(dir, mode);
    expect(() => ensureStateDir(dir)).not.toThrow();
  });

  it('refuses a symlink, even to a good directory', () => {
    const real = path.join(root, 'real');
    mkdirSync(real, { mode: 0o755 });
    symlinkSync(real, dir);
    expect(refusal()).toBe(`state directory ${dir} is a symlink; refusing to follow it: remove it (rm -rf ${dir}); multiwan creates it again, mode 755`);
  });

  it('refuses a dangling symlink rather than creating its target', () => {
    symlinkSync(path.join(root, 'elsewhere'), dir);
    expect(refusal()).toContain('is a symlink; refusing to follow it');
    expect(() => statSync(path.join(root, 'elsewhere'))).toThrow();
  });

  it('refuses a file', () => {
    writeFileSync(dir, '');
    expect(refusal()).toBe(`state directory ${dir} is not a directory: remove it (rm -rf ${dir}); multiwan creates it again, mode 755`);
  });

  it.each([
    [0o777, 'others', '777'],
    [0o757, 'others', '757'],
    [0o1777, 'others', '777'],
    [0o775, 'its group', '775'],
    [0o770, 'its group', '770'],
  ])('refuses mode %s (writable by %s)', (mode, who, shown) => {
    mkdirSync(dir);
    chmodSync(dir, mode);
    expect(refusal()).toBe(`state directory ${dir} is writable by ${who} (mode ${shown}); run chmod go-w ${dir}`);
  });

  it.runIf(isRoot)('refuses a directory owned by another user (root only: needs chown)', () => {
    mkdirSync(dir, { mode: 0o755 });
    chownSync(dir, 4242, 4242);
    expect(refusal()).toBe(`state directory ${dir} is owned by uid 4242, not root; run chown root: ${dir}`);
  });

  it('a directory that cannot be created is a runtime error naming it', () => {
    writeFileSync(path.join(root, 'file'), '');
    dir = path.join(root, 'file', 'multiwan');
    expect(() => ensureStateDir(dir)).toThrow(RuntimeError);
    expect(() => ensureStateDir(dir)).toThrow(`cannot use the state directory: ${dir}: not a directory (ENOTDIR)`);
  });
});
