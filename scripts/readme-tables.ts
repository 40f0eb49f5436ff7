import { configReference, renderKeyTable } from '../src/config/reference.js';

/** The README with every `<!-- config:ID -->` … `<!-- /config:ID -->` block rendered from the reference. */
export function renderReadmeTables(readme: string): string {
  let text = readme;
  for (const section of configReference) {
    const pattern = new RegExp(`(<!-- config:${section.id} -->\\n)[\\s\\S]*?(<!-- /config:${section.id} -->)`);
    if (!pattern.test(text)) throw new Error(`README.md has no <!-- config:${section.id} --> block`);
    text = text.replace(pattern, (_m, open: string, close: string) => `${open}${renderKeyTable(section)}\n${close}`);
  }
  return text;
}
