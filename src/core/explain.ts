/**
 * `multiwan explain`: the pure explanation, plus the kernel's own answer for
 * the same packet (`ip route get … mark …`, from the LAN side when the source
 * is not one of the router's addresses).
 */
import { ConfigError } from '../errors.js';
import { interfaceNameRule, isInterfaceName, parseAddress } from '../net/address.js';
import { assignIds } from '../plan/assign-ids.js';
import { explainPacket, type Explanation, type Packet } from '../plan/explain.js';
import { hex } from '../plan/render-ip-batch.js';
import { readLinkIds, readLinkStates } from '../state/state-store.js';
import type { Context } from './context.js';
import { requireConfig } from './reconcile.js';

export interface KernelRoute {
  argv: string[];
  dev?: string;
  via?: string;
  src?: string;
  table?: string;
  error?: string;
}

export interface ExplainResult {
  explanation: Explanation;
  kernel?: KernelRoute;
}

export function checkPacket(packet: Packet): Packet {
  const problems: string[] = [];
  for (const [what, value] of [['SRC', packet.src], ['DST', packet.dst]] as const) {
    if (!parseAddress(value)) problems.push(`explain: ${what} ${JSON.stringify(value)} is not an IPv4 or IPv6 address`);
  }
  for (const [what, value] of [['--sport', packet.sport], ['--dport', packet.dport]] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 1 && value <= 65535)) problems.push(`explain: ${what} ${value} is not a port (1-65535)`);
  }
  if (packet.iif !== undefined && !isInterfaceName(packet.iif)) problems.push(`explain: --iif ${JSON.stringify(packet.iif)} is not an interface name: ${interfaceNameRule}`);
  if (problems.length) throw new ConfigError(problems.join('\n'), problems);
  return { ...packet, src: parseAddress(packet.src)!.address, dst: parseAddress(packet.dst)!.address };
}

export async function explain(ctx: Context, input: Packet): Promise<ExplainResult> {
  const packet = checkPacket(input);
  const config = await requireConfig(ctx.configFile, ctx.stateDir);
  const ids = assignIds(config, readLinkIds(ctx.stateDir));
  const explanation = explainPacket(config, readLinkStates(ctx.stateDir), ids, packet);
  if (explanation.decision.kind === 'unreachable') return { explanation };
  return { explanation, kernel: await kernelRoute(ctx, packet, explanation) };
}

async function kernelRoute(ctx: Context, packet: Packet, explanation: Explanation): Promise<KernelRoute> {
  const family = packet.dst.includes(':') ? '-6' : '-4';
  const routeGet = async (argv: string[]) => {
    const { stdout, stderr, exitCode } = await ctx.run(argv, { okCodes: [0, 1, 2, 255] });
    const json = exitCode === 0 ? (JSON.parse(stdout || '[]') as Record<string, string>[])[0] : undefined;
    return { json, error: exitCode === 0 ? undefined : stderr.trim() || `exit ${exitCode}` };
  };
  let iif = packet.iif;
  if (!iif) {
    const where = await routeGet(['ip', family, '-j', 'route', 'get', packet.src]);
    if (where.json && where.json.type !== 'local') iif = where.json.dev;
  }
  const decision = explanation.decision;
  const mark = decision.kind === 'link' ? decision.mark : undefined;
  const proto = packet.protocol === 'tcp' || packet.protocol === 'udp' ? packet.protocol : undefined;
  const argv = [
    'ip', family, '-j', 'route', 'get', packet.dst, 'from', packet.src,
    ...(iif ? ['iif', iif] : []),
    ...(mark !== undefined ? ['mark', hex(mark)] : []),
    ...(proto ? ['ipproto', proto, ...(packet.sport ? ['sport', String(packet.sport)] : []), ...(packet.dport ? ['dport', String(packet.dport)] : [])] : []),
  ];
  const route = await routeGet(argv);
  const shown = argv.filter((a) => a !== '-j');
  if (!route.json) return { argv: shown, error: route.error ?? 'no route' };
  const { dev, gateway, prefsrc, table } = route.json;
  return { argv: shown, ...(dev ? { dev } : {}), ...(gateway ? { via: gateway } : {}), ...(prefsrc ? { src: prefsrc } : {}), ...(table ? { table: String(table) } : {}) };
}
