/**
 * `multiwan explain`: the planner's decisions walked with one packet (pure),
 * plus the kernel's own answer for the same packet (`ip route get … mark …`,
 * from the LAN side when the source is not one of the router's addresses).
 */
import { canonicalProtocol } from '../config/parse-policies.js';
import { requireConfig } from '../config/require-config.js';
import { ConfigError } from '../errors.js';
import { interfaceNameRule, isInterfaceName, parseAddress } from '../net/address.js';
import { explainPacket, type Explanation, type Packet } from '../plan/explain.js';
import { hex } from '../plan/hex.js';
import type { Context } from './context.js';
import { readCurrent } from './read-current.js';

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
  const src = parseAddress(packet.src);
  const dst = parseAddress(packet.dst);
  if (!src) problems.push(`explain: SRC ${JSON.stringify(packet.src)} is not an IPv4 or IPv6 address`);
  if (!dst) problems.push(`explain: DST ${JSON.stringify(packet.dst)} is not an IPv4 or IPv6 address`);
  if (src && dst && src.family !== dst.family) problems.push(`explain: SRC ${src.address} and DST ${dst.address} are of different address families`);
  for (const [what, value] of [['--sport', packet.sport], ['--dport', packet.dport]] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 1 && value <= 65535)) problems.push(`explain: ${what} ${value} is not a port (1-65535)`);
  }
  const protocol = packet.protocol === undefined ? undefined : canonicalProtocol(packet.protocol);
  if (packet.protocol !== undefined && protocol === undefined) problems.push(`explain: --proto ${JSON.stringify(packet.protocol)} is not a protocol name or number`);
  if (packet.iif !== undefined && !isInterfaceName(packet.iif)) problems.push(`explain: --iif ${JSON.stringify(packet.iif)} is not an interface name: ${interfaceNameRule}`);
  if (problems.length) throw new ConfigError(problems.join('\n'), problems);
  return { ...packet, src: src!.address, dst: dst!.address, ...(protocol ? { protocol } : {}) };
}

export async function explain(ctx: Context, input: Packet): Promise<ExplainResult> {
  const checked = checkPacket(input);
  const config = await requireConfig(ctx.configFile, ctx.stateDir);
  const current = await readCurrent(ctx, config);
  const family = checked.dst.includes(':') ? '-6' : '-4';
  // A source that is not one of the router's own addresses arrives from the LAN side.
  let iif = checked.iif;
  if (!iif) {
    const where = await routeGet(ctx, ['ip', family, '-j', 'route', 'get', checked.src]);
    if (where.json && where.json.type !== 'local' && where.json.dev) iif = where.json.dev;
  }
  const packet = { ...checked, ...(iif ? { iif } : {}) };
  const explanation = explainPacket(config, current.states, current.plan, packet);
  if (explanation.decision.kind === 'unreachable') return { explanation };
  return { explanation, kernel: await kernelRoute(ctx, packet, explanation, family) };
}

async function routeGet(ctx: Context, argv: string[]) {
  const { stdout, stderr, exitCode } = await ctx.run(argv, { okCodes: [0, 1, 2, 255] });
  let json: Record<string, string> | undefined;
  try {
    json = exitCode === 0 ? (JSON.parse(stdout || '[]') as Record<string, string>[])[0] : undefined;
  } catch {
    json = undefined;
  }
  return { json, error: exitCode === 0 ? undefined : stderr.trim() || `exit ${exitCode}` };
}

async function kernelRoute(ctx: Context, packet: Packet, explanation: Explanation, family: '-4' | '-6'): Promise<KernelRoute> {
  const decision = explanation.decision;
  const mark = decision.kind === 'link' ? decision.mark : undefined;
  const proto = packet.protocol === 'tcp' || packet.protocol === 'udp' ? packet.protocol : undefined;
  const argv = [
    'ip', family, '-j', 'route', 'get', packet.dst, 'from', packet.src,
    ...(packet.iif ? ['iif', packet.iif] : []),
    ...(mark !== undefined ? ['mark', hex(mark)] : []),
    ...(proto ? ['ipproto', proto, ...(packet.sport ? ['sport', String(packet.sport)] : []), ...(packet.dport ? ['dport', String(packet.dport)] : [])] : []),
  ];
  const route = await routeGet(ctx, argv);
  const shown = argv.filter((a) => a !== '-j');
  if (!route.json) return { argv: shown, error: route.error ?? 'no route' };
  const { dev, gateway, prefsrc, table } = route.json;
  return { argv: shown, ...(dev ? { dev } : {}), ...(gateway ? { via: gateway } : {}), ...(prefsrc ? { src: prefsrc } : {}), ...(table ? { table: String(table) } : {}) };
}
