import type { Config } from '../config/types.js';
import { linkNumbers } from '../plan/assign-ids.js';
import { hex } from '../plan/hex.js';
import type { LinkHealth } from '../state/state-store.js';
import { isUp, type LinkIds, type LinkStates } from '../state/types.js';

/** `multiwan status` text: one line per configured link. Pure. */
export function renderStatus(
  config: Config,
  states: LinkStates,
  ids: LinkIds,
  inService: readonly string[],
  health: Readonly<Record<string, LinkHealth | undefined>> = {},
): string {
  const rows = config.links.map((link) => {
    const state = states[link.name];
    const id = ids[link.name];
    const numbers = id === undefined ? undefined : linkNumbers(config, id);
    const status = !state
      ? 'never seen'
      : !isUp(state)
        ? 'down'
        : inService.includes(link.name)
          ? 'up, in service'
          : `up, out of service (${state.healthReason ?? 'unhealthy'})`;
    const since = isUp(state) && state.healthy === false && state.healthSince ? state.healthSince : state?.since;
    const probe = health[link.name];
    return [
      link.name,
      state?.iface ?? link.interface,
      status,
      since ? `since ${since}` : '',
      probe?.probing && isUp(state) ? `rtt ${probe.lastRttMs !== undefined ? `${probe.lastRttMs} ms` : '-'}  loss ${Math.round(probe.loss * 100)}%` : '',
      state?.v4 ? `address ${state.v4.local}${state.v4.peer ? ` peer ${state.v4.peer}` : ''}${state.v4.gateway ? ` gateway ${state.v4.gateway}` : ''}` : '',
      state?.v6 ? `ipv6${state.v6.local ? ` ${state.v6.local}` : ''}${state.v6.peer ?? state.v6.gateway ? ` via ${state.v6.peer ?? state.v6.gateway}` : ''}` : '',
      numbers ? `table ${numbers.table} mark ${hex(numbers.mark)}` : '',
      `weight ${link.weight}`,
    ]
      .filter(Boolean)
      .join('  ');
  });
  return rows.length ? rows.join('\n') : `no links in ${config.file}`;
}
