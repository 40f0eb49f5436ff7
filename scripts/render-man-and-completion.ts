// Writes dist/man/multiwan.8, dist/man/multiwan.toml.5 and
// dist/completion/multiwan (part of `npm run build`), from src/cli/commands.ts
// and src/config/reference.ts: the man pages and the completion say what
// `--help` and the README say.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { renderBashCompletion } from './bash-completion.js';
import { latestChangelogEntry } from './debian-changelog.js';
import { parseManifest, renderCommandMan, renderConfigMan, type ManInput } from './man-pages.js';

const root = new URL('../', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, root), 'utf8');

const input: ManInput = {
  version: (JSON.parse(read('package.json')) as { version: string }).version,
  date: latestChangelogEntry(read('debian/changelog')).date.toISOString().slice(0, 10),
  manifest: parseManifest(read('build/files.txt')),
  example: read('docs/multiwan.example.toml'),
};

const write = (file: string, text: string) => {
  const url = new URL(file, root);
  mkdirSync(new URL('.', url), { recursive: true });
  writeFileSync(url, text);
};
write('dist/man/multiwan.8', renderCommandMan(input));
write('dist/man/multiwan.toml.5', renderConfigMan(input));
write('dist/completion/multiwan', renderBashCompletion());
