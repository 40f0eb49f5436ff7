/**
 * [[policy]] tables and prefix files: schema pieces and the checks that need
 * the whole config (links named in `via`, @files read through the injected
 * reader, overlapping ranges). Pure apart from the reader the caller passes.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { interfaceNameRule, isInterfaceName, parsePrefix, type Prefix } from '../net/address.js';
import { findOverlaps, parsePrefixList, type PrefixLine } from './prefix-list.js';
import type { PolicyConfig, PortRange } from './types.js';
import { unionMessage } from './union-message.js';

/** Reads a file the config names; throws an errno error when it cannot, or a ConfigError when it refuses to (a file others could write). */
export type FileReader = (path: string) => string;

/** The protocols known by name, with their numbers: a number is written as its name, so nft and explain compare one spelling. */
export const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = { icmp: 1, tcp: 6, udp: 17, dccp: 33, gre: 47, esp: 50, ah: 51, icmpv6: 58, sctp: 132, udplite: 136 };
const PROTOCOLS = ['tcp', 'udp', 'sctp', 'dccp', 'udplite', 'icmp', 'icmpv6', 'gre', 'esp', 'ah'];

/** `tcp`, `TCP`, `6`, `ipv6-icmp` -> the canonical name (or the number's text for protocols without one); undefined when not a protocol. */
export function canonicalProtocol(value: string | number): string | undefined {
  const text = String(value).trim().toLowerCase();
  if (text === 'ipv6-icmp') return 'icmpv6';
  if (PROTOCOLS.includes(text)) return text;
  if (!/^\d{1,3}$/.test(text) || Number(text) > 255) return undefined;
  return PROTOCOLS.find((name) => PROTOCOL_NUMBERS[name] === Number(text)) ?? String(Number(text));
}
const WITH_PORTS = ['tcp', 'udp', 'sctp', 'dccp', 'udplite'];

