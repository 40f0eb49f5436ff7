import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { ConfigError } from '../../src/errors.js';

let dir = '';
let file = '';
const link = (weight: number) => `[link.isp1]\ninterface = "ppp0"\nweight = ${weight}\n`;

describe('loadConfig with a cache directory', () => {
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mw-config-'));
    file = path.join(dir, 'multiwan.toml');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a missing file is undefined, not an error', async () => {
    expect(await loadConfig(file, dir)).toBeUndefined();
  });

  it('serves an unchanged file from the cache, and a changed one fresh', async () => {
    writeFileSync(file, link(3));
    expect((await loadConfig(file, dir))?.links[0]?.weight).toBe(3);
    expect(JSON.parse(readFileSync(path.join(dir, 'config-cache.json'), 'utf8')).config.links[0].weight).toBe(3);
    expect((await loadConfig(file, dir))?.links[0]?.weight).toBe(3);
    writeFileSync(file, link(4));
    expect((await loadConfig(file, dir))?.links[0]?.weight).toBe(4);
  });

  it('an edit that keeps the size and restores the old mtime is still seen (ctime is in the key)', async () => {
    writeFileSync(file, link(3));
    await loadConfig(file, dir);
    writeFileSync(file, link(5));
    utimesSync(file, new Date(0), new Date(0));
    expect((await loadConfig(file, dir))?.links[0]?.weight).toBe(5);
  });

  it('a broken edit after a good one fails: the cache never hides a problem', async () => {
    writeFileSync(file, link(3));
    await loadConfig(file, dir);
    writeFileSync(file, link(0));
    await expect(loadConfig(file, dir)).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('loadConfig: files the config names', () => {
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mw-config-'));
    file = path.join(dir, 'multiwan.toml');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('routes_file is read, and an edit of it alone is seen through the cache', async () => {
    const list = path.join(dir, 'isp1.txt');
    writeFileSync(list, '196.21.0.0/19\n');
    writeFileSync(file, `[link.isp1]\ninterface = "ppp0"\nroutes_file = "${list}"\n`);
    expect((await loadConfig(file, dir))?.links[0]?.routes).toEqual(['196.21.0.0/19']);
    writeFileSync(list, '196.21.0.0/19\n41.0.0.0/11\n');
    expect((await loadConfig(file, dir))?.links[0]?.routes).toEqual(['196.21.0.0/19', '41.0.0.0/11']);
    writeFileSync(list, '196.21.0.0/19\nbogus\n');
    await expect(loadConfig(file, dir)).rejects.toThrow(`${list}:2: "bogus" is not an IPv4 or IPv6 prefix`);
  });

  it('a missing @file is named with the config line that refers to it', async () => {
    writeFileSync(file, `[link.isp1]\ninterface = "ppp0"\n\n[[policy]]\nvia = ["isp1"]\ndst = ["@${dir}/nope.txt"]\n`);
    await expect(loadConfig(file, dir)).rejects.toThrow(
      `${file}:6: policy.0.dst.0: cannot read ${dir}/nope.txt (ENOENT); create it (one prefix a line) or fix the path`,
    );
  });
});
