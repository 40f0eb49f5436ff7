/**
 * Builds multiwan_<version>_all.deb with dpkg-deb from what `npm run build`
 * made (`npm run package` runs both). dpkg-deb and not debhelper: the
 * bundles, man pages and completion are built by npm, so there is nothing
 * for a debian/rules to compile; the package is a staged tree, a control
 * file and three maintainer scripts, all in debian/.
 *
 *   tsx scripts/build-deb.ts [--version V] [--out-dir DIR] [--config-example FILE]
 *
 * --version and --config-example make test builds (a lower version, a changed
 * conffile); the version defaults to package.json's, which must be the latest
 * debian/changelog entry. The .deb goes to dist/ unless --out-dir says.
 *
 * Every file of build/files.txt is installed at its target, except that an
 * executable under /etc is a symlink to the bundle in /usr/lib/multiwan:
 * files under /etc are conffiles, which dpkg keeps after `remove`, and a
 * kept hook would go on changing the routing of a router whose admin removed
 * multiwan. Man pages are gzipped; every regular file under /etc (the
 * config, the sourced dhclient fragments, rt_protos.d) is a conffile.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, lstatSync, lutimesSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { changelogEntry, latestChangelogEntry } from './debian-changelog.js';
import { parseManifest, type ManifestEntry } from './man-pages.js';

/** One thing in the package: a file copied (maybe gzipped), a file with given text, or a symlink. */
export type PackageEntry =
  | { kind: 'file'; source: string; target: string; mode: number; gzip: boolean }
  | { kind: 'text'; text: string; target: string; mode: number; gzip: boolean }
  | { kind: 'symlink'; target: string; to: string };

export const RT_PROTOS = '# multiwan: routes and rules it owns carry this protocol id\n242\tmultiwan\n';

/** The package's files, from build/files.txt and what only the package carries. Pure. */
export function packageEntries(manifest: readonly ManifestEntry[], extra: { configExample: string; copyright: string; changelog: string }): PackageEntry[] {
  const entries: PackageEntry[] = [];
  const bundles = new Set<string>();
  for (const { source, target, mode } of manifest) {
    const executable = (parseInt(mode, 8) & 0o111) !== 0;
    if (target.startsWith('etc/') && executable) {
      const bundle = `usr/lib/multiwan/${path.basename(source)}`;
      if (!bundles.has(bundle)) entries.push({ kind: 'file', source, target: bundle, mode: 0o755, gzip: false });
      bundles.add(bundle);
      entries.push({ kind: 'symlink', target, to: `/${bundle}` });
    } else {
      const man = target.startsWith('usr/share/man/');
      entries.push({ kind: 'file', source, target: man ? `${target}.gz` : target, mode: parseInt(mode, 8), gzip: man });
    }
  }
  entries.push(
    { kind: 'file', source: extra.configExample, target: 'etc/multiwan/multiwan.toml', mode: 0o644, gzip: false },
    { kind: 'text', text: RT_PROTOS, target: 'etc/iproute2/rt_protos.d/multiwan.conf', mode: 0o644, gzip: false },
    { kind: 'text', text: extra.copyright, target: 'usr/share/doc/multiwan/copyright', mode: 0o644, gzip: false },
    // A native package's changelog is changelog.gz (Debian policy 12.7).
    { kind: 'text', text: extra.changelog, target: 'usr/share/doc/multiwan/changelog.gz', mode: 0o644, gzip: true },
  );
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.target)) throw new Error(`the package would install /${e.target} twice`);
    seen.add(e.target);
  }
  return entries;
}

/** Conffiles: every regular file under /etc. */
export function conffiles(entries: readonly PackageEntry[]): string[] {
  return entries.filter((e) => e.kind !== 'symlink' && e.target.startsWith('etc/')).map((e) => `/${e.target}`).sort();
}

/** debian/control with the fields known only at build time. */
export function controlFile(template: string, version: string, installedSizeKiB: number): string {
  const lines = template.trimEnd().split('\n');
  const at = (field: string) => lines.findIndex((l) => l.startsWith(`${field}:`));
  if (at('Package') !== 0 || at('Maintainer') < 0 || at('Version') >= 0) throw new Error('debian/control: Package first, a Maintainer, and no Version (the build adds it)');
  lines.splice(at('Maintainer') + 1, 0, `Installed-Size: ${installedSizeKiB}`);
  lines.splice(1, 0, `Version: ${version}`);
  return lines.join('\n') + '\n';
}

interface Module {
  name: string;
  version: string;
  license: string;
  copyright: string[];
}

const dep5License: Record<string, string> = { MIT: 'Expat', ISC: 'ISC', 'BSD-3-Clause': 'BSD-3-clause' };

/** debian/copyright with a paragraph for each module bundled into the executables. */
export function copyrightFile(template: string, modules: readonly Module[]): string {
  const paragraphs = modules.map((m) => {
    const license = dep5License[m.license];
    if (!license) throw new Error(`${m.name} ${m.version} is under ${m.license}: add its text to debian/copyright and to dep5License in scripts/build-deb.ts`);
    return [`Files: node_modules/${m.name}/*`, `Copyright: ${m.copyright.join('\n ')}`, `License: ${license}`, `Comment: ${m.name} ${m.version}`].join('\n');
  });
  if (!template.includes('@BUNDLED@\n')) throw new Error('debian/copyright has no @BUNDLED@ line');
  return template.replace('@BUNDLED@\n', paragraphs.join('\n\n') + '\n');
}

// ---------------------------------------------------------------------------

