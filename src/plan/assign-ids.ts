/**
 * Stable link numbers. A link keeps the id it had (kept in the runtime state)
 * when the config is edited or reordered, unless the config pins another one
 * with `id = N`, so the marks of live connections never point at another link.
 * New links take the lowest free id whose table is not a reserved one. Pure.
 */
import { isReservedTable } from '../config/reserved-tables.js';
import type { Config } from '../config/types.js';
import { ConfigError } from '../errors.js';
import type { LinkIds } from '../state/types.js';
import type { LinkNumbers } from './types.js';

export function assignIds(config: Config, previous: LinkIds): Record<string, number> {
  const capacity = markCapacity(config.markMask);
  const usable = (id: number) => id >= 1 && id <= capacity && !isReservedTable(config.tableBase + id);
  const ids: Record<string, number> = {};
  const taken = new Set<number>();
  for (const link of config.links) {
    if (link.id !== undefined) {
      ids[link.name] = link.id;
      taken.add(link.id);
    }
  }
  for (const link of config.links) {
    const kept = previous[link.name];
    if (ids[link.name] === undefined && kept !== undefined && usable(kept) && !taken.has(kept)) {
      ids[link.name] = kept;
      taken.add(kept);
    }
  }
  for (const link of config.links) {
    if (ids[link.name] !== undefined) continue;
    let id = 1;
    while (id <= capacity && (taken.has(id) || !usable(id))) id++;
    if (id > capacity) {
      // parseConfig rejects such a config; never loop inside a hook.
      throw new ConfigError(`${config.file}: no free link id for "${link.name}" within mark_mask 0x${config.markMask.toString(16)}; widen mark_mask`);
    }
    ids[link.name] = id;
    taken.add(id);
  }
  return ids;
}

export function linkNumbers(config: Config, id: number): LinkNumbers {
  return { id, table: config.tableBase + id, mark: (id << markShift(config.markMask)) >>> 0 };
}

export function markShift(mask: number): number {
  let shift = 0;
  while (shift < 32 && ((mask >>> shift) & 1) === 0) shift++;
  return shift;
}

export function markCapacity(mask: number): number {
  return mask >>> markShift(mask);
}
