/**
 * The read-back round: in one round of processes side by side, everything
 * multiwan owns (rules and routes of both families, by protocol id), the live
 * interfaces with their addresses, and the stamp of the nft table.
 */
import { existsSync } from 'node:fs';
import { CommandError, InternalError } from '../errors.js';
import { parseOwned, splitJsonDocuments } from '../plan/parse-owned.js';
import { ABSENT, parseNftCounters, parseNftStamp, type Counter } from '../plan/render-nft.js';
import { PROTO, type Owned, type PerFamily } from '../plan/types.js';
import { parseInterfaces, type LiveInterfaces } from '../state/live.js';
import type { Runner } from './run-command.js';

export interface KernelView {
  owned: PerFamily<Owned>;
  interfaces: LiveInterfaces;
  /** The plan stamp of `table inet multiwan` (ABSENT when there is none). */
  nftStamp: string;
  /** The named counters the table holds, with their values (those a plan no longer declares are deleted). */
  nftCounters: Record<string, Counter>;
}

const owned = `rule show\nroute show table all proto ${PROTO}\n`;
const NFT_READ = ['nft', 'list chain inet multiwan stamp; list counters table inet multiwan'];

export async function readKernel(run: Runner, options: { ipv6?: boolean } = {}): Promise<KernelView> {
  // A kernel booted with ipv6.disable=1 has no IPv6 to read (and `ip -6` fails).
  const ipv6 = options.ipv6 ?? existsSync('/proc/sys/net/ipv6');
  const [v4, v6, stamp] = await Promise.all([
    run(['ip', '-4', '-j', '-batch', '-'], { input: `${owned}addr show\nlink show\n` }),
    ipv6 ? run(['ip', '-6', '-j', '-batch', '-'], { input: `${owned}addr show\nroute show table main default\n` }) : undefined,
    // One nft process for both: a missing table is "No such file or directory"; any other failure is one.
    run(NFT_READ, { okCodes: [0, 1] }).then((r) => {
      if (r.exitCode === 1 && !/No such file or directory/.test(r.stderr)) throw new CommandError(NFT_READ, 1, r.stderr);
      return r;
    }),
  ]);
  const docs4 = documents(v4.stdout, 4, 'ip -4 -j -batch -');
  const docs6 = v6 ? documents(v6.stdout, 4, 'ip -6 -j -batch -') : [[], [], [], []];
  return {
    owned: { 4: parseOwned(docs4[0], docs4[1], 4), 6: parseOwned(docs6[0], docs6[1], 6) },
    interfaces: parseInterfaces(docs4[3], [docs4[2], docs6[2]], docs6[3]),
    nftStamp: stamp.exitCode === 0 ? parseNftStamp(stamp.stdout) : ABSENT,
    nftCounters: stamp.exitCode === 0 ? parseNftCounters(stamp.stdout) : {},
  };
}

function documents(stdout: string, expected: number, what: string): unknown[] {
  const docs = splitJsonDocuments(stdout);
  if (docs.length !== expected) throw new InternalError(`${what} returned ${docs.length} documents, expected ${expected}`);
  return docs;
}
