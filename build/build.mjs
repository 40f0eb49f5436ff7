// Bundles each entry point into one executable file: dist/ip-up, dist/ip-down, dist/ipv6-up, dist/ipv6-down, dist/dhcp-hook, dist/ifupdown-hook, dist/multiwan.
// CommonJS, because the installed names have no extension (run-parts skips names with dots)
// and Node treats an extensionless file outside a "type": "module" package as CommonJS.
import { build } from 'esbuild';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';

const entries = ['ip-up', 'ip-down', 'ipv6-up', 'ipv6-down', 'dhcp-hook', 'ifupdown-hook', 'multiwan'];
const { version } = JSON.parse(await readFile('package.json', 'utf8'));
// Keys the config cache: a new build never trusts a Config validated by an older one.
const buildId = `${version}+${Date.now().toString(36)}`;
await rm('dist', { recursive: true, force: true });
await mkdir('dist', { recursive: true });
// This repo's package.json says "type": "module"; the bundles are CommonJS wherever they run.
await writeFile('dist/package.json', '{ "type": "commonjs" }\n');
await Promise.all(
  entries.map(async (name) => {
    const outfile = `dist/${name}`;
    await build({
      entryPoints: [`src/entry/${name}.ts`],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node18',
      minify: true,
      legalComments: 'none',
      logLevel: 'warning',
      // ESM dependencies read import.meta.url; give them this file's URL.
      define: { 'import.meta.url': '__multiwanUrl', __MULTIWAN_BUILD__: JSON.stringify(buildId) },
      banner: { js: "#!/usr/bin/env node\nconst __multiwanUrl=require('url').pathToFileURL(__filename).href;" },
    });
    await chmod(outfile, 0o755);
  }),
);
