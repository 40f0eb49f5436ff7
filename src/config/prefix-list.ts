/**
 * Prefix lists: the text of an `@file` or `routes_file` (one prefix a line,
 * `#` comments, blank lines), and overlap checks for lists that become nft
 * interval sets, which reject overlapping elements. Pure.
 */
import ipaddr from 'ipaddr.js';
import { parsePrefix, type Prefix } from '../net/address.js';

export interface PrefixLine {
  prefix: Prefix;
  /** Where it came from, for messages: `file:line`, or a key path like `policy.0.dst.1`. */
  where: string;
}

export interface Overlap {
  /** The later of the two. */
  entry: PrefixLine;
  other: PrefixLine;
  message: string;
}

export function parsePrefixList(text: string, file: string): { entries: PrefixLine[]; problems: string[] } {
  const entries: PrefixLine[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const parsed = parsePrefix(line);
    if (typeof parsed === 'string') problems.push(`${file}:${i + 1}: ${parsed}; one prefix a line, # for comments`);
    else entries.push({ prefix: parsed, where: `${file}:${i + 1}` });
  });
  return { entries, problems };
}

/** Each place where a prefix overlaps one listed before it (sorted, O(n log n)). */
export function findOverlaps(entries: readonly PrefixLine[]): Overlap[] {
  const ranges = entries.map((entry) => ({ entry, ...range(entry.prefix) }));
  ranges.sort((a, b) => (a.family - b.family) || (a.start < b.start ? -1 : a.start > b.start ? 1 : a.end > b.end ? -1 : 1));
  const problems: Overlap[] = [];
  let widest: (typeof ranges)[number] | undefined;
  for (const current of ranges) {
    if (widest && widest.family === current.family && current.start <= widest.end) {
      const [first, second] = order(widest.entry, current.entry, entries);
      problems.push({
        entry: second,
        other: first,
        message: `${second.prefix.text} overlaps ${first.prefix.text} (${first.where}); an nft set takes each address once: remove or merge one`,
      });
    }
    if (!widest || widest.family !== current.family || current.end > widest.end) widest = current;
  }
  return problems;
}

function range(prefix: Prefix): { family: number; start: bigint; end: bigint } {
  const bits = prefix.family === 4 ? 32 : 128;
  let value = 0n;
  for (const byte of ipaddr.parse(prefix.address).toByteArray()) value = (value << 8n) | BigInt(byte);
  const size = 1n << BigInt(bits - prefix.length);
  return { family: prefix.family, start: value, end: value + size - 1n };
}

function order(a: PrefixLine, b: PrefixLine, entries: readonly PrefixLine[]): [PrefixLine, PrefixLine] {
  return entries.indexOf(a) <= entries.indexOf(b) ? [a, b] : [b, a];
}
