import type { ExplainResult } from './explain.js';

/** `multiwan explain` as text. Pure. */
export function renderExplanation({ explanation, kernel }: ExplainResult): string {
  const { packet, path, policies, via, decision } = explanation;
  const what = [
    `${packet.src} -> ${packet.dst}`,
    packet.protocol ?? '',
    packet.sport ? `sport ${packet.sport}` : '',
    packet.dport ? `dport ${packet.dport}` : '',
    packet.iif ? `iif ${packet.iif}` : '',
  ].filter(Boolean);
  const lines = [what.join(' ')];
  for (const line of path.filter((l) => !l.startsWith('policy '))) lines.push(`  ${line}`);
  for (const check of policies) lines.push(`  policy "${check.name}": ${check.matched ? 'matches' : `no: ${check.why}`}`);
  if (via) lines.push(`  via: ${via.map((v) => `${v.link} (${v.state})${v.chosen ? ' <- chosen' : ''}`).join(', ')}`);
  lines.push(`  => ${decision.why}`);
  if (decision.kind === 'link') {
    lines.push(decision.mark !== undefined ? `     mark 0x${decision.mark.toString(16)}, its fwmark rule -> table ${decision.table}` : `     table ${decision.table}`);
  }
  if (kernel) {
    const answer = kernel.error
      ? `error: ${kernel.error}`
      : [kernel.dev ? `dev ${kernel.dev}` : '', kernel.via ? `via ${kernel.via}` : '', kernel.src ? `src ${kernel.src}` : '', kernel.table ? `table ${kernel.table}` : ''].filter(Boolean).join(' ');
    lines.push(`  kernel: ${kernel.argv.join(' ')}`, `          -> ${answer}`);
    // A forwarded packet is balanced on the flow hash it carries (from the sender or the
    // network card), which `ip route get` cannot know: its answer is one of the links.
    if (explanation.decision.kind === 'balance') lines.push('          (one pick of the multipath route: each connection is hashed onto one of the balanced links)');
  }
  return lines.join('\n');
}
