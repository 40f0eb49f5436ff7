/** Gathers what `multiwan status` shows: the links as they are now, the monitor's probes, nft counters, conntrack. */
import { countConnections } from '../apply/read-traffic.js';
import { requireConfig } from '../config/require-config.js';
import { readLinkHealth } from '../state/state-store.js';
import type { Context } from './context.js';
import { readCurrent } from './read-current.js';
import { buildStatusReport, type StatusReport } from './status-report.js';

export async function readStatus(ctx: Context): Promise<StatusReport> {
  const config = await requireConfig(ctx.configFile);
  // The counters come with the read-back round (the nft table's stamp and counters, one nft process).
  const [current, connections] = await Promise.all([readCurrent(ctx, config), countConnections(ctx.run, config.markMask)]);
  const counters = current.kernel.nftCounters;
  const health = Object.fromEntries(config.links.map((l) => [l.name, readLinkHealth(ctx.stateDir, l.name)]));
  return buildStatusReport({ config, states: current.states, ids: current.ids, plan: current.plan, notes: current.notes, health, ...(counters ? { counters } : {}), ...(connections ? { connections } : {}) });
}
