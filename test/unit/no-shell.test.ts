// No shell anywhere in the product: every program runs from an argument array
// through spawn (src/apply/run-command.ts and the monitor's long-running
// children). This scans every file under src/ for the ways a shell, or an API
// that uses one, could come back.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

/** One line per violation in `text` (`line: what`), or none. */
function findShellUse(text: string): string[] {
  const found: string[] = [];
  const say = (index: number, what: string) => found.push(`${text.slice(0, index).split('\n').length}: ${what}`);
  const code = blankComments(text);
  for (const m of code.matchAll(/\bshell\s*:\s*(?!false\b)[^\s,}]+/g)) say(m.index, `${m[0]} (spawn with an argument array and shell: false)`);
  // import { a, b as c, type D } from 'node:child_process' / 'child_process'
  for (const m of code.matchAll(/\bimport\s+(type\s+)?([^;]*?)\s+from\s+['"](?:node:)?child_process['"]/g)) {
    if (m[1]) continue; // import type { ... }: no code
    const clause = m[2]!.trim();
    const named = /^\{([^}]*)\}$/.exec(clause);
    if (!named) {
      say(m.index, `import ${clause} from child_process (import { spawn } only)`);
      continue;
    }
    for (const part of named[1]!.split(',').map((p) => p.trim()).filter(Boolean)) {
      if (part.startsWith('type ')) continue;
      const imported = part.split(/\s+as\s+/)[0]!.trim();
      if (imported !== 'spawn') say(m.index, `imports ${imported} from child_process (only spawn, with an argument array)`);
    }
  }
  for (const m of code.matchAll(/\b(?:require|import)\s*\(\s*['"](?:node:)?child_process['"]\s*\)/g)) say(m.index, `${m[0]} (import { spawn } statically)`);
  // A call of exec, execSync, execFile, execFileSync not through a dot (RegExp's .exec is fine).
  for (const m of code.matchAll(/(?<![.\w$])(exec|execSync|execFile|execFileSync)\s*\(/g)) say(m.index, `${m[1]}( call`);
  return found;
}

/** Comments replaced by spaces (line numbers kept), so prose about a shell is not a violation; strings are kept. */
function blankComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\/|(?<![:'"`\\])\/\/[^\n]*|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`/g, (m) =>
    m.startsWith('/') ? m.replace(/[^\n]/g, ' ') : m,
  );
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(full) : [full];
  });
}

describe('no shell in src/', () => {
  const files = sourceFiles(SRC);

  it('scans every file of the product (more than a handful)', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files.some((f) => f.endsWith(path.join('apply', 'run-command.ts')))).toBe(true);
  });

  it.each(files.map((f) => [path.relative(SRC, f), f]))('%s: no shell: true, no exec, child_process only for spawn', (_name, file) => {
    expect(findShellUse(readFileSync(file, 'utf8'))).toEqual([]);
  });
});

describe('the scanner catches what it is for', () => {
  it.each([
    ["spawn('sh', ['-c', cmd], { shell: true })", ["1: shell: true (spawn with an argument array and shell: false)"]],
    ["spawn(cmd, { env, shell:'/bin/bash' })", ["1: shell:'/bin/bash' (spawn with an argument array and shell: false)"]],
    ["import { exec } from 'node:child_process';", ['1: imports exec from child_process (only spawn, with an argument array)']],
    ["import { spawn, execSync } from 'child_process';", ['1: imports execSync from child_process (only spawn, with an argument array)']],
    ["import {\n  spawn,\n  execFile as run,\n} from \"node:child_process\";", ['1: imports execFile from child_process (only spawn, with an argument array)']],
    ["import * as cp from 'node:child_process';", ['1: import * as cp from child_process (import { spawn } only)']],
    ["import cp from 'child_process';", ['1: import cp from child_process (import { spawn } only)']],
    ["const cp = require('child_process');", ["1: require('child_process') (import { spawn } statically)"]],
    ["const { execSync } = await import('node:child_process');", ["1: import('node:child_process') (import { spawn } statically)"]],
    ['const a = 1;\nexec(`ip route add ${x}`);', ['2: exec( call']],
    ['await execFile("ip", ["route"])', ['1: execFile( call']],
    ['x = execSync ("ls")', ['1: execSync( call']],
  ])('%s', (sample, expected) => {
    expect(findShellUse(sample)).toEqual(expected);
  });

  it.each([
    ["import { spawn } from 'node:child_process';"],
    ["import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';"],
    ["import type { spawn } from 'node:child_process';"],
    ['spawn(file, args, { shell: false })'],
    ['const m = /^(\\d+)$/.exec(text);'],
    ['const m = pattern.exec (text);'],
    ['// never exec( anything, never shell: true'],
    ['/* import { exec } from "node:child_process" */'],
    ['const url = "http://example.org"; spawn(a, b)'],
    ['function executeBatch() {}\nexecuteBatch();'],
  ])('accepts %s', (sample) => {
    expect(findShellUse(sample)).toEqual([]);
  });
});
