// The README's config tables are made from src/config/reference.ts: after
// changing a key, `npm run docs`. And every key the schema accepts is there.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configReference } from '../../src/config/reference.js';
import { parseConfig } from '../../src/config/parse-config.js';
import { renderReadmeTables } from '../../scripts/readme-tables.js';

describe('docs in sync', () => {
  it('the README holds the config tables as the reference renders them (run `npm run docs`)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(renderReadmeTables(readme)).toBe(readme);
  });

  it('every key of the reference is one the config accepts, and the reference names every key', () => {
    const names = (id: string) => configReference.find((s) => s.id === id)!.keys.flatMap((k) => k.key.split('`, `'));
    const keys = (id: string) => names(id).filter((k) => !['routes_file', 'check'].includes(k) || id !== 'link');
    // An unknown key is rejected with "unknown key": none of the documented ones is.
    const top = keys('top').map((k) => `${k} = ${k === 'lan' ? '[]' : k === 'balance' ? '"source"' : k === 'mark_mask' ? '"0x3f00"' : '300'}`).join('\n');
    expect(() => parseConfig(top, 'f')).not.toThrow();
    const accepted = (section: string, line: string) => {
      try {
        parseConfig(`${section}\n${line}\n`, 'f');
        return true;
      } catch (error) {
        return !String(error).includes('unknown key');
      }
    };
    for (const key of names('link')) expect(accepted('[link.a]\ninterface = "eth1"', `${key} = 1`), key).toBe(true);
    for (const key of names('check')) expect(accepted('[link.a]\ninterface = "eth1"\n[link.a.check]\ntargets = ["192.0.2.1"]', `${key} = 1`), key).toBe(true);
    for (const key of names('policy')) expect(accepted('[link.a]\ninterface = "eth1"\n[[policy]]\nvia = ["a"]', `${key} = 1`), key).toBe(true);
    expect(accepted('[link.a]\ninterface = "eth1"', 'nonsense = 1')).toBe(false);
  });
});
