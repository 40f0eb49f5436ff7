/** Pure parsers for what `multiwan check` reads: rule listings, other nft tables' marks, systemd-networkd's and NetworkManager's files. */
import type { JsonRule } from '../plan/parse-owned.js';
import type { CheckFacts } from './check-warnings.js';

/** `ip -j rule show` -> rules with a readable text. */
export function parseRuleList(json: string, family: 4 | 6): CheckFacts['rules'] {
  let list: JsonRule[] = [];
  try {
    list = JSON.parse(json || '[]') as JsonRule[];
  } catch {
    return [];
  }
  return list.map((r) => {
    const fwmark = r.fwmark === undefined ? undefined : Number(r.fwmark);
    const fwmask = r.fwmask === undefined ? undefined : Number(r.fwmask);
    const text = [
      `${r.priority ?? 0}:`,
      'not' in r ? 'not' : '', // iproute2 prints "not": null
      `from ${r.src ?? 'all'}${r.srclen !== undefined ? `/${r.srclen}` : ''}`,
      r.dst ? `to ${r.dst}${r.dstlen !== undefined ? `/${r.dstlen}` : ''}` : '',
      r.fwmark ? `fwmark ${r.fwmark}${r.fwmask ? `/${r.fwmask}` : ''}` : '',
      `lookup ${r.table ?? '?'}`,
      r.protocol ? `proto ${r.protocol}` : '',
    ].filter(Boolean).join(' ');
    return { family, priority: r.priority ?? 0, ...(fwmark !== undefined ? { fwmark } : {}), ...(fwmask !== undefined ? { fwmask } : {}), ...(r.protocol ? { protocol: r.protocol } : {}), text };
  });
}

/**
 * `nft -j list ruleset` -> the constant mark values that tables other than
 * multiwan's write with `meta mark set` or `ct mark set` (the right side of
 * an `&` is a mask that keeps bits, not a value, and is left out).
 */
export function parseForeignMarks(json: string): CheckFacts['foreignMarks'] {
  let items: Record<string, unknown>[] = [];
  try {
    items = ((JSON.parse(json) as { nftables?: Record<string, unknown>[] }).nftables ?? []);
  } catch {
    return [];
  }
  const out: CheckFacts['foreignMarks'] = [];
  for (const item of items) {
    const rule = item.rule as { family?: string; table?: string; chain?: string; expr?: unknown[] } | undefined;
    if (!rule || (rule.family === 'inet' && rule.table === 'multiwan')) continue;
    for (const statement of rule.expr ?? []) {
      const mangle = (statement as { mangle?: { key?: Record<string, { key?: string }>; value?: unknown } }).mangle;
      const key = mangle?.key;
      if (!key || !(key.meta?.key === 'mark' || key.ct?.key === 'mark')) continue;
      const what = key.meta ? 'meta mark' : 'ct mark';
      for (const value of constants(mangle.value)) {
        out.push({ table: `${rule.family} ${rule.table}`, chain: rule.chain ?? '?', value, text: `${what} set … ${'0x' + value.toString(16)}` });
      }
    }
  }
  return out;
}

function constants(expr: unknown): number[] {
  if (typeof expr === 'number') return [expr >>> 0];
  if (typeof expr === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(expr)) return [Number(expr) >>> 0];
  if (Array.isArray(expr)) return expr.flatMap(constants);
  if (expr && typeof expr === 'object') {
    return Object.entries(expr as Record<string, unknown>).flatMap(([op, operands]) => {
      // [x, mask]: the mask keeps bits; only the left side can carry a value.
      if (op === '&' && Array.isArray(operands)) return constants(operands[0]);
      return constants(operands);
    });
  }
  return [];
}

/**
 * networkd.conf and its drop-ins, in the order systemd reads them: does
 * networkd leave other programs' routing rules alone
 * (ManageForeignRoutingPolicyRules=no in [Network]; the default is yes)?
 */
export function networkdKeepsForeignRules(texts: readonly string[]): boolean {
  let keeps = false;
  for (const text of texts) {
    let section = '';
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line.startsWith('[')) section = line;
      const match = /^ManageForeignRoutingPolicyRules\s*=\s*(\S+)/.exec(line);
      if (section === '[Network]' && match) keeps = ['no', 'false', '0', 'off'].includes(match[1]!.toLowerCase());
    }
  }
  return keeps;
}

/** /run/systemd/netif/links/<ifindex>: networkd manages the link unless ADMIN_STATE=unmanaged. */
export function networkdManages(stateFile: string): boolean {
  const state = /^ADMIN_STATE=(\S+)/m.exec(stateFile)?.[1];
  return state !== undefined && state !== 'unmanaged';
}

/** /run/NetworkManager/devices/<ifindex>: `managed=true` in [device]. */
export function networkManagerManages(deviceFile: string): boolean {
  return /^managed\s*=\s*true\s*$/m.test(deviceFile);
}