function main(): void {
  const { values } = parseArgs({ options: { version: { type: 'string' }, 'out-dir': { type: 'string' }, 'config-example': { type: 'string' } } });
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
  const fromRoot = (p: string) => path.resolve(root, p);
  const read = (p: string) => readFileSync(fromRoot(p), 'utf8');

  const packageVersion = (JSON.parse(read('package.json')) as { version: string }).version;
  const changelogText = read('debian/changelog');
  const latest = latestChangelogEntry(changelogText);
  if (latest.version !== packageVersion) throw new Error(`debian/changelog's latest entry is ${latest.version} but package.json says ${packageVersion}: add a changelog entry`);
  const version = values.version ?? packageVersion;
  if (!/^[0-9][A-Za-z0-9.+~]*$/.test(version)) throw new Error(`--version ${version}: not a Debian native version`);
  const maintainer = /^Maintainer: (.+)$/m.exec(read('debian/control'))?.[1] ?? '';
  const changelog = version === latest.version ? changelogText : changelogEntry(version, maintainer, latest.date, [`Test build ${version}.`]) + '\n' + changelogText;

  const manifest = parseManifest(read('build/files.txt'));
  const missing = manifest.filter((e) => !existsSync(fromRoot(e.source))).map((e) => e.source);
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: run 'npm run build' first (or 'npm run package')`);

  const entries = packageEntries(manifest, {
    configExample: values['config-example'] ?? 'docs/multiwan.example.toml',
    copyright: copyrightFile(read('debian/copyright'), bundledModules(root)),
    changelog,
  });

  const stage = mkdtempSync(path.join(tmpdir(), 'multiwan-deb-'));
  chmodSync(stage, 0o755);
  try {
    for (const e of entries) stageEntry(stage, e, fromRoot);
    const control = path.join(stage, 'DEBIAN');
    mkdirSync(control, { mode: 0o755 });
    const conf = conffiles(entries);
    writeFileSync(path.join(control, 'conffiles'), conf.join('\n') + '\n');
    writeFileSync(path.join(control, 'md5sums'), md5sums(stage, entries, new Set(conf)));
    for (const script of ['postinst', 'prerm', 'postrm']) {
      copyFileSync(fromRoot(`debian/${script}`), path.join(control, script));
      chmodSync(path.join(control, script), 0o755);
    }
    writeFileSync(path.join(control, 'control'), controlFile(read('debian/control'), version, installedSize(stage)));
    for (const file of readdirSync(control)) if (!['postinst', 'prerm', 'postrm'].includes(file)) chmodSync(path.join(control, file), 0o644);
    const epoch = Math.floor(latest.date.getTime() / 1000);
    setTimes(stage, epoch);

    const outDir = path.resolve(values['out-dir'] ?? fromRoot('dist'));
    mkdirSync(outDir, { recursive: true });
    const deb = path.join(outDir, `multiwan_${version}_all.deb`);
    execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', stage, deb], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
    });
    process.stdout.write(`${deb}\n`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

function stageEntry(stage: string, e: PackageEntry, fromRoot: (p: string) => string): void {
  const dest = path.join(stage, e.target);
  mkdirs(stage, path.dirname(e.target));
  if (e.kind === 'symlink') {
    symlinkSync(e.to, dest);
    return;
  }
  const content = e.kind === 'file' ? readFileSync(fromRoot(e.source)) : Buffer.from(e.text);
  writeFileSync(dest, e.gzip ? execFileSync('gzip', ['-9n'], { input: content }) : content);
  chmodSync(dest, e.mode);
}

/** Directories with mode 755 whatever the umask. */
function mkdirs(stage: string, dir: string): void {
  let at = stage;
  for (const part of dir.split('/')) {
    at = path.join(at, part);
    if (!existsSync(at)) {
      mkdirSync(at);
      chmodSync(at, 0o755);
    }
  }
}

function md5sums(stage: string, entries: readonly PackageEntry[], conf: Set<string>): string {
  return entries
    .filter((e) => e.kind !== 'symlink' && !conf.has(`/${e.target}`))
    .map((e) => e.target)
    .sort()
    .map((t) => `${createHash('md5').update(readFileSync(path.join(stage, t))).digest('hex')}  ${t}\n`)
    .join('');
}

/** As dpkg-gencontrol counts it: each file's size in KiB rounded up, 1 for each directory and symlink. */
function installedSize(stage: string): number {
  let kib = 0;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (dir === stage && name === 'DEBIAN') continue;
      const p = path.join(dir, name);
      const st = lstatSync(p);
      if (st.isDirectory()) {
        kib += 1;
        walk(p);
      } else kib += st.isFile() ? Math.ceil(st.size / 1024) : 1;
    }
  };
  walk(stage);
  return kib;
}

/** Every mtime set to the changelog's date, so two builds of a version are the same bytes. */
function setTimes(dir: string, epoch: number): void {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (lstatSync(p).isDirectory()) setTimes(p, epoch);
    lutimesSync(p, epoch, epoch);
  }
  lutimesSync(dir, epoch, epoch);
}

/** The production dependencies in package-lock.json: what esbuild bundles into the executables. */
function bundledModules(root: string): Module[] {
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; license?: string; dev?: boolean }> };
  return Object.entries(lock.packages)
    .filter(([p, meta]) => p.startsWith('node_modules/') && !meta.dev)
    .map(([p, meta]) => {
      const name = p.slice('node_modules/'.length);
      const dir = path.join(root, p);
      const license = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
      const lines = license
        ? readFileSync(path.join(dir, license), 'utf8')
            .split('\n')
            .map((l) => l.trim())
            .filter((l) => /^copyright\b/i.test(l) && !/copyright (notice|holder)/i.test(l))
        : [];
      return { name, version: meta.version ?? '?', license: meta.license ?? '?', copyright: lines.length > 0 ? lines : [`the ${name} authors`] };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) main();
