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
