// Writes the README's config tables from src/config/reference.ts (between
// <!-- config:ID --> and <!-- /config:ID --> markers). `npm run docs`;
// test/unit/docs-in-sync.test.ts fails when the README is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderReadmeTables } from './readme-tables.js';

const file = new URL('../README.md', import.meta.url);
const before = readFileSync(file, 'utf8');
const after = renderReadmeTables(before);
if (after !== before) {
  writeFileSync(file, after);
  console.log('README.md: config tables updated');
} else console.log('README.md: config tables already up to date');
