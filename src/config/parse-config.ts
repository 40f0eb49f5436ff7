/**
 * TOML text -> validated Config. Pure: the caller reads the file, and passes
 * a reader for the files the config names (@lists, routes_file).
 * Every problem becomes one line `file:line: key: what is wrong; how to fix`,
 * and all of them are reported at once.
 */
import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { interfaceNameRule, isInterfaceName, parseAddress, parsePrefix } from '../net/address.js';
import { locateKey } from './locate-key.js';
import { unionMessage } from './union-message.js';
import { policySchema, readList, resolvePolicy, type FileReader } from './parse-policies.js';
import { parsePrefixList } from './prefix-list.js';
import { isReservedTable } from './reserved-tables.js';
import type { Config, LinkConfig, PolicyConfig } from './types.js';

const prefix = z.string().superRefine((text, ctx) => {
  const parsed = parsePrefix(text);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
});

const prefix6 = z.string().superRefine((text, ctx) => {
  const parsed = parsePrefix(text);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
  else if (parsed.family !== 6) ctx.addIssue({ code: 'custom', message: `"${text}" is not an IPv6 prefix (like 2001:db8:1::/48); IPv4 needs no prefix list` });
});

const address = z.string().superRefine((text, ctx) => {
  if (!parseAddress(text)) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not an IPv4 or IPv6 address (like 192.0.2.53)` });
  }
});

/** "200ms", "1.5s", "2m", or a number of milliseconds. */
const duration = (min: number, max: number) =>
  z.union([z.number(), z.string()], unionMessage(`must be a duration from ${min}ms to ${max / 1000}s, like "200ms" or "1s"`)).transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === undefined || ms < min || ms > max) {
      ctx.addIssue({ code: 'custom', message: `must be a duration from ${min}ms to ${max / 1000}s, like "200ms" or "1s"` });
      return z.NEVER;
    }
    return ms;
  });

const count = (what: string, min: number, max: number) =>
  z.number().int({ message: `must be a whole number of ${what} from ${min} to ${max}` }).min(min, { message: `must be a whole number of ${what} from ${min} to ${max}` }).max(max, { message: `must be a whole number of ${what} from ${min} to ${max}` });

const checkSchema = z
  .object({
    targets: z.array(address).min(1, { message: 'needs at least one address to probe (two or more ride out a lossy link; see the README)' }),
    method: z.enum(['icmp', 'tcp'], { errorMap: () => ({ message: 'must be "icmp" or "tcp"' }) }).default('icmp'),
    port: count('a TCP port', 1, 65535).default(443),
    interval: duration(50, 60_000).default(200),
    count: count('probes per target in each interval', 1, 10).default(3),
    down: count('failed intervals', 1, 100).default(3),
    up: count('good intervals', 1, 100).default(3),
  })
  .strict();

const linkSchema = z
  .object({
    interface: z.string().refine(isInterfaceName, { message: `must be an interface name: ${interfaceNameRule}` }),
    weight: z
      .number()
      .int({ message: 'must be a whole number from 1 to 256' })
      .min(1, { message: 'must be a whole number from 1 to 256 (a weight of 0 or less carries nothing); set weight = 1 or more' })
      .max(256, { message: 'must be a whole number from 1 to 256 (the kernel\'s largest multipath weight)' })
      .default(1),
    tier: z
      .number()
      .int({ message: 'must be a whole number from 1 to 9' })
      .min(1, { message: 'must be a whole number from 1 to 9 (1 carries traffic first)' })
      .max(9, { message: 'must be a whole number from 1 to 9' })
      .default(1),
    masquerade: z.boolean().default(true),
    masquerade6: z.boolean().default(false),
    prefixes6: z.array(prefix6).default([]),
    dns: z.array(address).default([]),
    routes: z.array(prefix).default([]),
    routes_file: z.string().optional(),
    id: z.number().int().min(1, { message: 'must be a whole number of 1 or more' }).optional(),
    check: checkSchema.optional(),
    flush_conntrack: z.boolean().default(true),
  })
  .strict();

const numberText = (what: string, min: number, max: number) =>
  z.union([z.number(), z.string()], unionMessage(`must be ${what}`)).transform((value, ctx) => {
    const n = toNumber(value);
    if (n === undefined || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `must be ${what}` });
      return z.NEVER;
    }
    return n;
  });

const configSchema = z
  .object({
    lan: z.array(prefix).default([]),
    mark_mask: numberText('a 32-bit mask like "0x3f00"', 1, 0xffffffff).default(0x3f00),
    table_base: numberText('a routing table number from 1 to 2^31', 1, 2 ** 31).default(200),
    rule_priority: numberText('a rule priority from 1 to 31000', 1, 31000).default(1000),
    balance: z.enum(['connection', 'source'], { errorMap: () => ({ message: 'must be "connection" or "source"' }) }).default('connection'),
    link: z
      .record(z.string(), linkSchema)
      .default({}),
    policy: z.array(policySchema).default([]),
  })
  .strict();

type RawConfig = z.infer<typeof configSchema>;

export function parseConfig(source: string, file: string, read?: FileReader): Config {
  let data: unknown;
  try {
    data = parseToml(source);
  } catch (error) {
    if (error instanceof TomlError) {
      const what = error.message.split('\n')[0] ?? 'syntax error';
      throw problemsError([`${file}:${error.line}: ${what}; fix the TOML syntax on that line`]);
    }
    throw error;
  }

  // Checks across keys run on what is readable even when the schema fails, so
  // every problem is reported in one go.
  const result = configSchema.safeParse(data);
  const problems = [
    ...(result.success ? [] : result.error.issues.flatMap((issue) => describeIssue(issue, source, file))),
    ...crossCheck(lenientView(data), source, file),
  ];
  if (!result.success) throw problemsError(problems);
  const at = (path: (string | number)[], message: string) =>
    problems.push(`${file}:${locateKey(source, path) ?? 1}: ${path.join('.')}: ${message}`);
  const config = toConfig(result.data, file, read, at, (line) => problems.push(line));
  if (problems.length) throw problemsError(problems);
  return config;
}

function toConfig(
  raw: RawConfig,
  file: string,
  read: FileReader | undefined,
  at: (path: (string | number)[], message: string) => void,
  problem: (line: string) => void,
): Config {
  const canonical = (text: string) => (parsePrefix(text) as { text: string }).text;
  const files = new Set<string>();
  const routeOwner = new Map<string, string>();
  const linkRoutes = (name: string, link: RawConfig['link'][string]): string[] => {
    const routes = new Map<string, (message: string) => void>();
    link.routes.forEach((route, i) => routes.set(canonical(route), (message) => at(['link', name, 'routes', i], message)));
    if (link.routes_file) {
      const listFile = link.routes_file;
      const text = readList(listFile, read, (message) => at(['link', name, 'routes_file'], message));
      if (text !== undefined) {
        files.add(listFile);
        const list = parsePrefixList(text, listFile);
        list.problems.forEach(problem);
        for (const entry of list.entries) {
          if (!routes.has(entry.prefix.text)) routes.set(entry.prefix.text, (message) => problem(`${entry.where}: ${message}`));
        }
      }
    }
    for (const [route, report] of routes) {
      const other = routeOwner.get(route);
      if (other) report(`${route} is already routed through link "${other}"; a prefix belongs to one link`);
      else routeOwner.set(route, name);
    }
    return [...routes.keys()];
  };
  const links: LinkConfig[] = Object.entries(raw.link).map(([name, link]) => ({
    name,
    interface: link.interface,
    weight: link.weight,
    tier: link.tier,
    masquerade: link.masquerade,
    masquerade6: link.masquerade6,
    prefixes6: link.prefixes6.map(canonical),
    dns: link.dns.map((a) => parseAddress(a)!.address),
    routes: linkRoutes(name, link),
    ...(link.id !== undefined ? { id: link.id } : {}),
    ...(link.check
      ? {
          check: {
            targets: link.check.targets.map((a) => parseAddress(a)!.address),
            method: link.check.method,
            port: link.check.port,
            intervalMs: link.check.interval,
            count: link.check.count,
            down: link.check.down,
            up: link.check.up,
          },
        }
      : {}),
    flushConntrack: link.flush_conntrack,
  }));
  const names = links.map((l) => l.name);
  const policies = raw.policy
    .map((policy, i) => resolvePolicy(policy, i, names, read, at, problem, files))
    .filter((p): p is PolicyConfig => p !== undefined);
  return {
    file,
    lan: raw.lan.map(canonical),
    markMask: raw.mark_mask,
    tableBase: raw.table_base,
    rulePriority: raw.rule_priority,
    balance: raw.balance,
    links,
    policies,
    files: [...files],
  };
}

/** What the cross-key checks read, taken leniently from the parsed TOML: a value of the wrong type is absent (the schema reports it). */
interface LenientView {
  mark_mask?: number;
  table_base?: number;
  link: Record<string, { interface?: string; id?: number }>;
}

function lenientView(data: unknown): LenientView {
  const top = isTable(data) ? data : {};
  const links = isTable(top.link) ? top.link : {};
  // No prototype: a link named __proto__ is a key like any other, and is refused below.
  const view: LenientView = { link: Object.create(null) as LenientView['link'] };
  const mask = top.mark_mask === undefined ? 0x3f00 : toNumber(top.mark_mask);
  const base = top.table_base === undefined ? 200 : toNumber(top.table_base);
  if (mask !== undefined && mask > 0 && mask <= 0xffffffff) view.mark_mask = mask;
  if (base !== undefined && base >= 1) view.table_base = base;
  for (const [name, link] of Object.entries(links)) {
    const entry = isTable(link) ? link : {};
    view.link[name] = {
      ...(typeof entry.interface === 'string' ? { interface: entry.interface } : {}),
      ...(Number.isSafeInteger(entry.id) && (entry.id as number) >= 1 ? { id: entry.id as number } : {}),
    };
  }
  return view;
}

/** Checks that span several keys: duplicates, capacity of the mark mask, reserved tables. */
function crossCheck(raw: LenientView, source: string, file: string): string[] {
  const problems: string[] = [];
  const at = (path: (string | number)[], message: string) =>
    problems.push(`${file}:${locateKey(source, path) ?? 1}: ${path.join('.')}: ${message}`);

  const mask = raw.mark_mask ?? 0;
  const shift = mask ? countTrailingZeros(mask) : 0;
  const capacity = mask ? mask >>> shift : 0;
  if (raw.mark_mask !== undefined && (capacity & (capacity + 1)) !== 0) {
    at(['mark_mask'], `0x${mask.toString(16)} is not one run of set bits; use a mask like "0x3f00"`);
  }
  const base = raw.table_base;

  const names = Object.keys(raw.link);
  for (const name of names) {
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(name)) {
      at(['link', name], `link name "${name}" must be 1 to 32 letters, digits, "_" or "-"`);
    } else if (name === '__proto__') {
      // Link names become object keys (the schema's record drops this one silently); refuse it.
      at(['link', name], 'link name "__proto__" is reserved; pick another name');
    }
  }
  const byInterface = new Map<string, string>();
  for (const [name, link] of Object.entries(raw.link)) {
    if (link.interface === undefined) continue;
    const other = byInterface.get(link.interface);
    if (other) {
      at(['link', name, 'interface'], `interface "${link.interface}" is already used by link "${other}"; each interface belongs to one link`);
    }
    byInterface.set(link.interface, name);
  }
  // Ids whose table would be a reserved one are skipped, so they do not count.
  const usable = base === undefined ? 0 : capacity - [253, 254, 255].filter((t) => t >= base + 1 && t <= base + capacity).length;
  if (capacity && base !== undefined && names.length > usable) {
    const skipped = capacity - usable;
    at(
      ['link'],
      `${names.length} links but mark_mask 0x${mask.toString(16)} numbers only ${usable}` +
        (skipped ? ` with table_base ${base} (ids in reserved tables 253-255 are skipped)` : '') +
        '; widen mark_mask' + (skipped ? ' or move table_base' : ''),
    );
  }
  const pinned = new Map<number, string>();
  for (const [name, link] of Object.entries(raw.link)) {
    if (link.id === undefined) continue;
    if (capacity && link.id > capacity) {
      at(['link', name, 'id'], `id ${link.id} does not fit mark_mask 0x${mask.toString(16)} (1 to ${capacity})`);
    }
    if (base !== undefined && isReservedTable(base + link.id)) {
      at(['link', name, 'id'], `id ${link.id} puts the link in reserved table ${base + link.id} (253-255 are default, main and local); pick another id or table_base`);
    }
    const other = pinned.get(link.id);
    if (other) at(['link', name, 'id'], `id ${link.id} is already pinned by link "${other}"`);
    pinned.set(link.id, name);
  }
  if (base !== undefined && isReservedTable(base)) {
    at(['table_base'], `${base} is a reserved table (253-255 are default, main and local); pick a table_base such as 200`);
  }
  return problems;
}

export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m)$/.exec(value.trim());
  if (!match) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
  return Math.round(Number(match[1]) * unit);
}

function toNumber(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function countTrailingZeros(n: number): number {
  let count = 0;
  while (count < 32 && ((n >>> count) & 1) === 0) count++;
  return count;
}

function describeIssue(issue: z.ZodIssue, source: string, file: string): string[] {
  const path = issue.path;
  const key = path.length ? path.join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((name) => {
      const full = [...path, name];
      return `${file}:${locateKey(source, full) ?? 1}: ${full.join('.')}: unknown key; remove it or check its spelling`;
    });
  }
  const line = locateKey(source, path) ?? 1;
  if (issue.code === 'invalid_type' && issue.expected === 'integer' && issue.received === 'float') {
    return [`${file}:${line}: ${key}: ${issue.message}`];
  }
  if (issue.code === 'invalid_type') {
    const what = issue.received === 'undefined' ? 'is required' : `must be ${article(issue.expected)} (got ${article(issue.received)})`;
    return [`${file}:${line}: ${key}: ${what}`];
  }
  return [`${file}:${line}: ${key}: ${issue.message}`];
}

function article(type: string): string {
  const names: Record<string, string> = {
    string: 'a string',
    number: 'a number',
    integer: 'a whole number',
    date: 'a date',
    boolean: 'true or false',
    array: 'a list [ ... ]',
    object: 'a table',
  };
  return names[type] ?? type;
}

function problemsError(problems: string[]): ConfigError {
  const lines = problems.map(oneLine);
  return new ConfigError(lines.join('\n'), lines);
}

/**
 * A problem quotes keys and values from the config and its lists: escape
 * what would break it over lines or drive the terminal (control characters,
 * line separators, bidi overrides that reorder what the admin reads).
 */
function oneLine(problem: string): string {
  return problem.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}
