// Before and after the whole run: delete lab namespaces (`mwt*`) and lab temp
// dirs left behind by crashed runs. A lab whose creating process is still
// alive and not part of this run (a concurrent run) is left alone.
import { needsRoot, removeStaleLabs } from '../lab/lab';

async function sweep(when: string, reapOwner?: number): Promise<void> {
  if (needsRoot()) return; // nothing to clean: the lab cannot run here
  try {
    const removed = await removeStaleLabs(reapOwner);
    if (removed.length > 0) console.warn(`[lab] ${when}: removed stale namespaces ${removed.join(', ')}`);
  } catch (err) {
    console.warn(`[lab] ${when}: stale lab cleanup failed: ${(err as Error).message}`);
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  await sweep('before the run');
  return () => sweep('after the run', process.pid);
}
