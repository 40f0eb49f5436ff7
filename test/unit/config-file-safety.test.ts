// loadConfig refuses a config, routes_file or @list that someone other than
// root (or the user running multiwan) could have written, with real files,
// also when the validated config would come from the cache.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { ConfigError } from '../../src/errors.js';

let root = '';
let etc = '';
let run = '';
let file = '';
const isRoot = process.geteuid?.() === 0;
const link = '[link.isp1]\ninterface = "ppp0"\nweight = 3\n';

/** The problems of the ConfigError loadConfig throws (fails the test when it does not throw one). */
async function problems(cacheDir?: string): Promise<string[]> {
  const error = await loadConfig(file, cacheDir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).problems;
}

function write(target: string, text: string, mode = 0o644): string {
  writeFileSync(target, text);
  chmodSync(target, mode);
  return target;
}

/** Marks the cached Config, so a load that returns the mark came from the cache. */
function markCache(weight: number): void {
  const cacheFile = path.join(run, 'config-cache.json');
  const cache = JSON.parse(readFileSync(cacheFile, 'utf8'));
  cache.config.links[0].weight = weight;
  writeFileSync(cacheFile, JSON.stringify(cache));
}

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'mw-safety-'));
  chmodSync(root, 0o755);
  etc = path.join(root, 'etc');
  run = path.join(root, 'run');
  mkdirSync(etc, { mode: 0o755 });
  mkdirSync(run, { mode: 0o755 });
  file = path.join(etc, 'multiwan.toml');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('the config itself', () => {
  it('a 644 file in a 755 directory is read', async () => {
    write(file, link);
    expect((await loadConfig(file))?.links[0]?.weight).toBe(3);
  });

  it.each([
    [0o666, `is writable by others (mode 666); run chmod go-w`],
    [0o646, `is writable by others (mode 646); run chmod go-w`],
    [0o664, `is writable by its group (mode 664); run chmod go-w`],
  ])('mode %s is refused with one line saying how to fix it', async (mode, text) => {
    write(file, link, mode);
    expect(await problems()).toEqual([`${file} ${text} ${file}`]);
  });

  it('a directory on the way that others can write is refused (they could replace the file)', async () => {
    write(file, link);
    chmodSync(etc, 0o777);
    expect(await problems()).toEqual([`${etc} is writable by others (mode 777), so they can replace ${file}; run chmod go-w ${etc}`]);
    chmodSync(etc, 0o755);
    chmodSync(root, 0o775);
    expect(await problems()).toEqual([`${root} is writable by its group (mode 775), so they can replace ${file}; run chmod go-w ${root}`]);
  });

  it('a sticky directory writable by all (like /tmp) is accepted', async () => {
    write(file, link);
    chmodSync(etc, 0o1777);
    expect((await loadConfig(file))?.links[0]?.weight).toBe(3);
  });

  it('through a symlink, the directories where the file really is are judged too', async () => {
    const open = path.join(root, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    write(path.join(open, 'real.toml'), link);
    symlinkSync(path.join(open, 'real.toml'), file);
    expect(await problems()).toEqual([`${open} is writable by others (mode 777), so they can replace ${file}; run chmod go-w ${open}`]);
  });

  it('a directory named as the config is refused, not read', async () => {
    mkdirSync(file);
    expect(await problems()).toEqual([`${file} is a directory, not a regular file; name a regular file instead`]);
  });

  it('a missing config is still undefined, not a problem', async () => {
    expect(await loadConfig(file, run)).toBeUndefined();
  });

  it.runIf(isRoot)('owned by another user: refused (root only: needs chown)', async () => {
    write(file, link);
    chownSync(file, 4242, 4242);
    expect(await problems()).toEqual([`${file} is owned by uid 4242, not root; run chown root: ${file}`]);
    chownSync(file, 0, 0);
    chownSync(etc, 4242, 0);
    expect(await problems()).toEqual([
      `${etc} is owned by uid 4242, not root, so they can replace ${file}; run chown root: ${etc} or move ${file} to a directory root owns`,
    ]);
  });
});

describe('the cache never serves a config that is no longer safe', () => {
  it('a cached config is refused once its directory becomes writable by others (the file key is unchanged)', async () => {
    write(file, link);
    expect((await loadConfig(file, run))?.links[0]?.weight).toBe(3);
    markCache(42);
    expect((await loadConfig(file, run))?.links[0]?.weight).toBe(42); // served from the cache
    chmodSync(etc, 0o757);
    expect(await problems(run)).toEqual([`${etc} is writable by others (mode 757), so they can replace ${file}; run chmod go-w ${etc}`]);
  });

  it('a cached config is refused once the file itself is writable by others', async () => {
    write(file, link);
    await loadConfig(file, run);
    chmodSync(file, 0o666);
    expect(await problems(run)).toEqual([`${file} is writable by others (mode 666); run chmod go-w ${file}`]);
  });

  it('a cached config whose @list directory became writable is validated again, and the list is refused', async () => {
    const lists = path.join(etc, 'lists');
    mkdirSync(lists, { mode: 0o755 });
    const list = write(path.join(lists, 'dst.txt'), '203.0.113.0/24\n');
    write(file, `${link}\n[[policy]]\nvia = ["isp1"]\ndst = ["@${list}"]\n`);
    expect((await loadConfig(file, run))?.policies[0]?.dst).toEqual(['203.0.113.0/24']);
    markCache(42);
    expect((await loadConfig(file, run))?.links[0]?.weight).toBe(42); // served from the cache
    chmodSync(lists, 0o777);
    expect(await problems(run)).toEqual([
      `${file}:7: policy.0.dst.0: ${lists} is writable by others (mode 777), so they can replace ${list}; run chmod go-w ${lists}`,
    ]);
  });
});

describe('files the config names', () => {
  it('a routes_file writable by others is a file:line problem, reported with the other problems', async () => {
    const list = write(path.join(etc, 'isp1.txt'), '196.21.0.0/19\n', 0o666);
    write(file, `[link.isp1]\ninterface = "ppp0"\nroutes_file = "${list}"\n\n[[policy]]\nvia = ["isp9"]\n`);
    expect(await problems(run)).toEqual([
      `${file}:3: link.isp1.routes_file: ${list} is writable by others (mode 666); run chmod go-w ${list}`,
      `${file}:6: policy.0.via.0: unknown link "isp9"; the links are isp1`,
    ]);
    chmodSync(list, 0o644);
    expect(await problems(run)).toEqual([`${file}:6: policy.0.via.0: unknown link "isp9"; the links are isp1`]);
  });

  it('an @list writable by its group is refused for src and dst alike', async () => {
    const list = write(path.join(etc, 'hosts.txt'), '192.168.10.0/28\n', 0o664);
    write(file, `${link}\n[[policy]]\nvia = ["isp1"]\nsrc = ["@${list}"]\ndst = ["@${list}"]\n`);
    expect(await problems()).toEqual([
      `${file}:7: policy.0.src.0: ${list} is writable by its group (mode 664); run chmod go-w ${list}`,
      `${file}:8: policy.0.dst.0: ${list} is writable by its group (mode 664); run chmod go-w ${list}`,
    ]);
  });

  it('a FIFO as routes_file is refused at once instead of hanging the hook', async () => {
    const fifo = path.join(etc, 'fifo');
    execFileSync('mkfifo', ['-m', '644', fifo]);
    write(file, `[link.isp1]\ninterface = "ppp0"\nroutes_file = "${fifo}"\n`);
    expect(await problems()).toEqual([`${file}:3: link.isp1.routes_file: ${fifo} is a FIFO, not a regular file; name a regular file instead`]);
  }, 5000);

  it('a missing list is still reported as missing', async () => {
    write(file, `[link.isp1]\ninterface = "ppp0"\nroutes_file = "${etc}/nope.txt"\n`);
    expect(await problems()).toEqual([
      `${file}:3: link.isp1.routes_file: cannot read ${etc}/nope.txt (ENOENT); create it (one prefix a line) or fix the path`,
    ]);
  });
});
