/**
 * Notify hooks: after every transition (a link up or down, in or out of
 * service), the executables in `notify.d/` beside the config run with
 * MULTIWAN_LINK, MULTIWAN_IFACE, MULTIWAN_EVENT (up, down, in-service,
 * out-of-service), MULTIWAN_REASON and MULTIWAN_IN_SERVICE (the links in
 * service after it, comma-separated). Pure: what to run, with what.
 */
import type { Transition } from '../state/next-link-state.js';

export interface NotifyJob {
  /** The notify.d directory. */
  dir: string;
  transitions: Transition[];
  inService: string[];
}

/** run-parts' default name rule: no dots, so editor backups and .dpkg-old files never run. */
export function isNotifyName(name: string): boolean {
  return /^[A-Za-z0-9_-]+$/.test(name);
}

export function notifyEnv(transition: Transition, inService: readonly string[]): Record<string, string> {
  return {
    MULTIWAN_LINK: transition.link,
    MULTIWAN_IFACE: transition.iface,
    MULTIWAN_EVENT: transition.event,
    MULTIWAN_REASON: transition.reason,
    MULTIWAN_IN_SERVICE: inService.join(','),
  };
}

/** The job as one environment variable for the detached runner, and back. */
export const NOTIFY_JOB_VARIABLE = 'MULTIWAN_NOTIFY_JOB';

export function parseNotifyJob(text: string): NotifyJob | undefined {
  try {
    const job = JSON.parse(text) as NotifyJob;
    return typeof job.dir === 'string' && Array.isArray(job.transitions) && Array.isArray(job.inService) ? job : undefined;
  } catch {
    return undefined;
  }
}
