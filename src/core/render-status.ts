import type { Config } from '../config/types.js';
import { linkNumbers } from '../plan/assign-ids.js';
import { hex } from '../plan/render-ip-batch.js';
import type { LinkIds, LinkStates } from '../state/types.js';

/** `multiwan status` text: one line per configured link. Pure. */
export function renderStatus(config: Config, states: LinkStates, ids: LinkIds, inService: readonly string[]): string {
  const rows = config.links.map((link) => {
    const state = states[link.name];
    const id = ids[link.name];
    const numbers = id === undefined ? undefined : linkNumbers(config, id);
    const status = !state ? 'never seen' : !state.up ? 'down' : inService.includes(link.name) ? 'up, in service' : 'up, out of service';
    return [
      link.name,
      state?.iface ?? link.interface,
      status,
      state?.since ? `since ${state.since}` : '',
      state?.local ? `address ${state.local}${state.peer ? ` peer ${state.peer}` : ''}` : '',
      numbers ? `table ${numbers.table} mark ${hex(numbers.mark)}` : '',
      `weight ${link.weight}`,
    ]
      .filter(Boolean)
      .join('  ');
  });
  return rows.length ? rows.join('\n') : `no links in ${config.file}`;
}
