import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isReservedTable } from '../../src/config/reserved-tables.js';
import type { Config, LinkConfig } from '../../src/config/types.js';
import { assignIds, linkNumbers, markCapacity, markShift } from '../../src/plan/assign-ids.js';
import { config, link } from '../fixtures/configs.js';

function configOf(links: (string | [string, number])[], over: Partial<Config> = {}): Config {
  return config(
    links.map((entry, i): LinkConfig => {
      const [name, id] = typeof entry === 'string' ? [entry, undefined] : entry;
      return link(name, `ppp${i}`, id !== undefined ? { id } : {});
    }),
    { lan: [], ...over },
  );
}

describe('assignIds', () => {
  it('numbers new links 1, 2, 3 in file order', () => {
    expect(assignIds(configOf(['a', 'b', 'c']), {})).toEqual({ a: 1, b: 2, c: 3 });
  });

  it('keeps previous ids when the config is reordered', () => {
    const first = assignIds(configOf(['a', 'b', 'c']), {});
    expect(assignIds(configOf(['c', 'a', 'b']), first)).toEqual({ a: 1, b: 2, c: 3 });
  });

  it('a removed link frees its id; a new link takes the lowest free one, the others keep theirs', () => {
    const previous = { a: 1, b: 2, c: 3 };
    expect(assignIds(configOf(['c', 'a', 'd']), previous)).toEqual({ a: 1, c: 3, d: 2 });
  });

  it('ignores previous ids of links no longer configured', () => {
    expect(assignIds(configOf(['x']), { gone: 1, also: 2 })).toEqual({ x: 1 });
  });

  it('a pinned id wins over a previous id; the displaced link gets the lowest free id', () => {
    const previous = { a: 1, b: 2, c: 3 };
    expect(assignIds(configOf(['a', ['b', 1], 'c']), previous)).toEqual({ b: 1, a: 2, c: 3 });
  });

  it('a link pinned to a new id gives up its old one', () => {
    expect(assignIds(configOf([['a', 5], 'b']), { a: 1, b: 2 })).toEqual({ a: 5, b: 2 });
    expect(assignIds(configOf([['a', 5], 'b', 'c']), { a: 1, b: 2 })).toEqual({ a: 5, b: 2, c: 1 });
  });

  it('two links with the same previous id: the first in file order keeps it', () => {
    expect(assignIds(configOf(['a', 'b']), { a: 1, b: 1 })).toEqual({ a: 1, b: 2 });
  });

  it.each([
    ['0', 0],
    ['negative', -1],
    ['beyond mark_mask', 64],
    ['in reserved table 253', 53],
    ['in reserved table 255', 55],
  ])('drops a previous id that is no longer usable (%s)', (_what, id) => {
    expect(assignIds(configOf(['a', 'b']), { b: id })).toEqual({ a: 1, b: 2 });
  });

  it('drops a previous id that a narrower mark_mask no longer numbers', () => {
    expect(assignIds(configOf(['a', 'b'], { markMask: 0x300 }), { a: 7, b: 3 })).toEqual({ a: 1, b: 3 });
  });

  it('skips ids whose table is reserved (table_base 250: 253, 254, 255)', () => {
    const ids = assignIds(configOf(['a', 'b', 'c', 'd']), {});
    expect(ids).toEqual({ a: 1, b: 2, c: 3, d: 4 });
    const shifted = assignIds(configOf(['a', 'b', 'c', 'd'], { tableBase: 250 }), {});
    expect(shifted).toEqual({ a: 1, b: 2, c: 6, d: 7 });
    expect(Object.values(shifted).map((id) => 250 + id)).toEqual([251, 252, 256, 257]);
  });

  it('skips reserved tables in the middle of the default range (table_base 200: ids 53-55)', () => {
    const names = Array.from({ length: 56 }, (_, i) => `l${i + 1}`);
    const ids = assignIds(configOf(names), {});
    expect(Object.values(ids).sort((x, y) => x - y).slice(50)).toEqual([51, 52, 56, 57, 58, 59]);
  });

  it('ids are unique, >= 1, within markCapacity and never in a reserved table', () => {
    const names = fc.uniqueArray(fc.stringMatching(/^[a-z0-9_-]{1,8}$/), { minLength: 1, maxLength: 20 });
    const setting = fc.record({
      tableBase: fc.constantFrom(1, 100, 200, 240, 250, 252, 256, 1000),
      markMask: fc.constantFrom(0x3f00, 0xff, 0x1f0000, 0xff000000),
    });
    fc.assert(
      fc.property(
        names,
        setting,
        fc.array(fc.integer({ min: -2, max: 300 }), { minLength: 20, maxLength: 20 }),
        fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
        (linkNames, over, randomIds, hasPrevious) => {
          const config = configOf(linkNames, over);
          const previous: Record<string, number> = {};
          linkNames.forEach((name, i) => {
            if (hasPrevious[i]) previous[name] = randomIds[i]!;
          });
          const ids = assignIds(config, previous);
          const values = Object.values(ids);
          expect(Object.keys(ids).sort()).toEqual([...linkNames].sort());
          expect(new Set(values).size).toBe(values.length);
          for (const id of values) {
            expect(Number.isInteger(id)).toBe(true);
            expect(id).toBeGreaterThanOrEqual(1);
            expect(id).toBeLessThanOrEqual(markCapacity(config.markMask));
            expect(isReservedTable(config.tableBase + id)).toBe(false);
          }
          // A usable previous id, not claimed by an earlier link, is kept.
          const seen = new Set<number>();
          for (const name of linkNames) {
            const kept = previous[name];
            if (kept === undefined) continue;
            const usable =
              kept >= 1 && kept <= markCapacity(config.markMask) && !isReservedTable(config.tableBase + kept);
            if (usable && !seen.has(kept)) expect(ids[name]).toBe(kept);
            seen.add(kept);
          }
        },
      ),
    );
  });

  it('is stable: feeding its result back gives the same ids, in any order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[a-z]{1,6}$/), { minLength: 1, maxLength: 20 }).chain((names) =>
          fc.tuple(fc.constant(names), fc.shuffledSubarray(names, { minLength: names.length })),
        ),
        ([names, reordered]) => {
          const first = assignIds(configOf(names), {});
          expect(assignIds(configOf(reordered), first)).toEqual(first);
        },
      ),
    );
  });
});

