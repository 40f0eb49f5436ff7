// multiwan(8), multiwan.toml(5) and the bash completion are made from
// src/cli/commands.ts and src/config/reference.ts: every command, option,
// positional, hook and config key is in them, the pages render without a
// groff warning, and the completion, sourced by a real bash, completes
// commands, options, choices and the link names of the config.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandDoc, commands, globalOptions } from '../../src/cli/commands.js';
import { configReference } from '../../src/config/reference.js';
import { exitCodes } from '../../src/errors.js';
import { renderBashCompletion } from '../../scripts/bash-completion.js';
import { parseManifest, renderCommandMan, renderConfigMan, type ManInput } from '../../scripts/man-pages.js';

const repo = new URL('../../', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, repo), 'utf8');
const input: ManInput = {
  version: '9.8.7',
  date: '2026-01-02',
  manifest: parseManifest(read('build/files.txt')),
  example: read('docs/multiwan.example.toml'),
};
const onPath = (cmd: string) => (process.env.PATH ?? '/usr/bin:/bin').split(':').some((d) => existsSync(path.join(d, cmd)));

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'mw-man-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The page as a reader sees it: groff's text output, one line per paragraph, no hyphenation. */
function rendered(roff: string): { text: string; warnings: string } {
  const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-rLL=2000n', '-P-cbou'], { input: roff, encoding: 'utf8' });
  return { text: r.stdout.replace(/[ \t]+/g, ' '), warnings: r.stderr };
}
const needsGroff = onPath('groff') ? false : 'groff is not installed (apt install groff-base)';

describe('multiwan(8)', () => {
  const roff = renderCommandMan(input);

  it.skipIf(needsGroff)('renders with no groff warning, and names every command, positional and option of commands.ts', () => {
    const { text, warnings } = rendered(roff);
    expect(warnings).toBe('');
    for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'OPTIONS', 'EXIT STATUS', 'ENVIRONMENT', 'FILES', 'SEE ALSO']) {
      expect(text).toMatch(new RegExp(`^${section}$`, 'm'));
    }
    for (const doc of commands) {
      expect(text).toContain(`multiwan ${[doc.name, ...doc.positionals.map((p) => p.name.toUpperCase())].join(' ')}\n`);
      // The summary is the one --help shows (first letter up).
      expect(text).toContain(doc.summary.slice(1));
      for (const p of doc.positionals) expect(text).toContain(`${p.name} ${p.describe}`);
      for (const o of doc.options) expect(text, `${doc.name} --${o.name}`).toMatch(new RegExp(`^ *--${o.name}\\b.*\\n? *${escape(o.describe.slice(0, 20))}`, 'm'));
    }
    for (const o of globalOptions) expect(text).toContain(`--${o.name}`);
    // Options are typed: real hyphen-minus characters, not typographic hyphens.
    expect(text).toContain('--dry-run');
    expect(text).not.toMatch(/\u2010\u2010|\u2212/);
  });

  it.skipIf(needsGroff)('lists every exit code of src/errors.ts, the environment and every hook build/files.txt installs', () => {
    const { text } = rendered(roff);
    const exit = text.slice(text.indexOf('EXIT STATUS'), text.indexOf('ENVIRONMENT'));
    for (const code of Object.values(exitCodes)) expect(exit).toMatch(new RegExp(`^ *${code} `, 'm'));
    for (const name of ['MULTIWAN_CONFIG', 'MULTIWAN_STATE_DIR', 'MULTIWAN_DRY_RUN']) expect(text).toMatch(new RegExp(`^ *${name}$`, 'm'));
    const description = text.slice(text.indexOf('DESCRIPTION'), text.indexOf('COMMANDS'));
    const hooks = input.manifest.filter((e) => !e.target.startsWith('usr/share/'));
    expect(hooks.length).toBeGreaterThan(8);
    for (const e of hooks) expect(description).toContain(`/${e.target}\n`);
  });

  it('refuses a build/files.txt entry it cannot describe, rather than leave a hook out', () => {
    const manifest = [...input.manifest, { source: 'dist/new-hook', target: 'etc/new/multiwan', mode: '0755' }];
    expect(() => renderCommandMan({ ...input, manifest })).toThrow(/dist\/new-hook.*scripts\/man-pages.ts/);
  });

  it.skipIf(onPath('lexgrog') ? false : 'lexgrog is not installed (apt install man-db)')('has a NAME line whatis and apropos can read', () => {
    const file = path.join(dir, 'multiwan.8');
    writeFileSync(file, roff);
    expect(execFileSync('lexgrog', [file], { encoding: 'utf8' })).toBe(`${file}: "multiwan - multi-WAN policy routing for Debian routers"\n`);
  });
});

