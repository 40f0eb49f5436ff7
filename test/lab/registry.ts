// Lab ids, the namespaces and temp dirs that belong to them, and the removal
// of what a crashed run left behind. A lab `mwt<id>` owns the namespaces
// `mwt<id>-<role>` and the temp dir /tmp/mwt<id> (holding owner.json).
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { killGroup, run } from './exec.js';

export const LAB_PREFIX = 'mwt';

interface Owner {
  pid: number;
  ppid: number;
  created: string;
}

const labRoot = (id: string): string => path.join(os.tmpdir(), `${LAB_PREFIX}${id}`);

/** A fresh lab id and its temp dir, marked as owned by this process. */
export async function claimId(): Promise<{ id: string; root: string }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const id = randomBytes(2).toString('hex');
    const root = labRoot(id);
    try {
      await mkdir(root, { mode: 0o755 });
    } catch {
      continue; // taken: try another id
    }
    const owner: Owner = { pid: process.pid, ppid: process.ppid, created: new Date().toISOString() };
    await writeFile(path.join(root, 'owner.json'), JSON.stringify(owner));
    return { id, root };
  }
  throw new Error('lab: could not find a free lab id');
}

async function readOwner(id: string): Promise<Owner | undefined> {
  try {
    return JSON.parse(await readFile(path.join(labRoot(id), 'owner.json'), 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Names of all namespaces that start with the lab prefix. */
export async function listLabNamespaces(): Promise<string[]> {
  const { stdout } = await run(['ip', 'netns', 'list']);
  return stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(LAB_PREFIX));
}

async function killNamespacePids(ns: string): Promise<void> {
  const { stdout } = await run(['ip', 'netns', 'pids', ns], { reject: false, timeoutMs: 5000 });
  for (const pid of stdout.split(/\s+/).filter(Boolean).map(Number)) {
    if (Number.isInteger(pid) && pid > 1 && pid !== process.pid) killGroup(pid);
  }
}

/** Kills every process inside the namespace (daemons included), then deletes it. */
export async function deleteNamespace(ns: string): Promise<void> {
  if (!ns.startsWith(LAB_PREFIX)) throw new Error(`refusing to delete namespace ${ns}`);
  await killNamespacePids(ns);
  await run(['ip', 'netns', 'del', ns], { reject: false, timeoutMs: 10_000 });
}

/**
 * Delete `mwt*` namespaces (and their temp dirs) that belong to no live lab:
 * the owning process is dead, unknown, or is/was a child of `reapOwner` (the
 * vitest main process at teardown). Labs of a concurrently running test
 * process are left alone. Returns the namespaces deleted.
 */
export async function removeStaleLabs(reapOwner?: number): Promise<string[]> {
  const isStale = (owner: Owner | undefined): boolean =>
    !owner || !alive(owner.pid) || owner.pid === reapOwner || owner.ppid === reapOwner;
  const idOf = (name: string): string => /^mwt([0-9a-f]+)/.exec(name)?.[1] ?? '';
  const stale: string[] = [];
  for (const ns of await listLabNamespaces()) {
    if (isStale(await readOwner(idOf(ns)))) stale.push(ns);
  }
  await Promise.all(stale.map(deleteNamespace));
  const dirs = (await readdir(os.tmpdir())).filter((d) => /^mwt[0-9a-f]+$/.test(d));
  for (const dir of dirs) {
    if (isStale(await readOwner(idOf(dir)))) await rm(path.join(os.tmpdir(), dir), { recursive: true, force: true });
  }
  return stale;
}
