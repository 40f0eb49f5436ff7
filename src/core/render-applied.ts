import type { Applied } from '../apply/apply-plan.js';

/** What an apply ran, or with --dry-run would run, as text. Pure. */
export function renderApplied(applied: Applied): string {
  return [
    `# ip -4 -batch -\n${applied.ipBatch[4] || '# (nothing to change)\n'}`,
    `# ip -6 -batch -\n${applied.ipBatch[6] || '# (nothing to change)\n'}`,
    `# nft -f -\n${applied.nftScript || '# (the nft table already holds this ruleset)\n'}`,
  ].join('');
}