const port = z.union([z.number(), z.string()], unionMessage('must be a port (1-65535) or a range like "8000-8100"')).transform((value, ctx) => {
  const range = parsePort(value);
  if (!range) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a port (1-65535) or a range like "8000-8100"` });
    return z.NEVER;
  }
  return range;
});

const iface = z.string().refine(isInterfaceName, { message: `must be an interface name: ${interfaceNameRule}` });

export const policySchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,48}$/, { message: 'must be 1 to 48 letters, digits, "_", "." or "-"' }).optional(),
    src: z.array(z.string()).default([]),
    dst: z.array(z.string()).default([]),
    protocol: z
      .union([z.string(), z.number()], unionMessage(`must be one of ${PROTOCOLS.join(', ')} or a protocol number 0-255`))
      .transform((value, ctx) => {
        const name = canonicalProtocol(value);
        if (name !== undefined) return name;
        ctx.addIssue({ code: 'custom', message: `must be one of ${PROTOCOLS.join(', ')} or a protocol number 0-255` });
        return z.NEVER;
      })
      .optional(),
    src_port: z.array(port).default([]),
    dst_port: z.array(port).default([]),
    iif: z.union([iface.transform((i) => [i]), z.array(iface)], unionMessage('must be an interface name or a list of them')).default([]),
    via: z.array(z.string()).min(1, { message: 'names no link; list the links to use, first in service wins' }),
    fallback: z.enum(['default', 'unreachable'], { errorMap: () => ({ message: 'must be "default" or "unreachable"' }) }).default('default'),
  })
  .strict();

export type RawPolicy = z.infer<typeof policySchema>;

/** Resolves and checks one policy; problems are `where: message` without the `file:line: key:` prefix when `where` is a file of its own. */
export function resolvePolicy(
  raw: RawPolicy,
  index: number,
  links: readonly string[],
  read: FileReader | undefined,
  at: (path: (string | number)[], message: string) => void,
  raw_problem: (line: string) => void,
  files: Set<string>,
): PolicyConfig | undefined {
  const key = ['policy', index];
  let ok = true;
  raw.via.forEach((link, i) => {
    if (!links.includes(link)) {
      ok = false;
      at([...key, 'via', i], `unknown link "${link}"; the links are ${links.join(', ') || '(none)'}`);
    }
  });
  const selector = (name: 'src' | 'dst'): Prefix[] => {
    const entries: PrefixLine[] = [];
    raw[name].forEach((item, i) => {
      if (item.startsWith('@')) {
        const file = item.slice(1);
        const text = readList(file, read, (message) => at([...key, name, i], message));
        if (text === undefined) return (ok = false);
        files.add(file);
        const list = parsePrefixList(text, file);
        list.problems.forEach(raw_problem);
        if (list.problems.length) ok = false;
        entries.push(...list.entries);
        return;
      }
      const parsed = parsePrefix(item);
      if (typeof parsed === 'string') {
        ok = false;
        at([...key, name, i], `${parsed}, or "@/path/file" for a list`);
      } else entries.push({ prefix: parsed, where: [...key, name, i].join('.') });
    });
    const overlaps = findOverlaps(entries);
    for (const { entry, message } of overlaps) {
      if (entry.where.startsWith('/')) raw_problem(`${entry.where}: ${message}`);
      else at(entry.where.split('.').map((part) => (/^\d+$/.test(part) ? Number(part) : part)), message);
    }
    if (overlaps.length) ok = false;
    return entries.map((e) => e.prefix);
  };
  const src = selector('src');
  const dst = selector('dst');

  const families = (list: Prefix[]) => new Set(list.map((p) => p.family));
  if (src.length && dst.length && ![...families(src)].some((f) => families(dst).has(f))) {
    ok = false;
    at([...key, 'dst'], 'src and dst share no address family (one is IPv4, the other IPv6), so nothing can match; split the policy');
  }
  for (const name of ['src_port', 'dst_port'] as const) {
    const ranges = [...raw[name]].sort((a, b) => a.from - b.from);
    for (let i = 1; i < ranges.length; i++) {
      if (ranges[i]!.from <= ranges[i - 1]!.to) {
        ok = false;
        at([...key, name], `${text(ranges[i]!)} overlaps ${text(ranges[i - 1]!)}; list each port once`);
      }
    }
    if (raw[name].length && raw.protocol && !WITH_PORTS.includes(raw.protocol) && !/^\d/.test(raw.protocol)) {
      ok = false;
      at([...key, name], `protocol "${raw.protocol}" has no ports; drop ${name} or use tcp, udp or sctp`);
    }
  }
  if (!ok) return undefined;
  return {
    name: raw.name ?? `policy-${index + 1}`,
    src: src.map((p) => p.text),
    dst: dst.map((p) => p.text),
    ...(raw.protocol ? { protocol: raw.protocol } : {}),
    srcPort: raw.src_port,
    dstPort: raw.dst_port,
    iif: raw.iif,
    via: raw.via,
    fallback: raw.fallback,
  };
}

/** The text of a list file, or undefined after reporting why it cannot be read. */
export function readList(file: string, read: FileReader | undefined, report: (message: string) => void): string | undefined {
  if (!file.startsWith('/')) {
    report(`"${file}" must be an absolute path`);
    return undefined;
  }
  if (!read) {
    report(`cannot read ${file} here`);
    return undefined;
  }
  try {
    return read(file);
  } catch (error) {
    if (error instanceof ConfigError) {
      report(error.message);
      return undefined;
    }
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    report(`cannot read ${file} (${code}); create it (one prefix a line) or fix the path`);
    return undefined;
  }
}

export function parsePort(value: number | string): PortRange | undefined {
  const match = /^(\d{1,5})(?:\s*-\s*(\d{1,5}))?$/.exec(String(value).trim());
  if (!match) return undefined;
  const from = Number(match[1]);
  const to = match[2] === undefined ? from : Number(match[2]);
  if (from < 1 || to > 65535 || from > to) return undefined;
  return { from, to };
}

function text(range: PortRange): string {
  return range.from === range.to ? String(range.from) : `${range.from}-${range.to}`;
}
