/**
 * The notify runner (a detached process, see start-notify.ts): for each
 * transition in order, every executable of notify.d (run-parts names, in
 * name order, side by side), each bounded to 10 s and then killed with its
 * process group. notify.d and each script must be as safe as the config
 * (root's, not writable by group or others), or they are not run. Every
 * script's exit status and output go to the log, one line each.
 */
import { spawn } from 'node:child_process';
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkFileSafety } from '../config/check-file-safety.js';
import { isNotifyName, notifyEnv, type NotifyJob } from './notify-job.js';

export const NOTIFY_TIMEOUT_MS = 10_000;
const OUTPUT_LIMIT = 2000;

export async function runNotifyJob(job: NotifyJob, log: (line: string) => void, timeoutMs = NOTIFY_TIMEOUT_MS): Promise<void> {
  const uid = process.geteuid?.() ?? 0;
  let dirStats;
  try {
    dirStats = lstatSync(job.dir);
  } catch {
    return;
  }
  const unsafeDir = checkFileSafety({ path: job.dir, mode: dirStats.mode, uid: dirStats.uid }, uid, join(job.dir, '*'));
  if (unsafeDir) return log(`notify: not running ${job.dir}: ${unsafeDir}`);
  const scripts: string[] = [];
  for (const name of readdirSync(job.dir).sort()) {
    if (!isNotifyName(name)) continue;
    const path = join(job.dir, name);
    const stats = statSync(path, { throwIfNoEntry: false });
    if (!stats?.isFile() || (stats.mode & 0o111) === 0) continue;
    const unsafe = checkFileSafety({ path, mode: stats.mode, uid: stats.uid }, uid);
    if (unsafe) log(`notify: not running ${path}: ${unsafe}`);
    else scripts.push(path);
  }
  for (const transition of job.transitions) {
    const env = notifyEnv(transition, job.inService);
    const what = `${transition.link} ${transition.event}`;
    await Promise.all(scripts.map(async (script) => log(`notify: ${script} (${what}): ${await runOne(script, env, timeoutMs)}`)));
  }
}

/** One script: its exit status and the start of its output, as one line. */
function runOne(script: string, env: Record<string, string>, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(script, [], {
      shell: false,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', ...env },
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      if (output.length < OUTPUT_LIMIT) output += chunk.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve(`could not run: ${error.message}`);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const text = output.trim().replace(/\s*\n\s*/g, ' | ').slice(0, 500);
      const status = killed ? `killed after ${timeoutMs / 1000} s` : code === null ? `killed by ${signal}` : `exit ${code}`;
      resolve(text ? `${status}: ${text}` : status);
    });
  });
}