describe('multiwan.toml(5)', () => {
  const roff = renderConfigMan(input);

  it.skipIf(needsGroff)('renders with no groff warning, and explains every key of reference.ts with its default', () => {
    const { text, warnings } = rendered(roff);
    expect(warnings).toBe('');
    for (const section of configReference) {
      for (const key of section.keys) {
        const name = key.key.replace(/`/g, '');
        const fallback = key.default === 'required' ? '(required)' : `(default: ${key.default.replace(/`/g, '')})`;
        expect(text).toContain(`${name} ${fallback}\n`);
        expect(text).toContain(key.meaning.replace(/`/g, '').slice(0, 40));
      }
    }
  });

  it.skipIf(needsGroff)('shows the installed example uncommented, a config multiwan accepts', async () => {
    const { text } = rendered(roff);
    const example = text.slice(text.indexOf('\nEXAMPLE\n'), text.indexOf('\nSEE ALSO\n')).split('\n').slice(3).map((l) => l.replace(/^ {4}/, '')).join('\n');
    const { parseConfig } = await import('../../src/config/parse-config.js');
    expect(parseConfig(example, 'example').links.map((l) => l.name)).toEqual(['isp1', 'isp2']);
  });
});

describe('bash completion', () => {
  const needsBash = onPath('bash') ? false : 'bash is not installed';
  let script = '';
  let config = '';
  beforeAll(() => {
    script = path.join(dir, 'multiwan');
    writeFileSync(script, renderBashCompletion());
    config = path.join(dir, 'etc', 'multiwan.toml');
    mkdirSync(path.dirname(config), { recursive: true });
    writeFileSync(
      config,
      [
        'lan = ["192.168.10.0/24"]',
        '# [link.commented]',
        '[link.isp1]',
        'interface = "ppp0"',
        '[link.isp1.check]',
        'targets = ["192.0.2.1"]',
        '  [ link . "isp-2" ]',
        'interface = "eth1"',
        '[[policy]]',
        'via = ["isp1"]',
      ].join('\n'),
    );
  });

  /** COMPREPLY for the command line `words` (the last one is being typed), from a bash that sourced the completion. */
  function complete(words: string[], env: Record<string, string> = {}): string[] {
    // The words are arguments, never part of the script.
    const program = 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; _multiwan multiwan "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"; printf "%s\\n" "${COMPREPLY[@]}"';
    const r = spawnSync('bash', ['--norc', '--noprofile', '-c', program, 'bash', script, 'multiwan', ...words], {
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin', HOME: dir, ...env },
    });
    expect(r.stderr).toBe('');
    return r.stdout.split('\n').filter(Boolean).sort();
  }
  const options = (name: string) => [...globalOptions.map((o) => `--${o.name}`), '--help', ...commandDoc(name).options.map((o) => `--${o.name}`)].sort();

  it.skipIf(needsBash)('registers _multiwan for multiwan', () => {
    const r = spawnSync('bash', ['--norc', '--noprofile', '-c', 'source "$1"; complete -p multiwan', 'bash', script], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('complete -F _multiwan multiwan');
  });

  it.skipIf(needsBash)('completes the commands, and a command from its start', () => {
    expect(complete([''])).toEqual(commands.map((c) => c.name).sort());
    expect(complete(['st'])).toEqual(['status']);
    expect(complete(['--verbose', 'd'])).toEqual(['down']);
    expect(complete(['--config', config, 'ex'])).toEqual(['explain']);
  });

  it.skipIf(needsBash)('completes the options of the command being typed, and the global ones', () => {
    for (const doc of commands) expect(complete([doc.name, '--']), doc.name).toEqual(options(doc.name));
    expect(complete(['explain', '192.0.2.1', '--d'])).toEqual(['--debug', '--dport']);
    expect(complete(['--'])).toEqual([...globalOptions.map((o) => `--${o.name}`), '--help'].sort());
  });

  it.skipIf(needsBash)('completes an option value from its choices, "--format x" and "--format=x" alike, and nothing for free values', () => {
    const choices = [...commandDoc('status').options.find((o) => o.name === 'format')!.choices!].sort();
    expect(complete(['status', '--format', ''])).toEqual(choices);
    expect(complete(['status', '--format', 'p'])).toEqual(['prometheus']);
    expect(complete(['status', '--format', '='])).toEqual(choices);
    expect(complete(['status', '--format', '=', 'j'])).toEqual(['json']);
    expect(complete(['explain', '--proto', ''])).toEqual([]);
    expect(complete(['link', '--local', '', ])).toEqual([]);
  });

  it.skipIf(needsBash)('completes link up|down, then the link names of $MULTIWAN_CONFIG or --config (not commented ones, each once)', () => {
    expect(complete(['link', ''])).toEqual(['down', 'up']);
    expect(complete(['link', 'up', ''], { MULTIWAN_CONFIG: config })).toEqual(['isp-2', 'isp1']);
    expect(complete(['link', 'down', 'isp1'], { MULTIWAN_CONFIG: config })).toEqual(['isp1']);
    expect(complete(['--config', config, 'link', 'up', ''])).toEqual(['isp-2', 'isp1']);
    expect(complete(['--config', '=', config, 'link', '--dry-run', 'up', 'i'])).toEqual(['isp-2', 'isp1']);
    expect(complete(['--config', '~/etc/multiwan.toml', 'link', 'up', ''])).toEqual(['isp-2', 'isp1']);
    // The option's value is not an argument: "up" is still the first one.
    expect(complete(['link', '--local', '192.0.2.2', 'up', ''], { MULTIWAN_CONFIG: config })).toEqual(['isp-2', 'isp1']);
    expect(complete(['link', 'up', 'isp1', ''], { MULTIWAN_CONFIG: config })).toEqual([]);
    expect(complete(['link', 'up', ''], { MULTIWAN_CONFIG: path.join(dir, 'missing.toml') })).toEqual([]);
  });

  it.skipIf(needsBash)('completes file names after --config', () => {
    expect(complete(['--config', path.join(dir, 'etc', 'multi')])).toEqual([config]);
    expect(complete(['status', '--config', `${dir}/e`])).toEqual([path.join(dir, 'etc')]);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
