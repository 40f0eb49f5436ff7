// npm 11's `npm ci` insists that every optional dependency named in the lock
// file has an entry of its own. This project's registry serves only the Linux
// builds of rollup's native packages (a dependency of vitest), so `npm install`
// cannot record the others and `npm ci` then refuses the lock file
// (npm/cli#4828). This adds the missing entries with the os/cpu/libc their
// names state, so npm skips them on every machine they are not for, as it
// would with a lock file written where the registry serves them all.
// Run after changing dependencies: node scripts/complete-lockfile.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const packages = lock.packages;
let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    const platform = /^@rollup\/rollup-([a-z0-9]+)-([a-z0-9]+)(?:-(gnu|musl|gnueabihf|musleabihf|msvc|eabi))?$/.exec(name);
    if (packages[key] || !platform) continue;
    const [, os, cpu, abi] = platform;
    packages[key] = {
      version,
      cpu: [cpu],
      dev: entry.dev ?? undefined,
      ...(abi && os === 'linux' ? { libc: [abi.startsWith('musl') ? 'musl' : 'glibc'] } : {}),
      license: 'MIT',
      optional: true,
      os: [os],
    };
    added++;
    void path;
  }
}
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)));
writeFileSync('package-lock.json', JSON.stringify(lock, null, 2) + '\n');
console.log(`complete-lockfile: added ${added} entr${added === 1 ? 'y' : 'ies'}`);
