// A placeholder hook for the lab's own tests: fixtures/record-hook.sh,
// installed in every hook directory of the router sandbox, records each call
// (reason, argv, environment) so a test can see what the real clients pass.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sandboxInstall } from './sandbox.js';
import type { Lab } from './types.js';

export const RECORD_HOOK = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'record-hook.sh');

/**
 * Where the recorder goes, per client (names sort last, after any other
 * hook). dhclient: the exit hooks only (the enter hooks run in the same
 * dhclient-script process, before it acts, with the same variables).
 */
const RECORDER_PATHS = {
  dhclient: ['/etc/dhcp/dhclient-exit-hooks.d/zz-record'],
  dhcpcd: ['/usr/lib/dhcpcd/dhcpcd-hooks/99-record'],
  ifupdown: ['pre-up', 'up', 'down', 'post-down'].map((p) => `/etc/network/if-${p}.d/zz-record`),
  ppp: ['ip-up', 'ip-down', 'ipv6-up', 'ipv6-down'].map((s) => `/etc/ppp/${s}.d/zz-record`),
} as const;
export type RecordedClient = keyof typeof RECORDER_PATHS;

export interface HookRecord {
  /** dhclient/dhcpcd `reason`, ifupdown `PHASE`, else the script */
  reason: string;
  /** seconds since the epoch */
  at: number;
  /** "$0 $*" as the hook saw them */
  argv: string;
  env: Record<string, string>;
}

/** Installs the recorder for these clients. */
export async function installRecorder(lab: Lab, clients: RecordedClient[]): Promise<void> {
  for (const c of clients) for (const p of RECORDER_PATHS[c]) await sandboxInstall(lab, p, RECORD_HOOK);
}

/** Every call recorded so far for a client, oldest first. */
export async function readRecords(lab: Lab, client: RecordedClient): Promise<HookRecord[]> {
  let text: string;
  try {
    text = await readFile(path.join(lab.dirs.run, `record-${client}.log`), 'utf8');
  } catch {
    return [];
  }
  return text
    .split(/^=== /m)
    .filter((block) => block.trim())
    .map((block) => {
      const [head = '', argvLine = '', ...envLines] = block.split('\n');
      const [reason = '', at = '0'] = head.split(' ');
      const env: Record<string, string> = {};
      for (const line of envLines) {
        const eq = line.indexOf('=');
        if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
      }
      return { reason, at: Number(at), argv: argvLine.replace(/^argv: /, ''), env };
    });
}

/**
 * Polls (every 100 ms, at most timeoutMs) until a record of `client` from
 * index `from` on satisfies `pred`; returns it, or undefined.
 */
export async function waitRecord(
  lab: Lab,
  client: RecordedClient,
  pred: (r: HookRecord) => boolean,
  timeoutMs: number,
  from = 0,
): Promise<HookRecord | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const hit = (await readRecords(lab, client)).slice(from).find(pred);
    if (hit || Date.now() >= end) return hit;
    await new Promise((r) => setTimeout(r, 100));
  }
}
