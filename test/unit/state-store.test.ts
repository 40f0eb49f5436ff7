import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  clearLinkStates,
  defaultStateDir,
  readLinkIds,
  readLinkStates,
  stateDirOf,
  writeLinkIds,
  writeLinkState,
} from '../../src/state/state-store.js';
import type { LinkState } from '../../src/state/types.js';

let root: string;
let dir: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'multiwan-state-test-'));
  dir = join(root, 'run', 'multiwan');
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const isp1: LinkState = {
  link: 'isp1',
  iface: 'ppp0',
  kind: 'ppp',
  v4: { local: '100.64.1.2', peer: '100.64.0.1' },
  since: '2024-05-01T10:00:00.000Z',
};
const cable: LinkState = {
  link: 'cable',
  iface: 'eth1',
  kind: 'dhcp',
  since: '2024-05-01T10:05:00.000Z',
};

describe('state store', () => {
  it('stateDirOf: MULTIWAN_STATE_DIR, else /run/multiwan', () => {
    expect(defaultStateDir).toBe('/run/multiwan');
    expect(stateDirOf({})).toBe('/run/multiwan');
    expect(stateDirOf({ MULTIWAN_STATE_DIR: '/tmp/mw' })).toBe('/tmp/mw');
  });

  it('a missing directory reads as no links and no ids', () => {
    expect(readLinkStates(join(root, 'nowhere'))).toEqual({});
    expect(readLinkIds(join(root, 'nowhere'))).toEqual({});
  });

  it('writes link states (creating the directory) and reads them back', () => {
    writeLinkState(dir, isp1);
    writeLinkState(dir, cable);
    expect(readLinkStates(dir)).toEqual({ isp1, cable });
    expect(readdirSync(dir).sort()).toEqual(['link-cable.json', 'link-isp1.json']);
    expect(JSON.parse(readFileSync(join(dir, 'link-isp1.json'), 'utf8'))).toEqual(isp1);
  });

  it('a second write replaces the first', () => {
    writeLinkState(dir, isp1);
    const down: LinkState = { link: 'isp1', iface: 'ppp3', since: '2024-05-01T11:00:00.000Z' };
    writeLinkState(dir, down);
    expect(readLinkStates(dir)).toEqual({ isp1: down });
  });

  it('writes and reads the ids', () => {
    writeLinkIds(dir, { isp1: 1, cable: 3 });
    expect(readLinkIds(dir)).toEqual({ isp1: 1, cable: 3 });
    writeLinkIds(dir, { isp1: 2 });
    expect(readLinkIds(dir)).toEqual({ isp1: 2 });
  });

  it('writes atomically: no temp files are left behind', () => {
    for (let i = 0; i < 20; i++) {
      writeLinkState(dir, { ...isp1, since: new Date(i * 1000).toISOString() });
      writeLinkIds(dir, { isp1: i + 1 });
    }
    const names = readdirSync(dir);
    expect(names.sort()).toEqual(['ids.json', 'link-isp1.json']);
    expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('files are world-readable, owner-writable JSON ending in a newline', () => {
    writeLinkState(dir, isp1);
    const file = join(dir, 'link-isp1.json');
    expect(statSync(file).mode & 0o777 & ~process.umask()).toBe(0o644 & ~process.umask());
    expect(readFileSync(file, 'utf8').endsWith('}\n')).toBe(true);
  });

  it('readLinkStates ignores garbage', () => {
    writeLinkState(dir, isp1);
    writeLinkIds(dir, { isp1: 1 });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'link-broken.json'), '{ "link": "broken", ');
    writeFileSync(join(dir, 'link-empty.json'), '');
    writeFileSync(join(dir, 'link-other.json'), JSON.stringify({ ...cable, link: 'not-other' }));
    writeFileSync(join(dir, 'link-cable.json.4242.tmp'), JSON.stringify(cable));
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    writeFileSync(join(dir, 'link-.json'), JSON.stringify({ ...cable, link: '' }));
    writeFileSync(join(dir, 'cable.json'), JSON.stringify(cable));
    mkdirSync(join(dir, 'link-dir.json'));
    expect(readLinkStates(dir)).toEqual({ isp1 });
  });

  it('readLinkIds of a corrupt ids.json is {}', () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'ids.json'), 'not json');
    expect(readLinkIds(dir)).toEqual({});
  });

  it('clearLinkStates forgets every link and keeps ids.json', () => {
    writeLinkState(dir, isp1);
    writeLinkState(dir, cable);
    writeLinkIds(dir, { isp1: 1, cable: 2 });
    writeFileSync(join(dir, 'link-isp1.json.99.tmp'), '{}');
    clearLinkStates(dir);
    expect(readLinkStates(dir)).toEqual({});
    expect(readLinkIds(dir)).toEqual({ isp1: 1, cable: 2 });
    expect(readdirSync(dir)).toEqual(['ids.json']);
  });

  it('clearLinkStates of a missing directory does nothing', () => {
    expect(() => clearLinkStates(join(root, 'nowhere'))).not.toThrow();
  });
});
