/**
 * Starts the notify hooks of some transitions without waiting for them: the
 * running bundle is started again, detached, as the notify runner (the job in
 * one environment variable), so a hook exits as soon as the routing is done
 * and a script that hangs delays nothing. With no notify.d directory, nothing
 * is started.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { NOTIFY_JOB_VARIABLE, type NotifyJob } from './notify-job.js';

export function startNotify(job: NotifyJob): void {
  if (!job.transitions.length || !existsSync(job.dir)) return;
  const script = process.argv[1];
  if (!script) return;
  try {
    const child = spawn(process.execPath, [script], {
      shell: false,
      detached: true,
      stdio: 'ignore',
      env: { PATH: process.env.PATH || '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', [NOTIFY_JOB_VARIABLE]: JSON.stringify(job) },
    });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // Notifying is never a failure of the routing change.
  }
}