/**
 * Runs parseConfig + assignIds on `source` in a child process, bounded by a
 * timeout, because the bug below is a synchronous endless loop that would
 * hang the test worker.
 */
function assignInChild(source: string): { ids?: Record<string, number>; timedOut: boolean } {
  const src = (path: string) => fileURLToPath(new URL(`../../src/${path}`, import.meta.url));
  const code = `
    const { parseConfig } = await import(${JSON.stringify(src('config/parse-config.ts'))});
    const { assignIds } = await import(${JSON.stringify(src('plan/assign-ids.ts'))});
    let config;
    try { config = parseConfig(${JSON.stringify(source)}, 'multiwan.toml'); } catch { console.log('rejected'); process.exit(0); }
    console.log(JSON.stringify(assignIds(config, {})));`;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    encoding: 'utf8',
    timeout: 4_000,
  });
  if (result.error || result.signal) return { timedOut: true };
  const out = result.stdout.trim();
  return { timedOut: false, ...(out === 'rejected' ? {} : { ids: JSON.parse(out) as Record<string, number> }) };
}

const linksSource = (n: number) =>
  Array.from({ length: n }, (_, i) => `[link.l${i + 1}]\ninterface = "ppp${i}"\n`).join('');

describe('assignIds on every config parseConfig accepts', { timeout: 10_000 }, () => {
  it('mark_mask 0x300, table_base 250, two links: ids 1 and 2 (child process check works)', () => {
    expect(assignInChild(`mark_mask = "0x300"\ntable_base = 250\n${linksSource(2)}`)).toEqual({
      timedOut: false,
      ids: { l1: 1, l2: 2 },
    });
  });

  // Regression (was a bug in src/plan/assign-ids.ts + the capacity check in
  // src/config/parse-config.ts): mark_mask 0x300 numbers ids 1-3, but with
  // table_base 250 id 3 is table 253 (reserved), so only two ids are usable.
  // parseConfig accepts three links and assignIds' `while (taken.has(id) ||
  // !usable(id)) id++` never ends. Same with the defaults (mask 0x3f00, table
  // 200) and 61 links. Correct: parseConfig rejects it, or assignIds throws;
  // never an endless loop inside pppd's ip-up.
  it('mark_mask 0x300, table_base 250, three links: terminates', () => {
    expect(assignInChild(`mark_mask = "0x300"\ntable_base = 250\n${linksSource(3)}`).timedOut).toBe(false);
  });
});

describe('linkNumbers, markShift, markCapacity', () => {
  it.each([
    [0x3f00, 8, 63],
    [0x300, 8, 3],
    [0xff, 0, 255],
    [0x1f0000, 16, 31],
    [0xff000000, 24, 255],
    [0x80000000, 31, 1],
    [0xffffffff, 0, 0xffffffff],
  ])('mask 0x%s: shift %i, capacity %i', (mask, shift, capacity) => {
    expect(markShift(mask)).toBe(shift);
    expect(markCapacity(mask)).toBe(capacity);
  });

  it.each([
    [0x3f00, 200, 1, { id: 1, table: 201, mark: 0x100 }],
    [0x3f00, 200, 2, { id: 2, table: 202, mark: 0x200 }],
    [0x3f00, 200, 63, { id: 63, table: 263, mark: 0x3f00 }],
    [0xff, 100, 7, { id: 7, table: 107, mark: 0x7 }],
    [0xff000000, 200, 255, { id: 255, table: 455, mark: 0xff000000 }],
    [0x80000000, 200, 1, { id: 1, table: 201, mark: 0x80000000 }],
  ])('mask 0x%s, table_base %i, id %i -> %o', (markMask, tableBase, id, numbers) => {
    expect(linkNumbers(configOf([], { markMask, tableBase }), id)).toEqual(numbers);
  });

  it('every mark lies inside the mask', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 1, max: 32 }), (shift, width) => {
        fc.pre(shift + width <= 32);
        const mask = (((2 ** width - 1) * 2 ** shift) >>> 0);
        const config = configOf([], { markMask: mask });
        const capacity = markCapacity(mask);
        for (const id of [1, Math.max(1, Math.floor(capacity / 2)), capacity]) {
          const { mark } = linkNumbers(config, id);
          expect(mark).toBeGreaterThan(0);
          expect((mark & ~mask) >>> 0).toBe(0);
          expect(mark >>> markShift(mask)).toBe(id);
        }
      }),
    );
  });
});
